"""The sandbox's rate limits, as Calendly documents them: a 60-second window of requests per
user (500 a minute on paid plans, 50 on the free "basic" plan, or one limit for all), and at
most 8 token requests per user per minute (a sliding window).

Reference: https://developer.calendly.com/api-docs/overview/rate-limits
"""

from __future__ import annotations

import collections
import math
import threading
import time

from .records import (
    DISABLED_RATE_LIMIT,
    FREE_RATE_LIMIT,
    PAID_RATE_LIMIT,
    RATE_WINDOW,
    TOKEN_REQUESTS_PER_MINUTE,
    Organization,
    User,
)


class RateLimits:
    """The counters of one sandbox, under its lock. ``rate_limit=None`` applies the per-plan
    limits, an int one limit for all, and ``0`` counts but never refuses."""

    def __init__(self, lock: threading.RLock, rate_limit: int | None = None):
        self.lock = lock
        self.rate_limit = rate_limit
        self._windows: dict[str, list] = {}
        self._token_times: dict[str, collections.deque] = {}

    def limit_for(self, org: Organization | None) -> int:
        if self.rate_limit == 0:
            return DISABLED_RATE_LIMIT
        if self.rate_limit:
            return int(self.rate_limit)
        return FREE_RATE_LIMIT if org is not None and org.plan == "basic" else PAID_RATE_LIMIT

    def take(self, user: User, org: Organization) -> tuple[bool, int, int, int]:
        """Count one request for ``user`` in its 60 s window.

        Returns ``(allowed, limit, remaining, reset_seconds)``. Refused requests are not
        counted. ``rate_limit=0`` counts but never refuses.
        """
        limit = self.limit_for(org)
        now = time.monotonic()
        with self.lock:
            window = self._windows.get(user.uuid)
            if window is None or now >= window[0] + RATE_WINDOW:
                window = [now, 0]
                self._windows[user.uuid] = window
            reset = max(1, _seconds_left(window[0], now))
            if window[1] >= limit and self.rate_limit != 0:
                return False, limit, 0, reset
            window[1] += 1
            return True, limit, max(0, limit - window[1]), reset

    def status(self, user: User | None, org: Organization | None) -> tuple[int, int, int]:
        """``(limit, remaining, reset)`` without counting (for answers that are not counted)."""
        limit = self.limit_for(org)
        if user is None:
            return limit, limit, RATE_WINDOW
        now = time.monotonic()
        with self.lock:
            window = self._windows.get(user.uuid)
            if window is None or now >= window[0] + RATE_WINDOW:
                return limit, limit, RATE_WINDOW
            return (
                limit,
                max(0, limit - window[1]),
                max(1, _seconds_left(window[0], now)),
            )

    def take_token_request(self, user: User) -> tuple[bool, int, int]:
        """At most 8 token requests per user per minute (sliding window).

        Returns ``(allowed, remaining, reset_seconds)``.
        """
        now = time.monotonic()
        with self.lock:
            times = self._token_times.setdefault(user.uuid, collections.deque())
            while times and now - times[0] >= RATE_WINDOW:
                times.popleft()
            if len(times) >= TOKEN_REQUESTS_PER_MINUTE:
                return False, 0, max(1, _seconds_left(times[0], now))
            times.append(now)
            return (
                True,
                TOKEN_REQUESTS_PER_MINUTE - len(times),
                max(1, _seconds_left(times[0], now)),
            )


def _seconds_left(started: float, now: float) -> int:
    """Whole seconds until a window that started at ``started`` ends. Computed from the time
    elapsed, not as ``started + RATE_WINDOW - now``: with large monotonic clock values that sum
    rounds up, and a fresh window said 61 seconds."""
    return math.ceil(RATE_WINDOW - (now - started))
