"""The Calendly client's retry policy: which requests may be sent again, how long to back off
between attempts, how long to wait on a 429, and when to slow down before the rate-limit
budget runs out. The client (``client.py``) applies it; this module decides the numbers.

No I/O and no clock here, so every delay is a plain function of its inputs (the jitter is
injectable for tests).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# Methods that may be re-sent after a failure that happened after the request left us.
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


def header_float(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@dataclass
class RetryPolicy:
    """Bounded retries with full jitter, waits on 429 capped at ``rate_limit_cap``, and a
    proactive slowdown under ``slowdown_threshold`` of the rate-limit budget."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_cap: float = 30
    slowdown_threshold: float = 0.1
    rate_limit_cap: float = 120
    jitter: Callable[[], float] = field(default=random.random)

    @staticmethod
    def may_resend(method: str) -> bool:
        return method in IDEMPOTENT

    def backoff(self, attempt: int) -> float:
        # Full jitter: a random delay in [0, min(cap, base * 2**attempt)].
        return min(self.backoff_cap, self.backoff_base * 2**attempt) * self.jitter()

    def rate_limit_wait(self, reset_seconds: float) -> float:
        """How long to wait after a 429 that says the limit resets in ``reset_seconds``."""
        # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
        # ("429 ... X-RateLimit-Reset: number of seconds until the limit resets").
        return min(self.rate_limit_cap, reset_seconds + self.jitter())

    def slowdown(self, headers: Mapping[str, str]) -> float:
        """The pause before the next call: when under ``slowdown_threshold`` of the budget is
        left, spread the remaining calls over the rest of the window; otherwise 0."""
        # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
        limit = header_float(headers, "X-RateLimit-Limit")
        remaining = header_float(headers, "X-RateLimit-Remaining")
        reset = header_float(headers, "X-RateLimit-Reset")
        if not limit or limit <= 0 or remaining is None or reset is None:
            return 0.0
        if remaining / limit < self.slowdown_threshold:
            return min(self.rate_limit_cap, max(reset, 0) / max(remaining, 1))
        return 0.0
