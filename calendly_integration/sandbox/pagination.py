"""Opaque, short-lived, tamper-proof page tokens and cursor paging.

Calendly's page tokens are opaque and go stale after a while; a stale one gives 400. Here a
token carries ``[expiry, listing fingerprint, direction, sort key]`` plus an HMAC: it is bound to
the listing's filters (a token from another query is refused), it expires after
``faults.page_token_ttl`` seconds (300 by default), and a forged one is refused.

Paging is by sort key, not by offset: the next page starts after the last key seen, found with a
bisect, so a page costs O(log n) and removing a member between two pages neither skips nor
repeats anyone.

Reference: https://developer.calendly.com/api-docs/api-conventions (pagination).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import time
from collections.abc import Sequence


class PageTokenError(Exception):
    """The supplied page token is malformed, forged, from another listing or expired."""


def encode(secret: bytes, fingerprint: str, direction: str, key, ttl: float) -> str:
    payload = json.dumps(
        [int(time.time() + ttl), fingerprint, direction, key], separators=(",", ":")
    )
    body = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=")
    signature = hmac.new(secret, body, hashlib.sha256).digest()[:12]
    return (body + b"." + base64.urlsafe_b64encode(signature)).decode()


def decode(
    secret: bytes, token: str, fingerprint: str, *, stale: bool = False
) -> tuple[str, object]:
    """Return ``(direction, key)``; raise :class:`PageTokenError` with the 400 detail text."""
    try:
        body, _, signature = token.encode().partition(b".")
        expected = base64.urlsafe_b64encode(hmac.new(secret, body, hashlib.sha256).digest()[:12])
        if not hmac.compare_digest(expected, signature):
            raise ValueError("bad signature")
        expiry, token_fingerprint, direction, key = json.loads(
            base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        )
    except (ValueError, TypeError, UnicodeError) as exc:
        raise PageTokenError("is invalid") from exc
    if token_fingerprint != fingerprint or direction not in ("next", "prev"):
        raise PageTokenError("is invalid")
    if stale or time.time() > expiry:
        raise PageTokenError("has expired")
    return direction, tuple(key) if isinstance(key, list) else key


def window(
    keys: Sequence, lo: int, hi: int, count: int, cursor: tuple[str, object] | None
) -> tuple[int, int]:
    """Indexes ``[start, end)`` of the page inside ``keys[lo:hi]`` (keys ascend)."""
    if cursor is None:
        start = lo
        return start, min(hi, start + count)
    direction, key = cursor
    if direction == "next":
        start = max(lo, bisect.bisect_right(keys, key, lo, hi))
        return start, min(hi, start + count)
    end = min(hi, bisect.bisect_left(keys, key, lo, hi))
    return max(lo, end - count), end


def pagination_body(
    *,
    base_url: str,
    path: str,
    raw_query: str,
    rows: int,
    next_token: str | None,
    prev_token: str | None,
) -> dict:
    """Calendly's ``pagination`` object; ``next_page``/``previous_page`` repeat the query as the
    client sent it, with the new ``page_token`` (tokens are URL-safe, no quoting needed)."""
    kept = "&".join(p for p in raw_query.split("&") if p and not p.startswith("page_token="))
    prefix = f"{base_url}{path}?{kept}&page_token=" if kept else f"{base_url}{path}?page_token="
    return {
        "count": rows,
        "next_page": prefix + next_token if next_token else None,
        "previous_page": prefix + prev_token if prev_token else None,
        "next_page_token": next_token,
        "previous_page_token": prev_token,
    }
