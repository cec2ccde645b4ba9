"""Fault injection for the fake Calendly server.

Tests and the demo flip these switches to see how the product copes with what a real vendor
API does on a bad day: rate limiting, 5xx answers, dropped connections, slow answers, expiring
tokens and stale page tokens. A ``Faults`` object can be changed while the server runs (from
Python, from ``start_sandbox(faults=...)``, from ``manage.py calendly_sandbox --faults JSON`` or
with ``POST /_sandbox/faults``).

Counting rules ("the Nth request"):

* Only API requests are counted: every request whose path is not under ``/_sandbox/`` or
  ``/oauth/``. Requests that are faulted are counted too.
* ``fail_on_request``, ``drop_on_request``, ``status_on_request`` and ``fail_every`` count from
  the moment the field is set: ``fail_on_request = 1`` fails the very next API request. A
  one-shot fault (the first three) clears itself after it fired.
* When several faults match the same request, the first of drop, ``status_on_request``,
  ``fail_on_request``, ``fail_every`` and ``rate_limit_next`` wins; the others keep waiting.
* ``delay_seconds`` delays every API request (faulted or not) before it is answered.

Token endpoint faults (``token_fail_next``/``token_fail_status``) count ``POST /oauth/token``
requests separately, so a refresh failure can be staged without shifting API request numbers.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# Fields whose "Nth request" counts from the moment they are set.
_COUNTED = ("fail_on_request", "drop_on_request", "status_on_request", "fail_every")

_DEFAULTS: dict[str, Any] = {
    "rate_limit_next": 0,
    "reset_seconds": 1,
    "fail_on_request": None,
    "fail_status": 500,
    "status_on_request": None,
    "drop_on_request": None,
    "fail_every": None,
    "delay_seconds": 0.0,
    "access_token_ttl": None,
    "expire_page_tokens": False,
    "page_token_ttl": 300,
    "token_fail_next": 0,
    "token_fail_status": 500,
}


@dataclass(frozen=True)
class FaultDecision:
    """What the server should do with one API request."""

    action: str | None = None  # None, "drop", "status" or "rate_limit"
    status: int | None = None
    reset_seconds: int | None = None
    delay: float = 0.0


class Faults:
    """Thread-safe switches; set attributes directly (``faults.rate_limit_next = 2``) or call
    :meth:`update` with several at once.

    Fields:
        rate_limit_next: the next N API requests answer 429 with ``X-RateLimit-Remaining: 0``
            and ``X-RateLimit-Reset: reset_seconds``.
        reset_seconds: the ``X-RateLimit-Reset`` value used by ``rate_limit_next`` (default 1).
        fail_on_request: the Nth API request from now answers ``fail_status`` (default 500).
        status_on_request: ``{n: status}``; the Nth API request from now answers ``status``.
        drop_on_request: the Nth API request from now gets its socket closed without an answer.
        fail_every: every Nth API request (counted from now) answers ``fail_status``.
        delay_seconds: sleep this long before answering each API request.
        access_token_ttl: OAuth access tokens issued from now expire after N seconds instead of
            7200 (``None`` = Calendly's 7200).
        expire_page_tokens: when true every ``page_token`` is refused as stale (400).
        page_token_ttl: seconds a page token stays valid (default 300).
        token_fail_next / token_fail_status: the next N ``POST /oauth/token`` requests answer
            ``token_fail_status`` (default 500) before any other processing.
    """

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_values", dict(_DEFAULTS))
        object.__setattr__(self, "_bases", dict.fromkeys(_COUNTED, 0))
        object.__setattr__(self, "_count", 0)
        object.__setattr__(self, "_token_cutoff", 0.0)
        self.update(**fields)

    # -- attribute access -------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _DEFAULTS:
            raise AttributeError(f"unknown fault field {name!r}; known: {sorted(_DEFAULTS)}")
        with self._lock:
            self._set(name, value)

    def _set(self, name: str, value: Any) -> None:
        self._values[name] = _coerce(name, value)
        if name in self._bases:
            self._bases[name] = self._count

    def update(self, **fields: Any) -> Faults:
        """Set several fields at once. ``expire_access_tokens_now=True`` is accepted too."""
        expire_now = bool(fields.pop("expire_access_tokens_now", False))
        unknown = set(fields) - set(_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}; known: {sorted(_DEFAULTS)}")
        with self._lock:
            for name, value in fields.items():
                self._set(name, value)
        if expire_now:
            self.expire_access_tokens_now()
        return self

    def reset(self) -> None:
        """Clear every fault (the request counter keeps running)."""
        with self._lock:
            self._values.update(_DEFAULTS)
            object.__setattr__(self, "_token_cutoff", 0.0)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            data = dict(self._values)
            data["api_requests"] = self._count
            if data["status_on_request"]:
                data["status_on_request"] = {
                    str(k): v for k, v in data["status_on_request"].items()
                }
            return data

    @property
    def api_requests(self) -> int:
        """How many API requests the server has counted so far."""
        return self._count

    # -- tokens -----------------------------------------------------------------------------
    def expire_access_tokens_now(self) -> None:
        """Every OAuth access token issued until now answers 401 "The access token expired"."""
        with self._lock:
            object.__setattr__(self, "_token_cutoff", time.time())

    @property
    def token_cutoff(self) -> float:
        """OAuth access tokens created at or before this epoch time count as expired."""
        return self._token_cutoff

    # -- decisions --------------------------------------------------------------------------
    def next_api_request(self) -> FaultDecision:
        """Count one API request and decide its fate (called by the server, once per request)."""
        with self._lock:
            count = self._count + 1
            object.__setattr__(self, "_count", count)
            values, bases = self._values, self._bases
            delay = float(values["delay_seconds"] or 0.0)

            drop = values["drop_on_request"]
            if drop and count - bases["drop_on_request"] == drop:
                values["drop_on_request"] = None
                return FaultDecision("drop", delay=delay)

            statuses = values["status_on_request"]
            if statuses:
                status = statuses.pop(count - bases["status_on_request"], None)
                if not statuses:
                    values["status_on_request"] = None
                if status is not None:
                    return _status_decision(status, values, delay)

            fail = values["fail_on_request"]
            if fail and count - bases["fail_on_request"] == fail:
                values["fail_on_request"] = None
                return _status_decision(values["fail_status"], values, delay)

            every = values["fail_every"]
            if every and (count - bases["fail_every"]) % every == 0:
                return _status_decision(values["fail_status"], values, delay)

            if values["rate_limit_next"] > 0:
                values["rate_limit_next"] -= 1
                return FaultDecision("rate_limit", 429, int(values["reset_seconds"]), delay)
            return FaultDecision(delay=delay)

    def next_token_request(self) -> int | None:
        """Count one ``POST /oauth/token``; return the status to fail it with, if any."""
        with self._lock:
            if self._values["token_fail_next"] > 0:
                self._values["token_fail_next"] -= 1
                return int(self._values["token_fail_status"])
            return None

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.to_dict().items() if _DEFAULTS.get(k, v) != v}
        return f"Faults({changed})"


def _status_decision(status: int, values: dict[str, Any], delay: float) -> FaultDecision:
    if int(status) == 429:
        return FaultDecision("rate_limit", 429, int(values["reset_seconds"]), delay)
    return FaultDecision("status", int(status), delay=delay)


def _coerce(name: str, value: Any) -> Any:
    """Accept JSON-ish input (strings for numbers, string keys for ``status_on_request``)."""
    if name == "status_on_request":
        if not value:
            return None
        return {int(k): int(v) for k, v in dict(value).items()}
    if name == "expire_page_tokens":
        return bool(value)
    if name == "delay_seconds":
        return float(value or 0.0)
    if value is None:
        return None if _DEFAULTS[name] is None else _DEFAULTS[name]
    if name in ("access_token_ttl", "fail_on_request", "drop_on_request", "fail_every"):
        number = int(value)
        return number if number > 0 or name == "access_token_ttl" else None
    return int(value)
