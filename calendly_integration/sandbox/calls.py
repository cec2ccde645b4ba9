"""The plumbing every sandbox endpoint shares: the request and response, the API error with
Calendly's body shape, the :class:`Call` a handler gets (state, request, token) with its
membership and role checks, the parameter parsers, and the listing helpers (signed page
tokens, the listing cache, time-range bisection).

Reference: https://developer.calendly.com/api-docs/api-conventions (errors, pagination).
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from . import pagination
from .records import PUBLIC_BASE, Organization, Token
from .serialize import dumps
from .state import SandboxState

INVALID_ARGUMENT = ("Invalid Argument", "The supplied parameters are invalid.")
NOT_FOUND = ("Resource Not Found", "The server could not find the requested resource.")
NO_PERMISSION = "You do not have permission to access this resource."
NOT_IN_ORG = "This user is not in your organization"
UPGRADE = "Please upgrade your Calendly account to Enterprise."
ALSO_ORGANIZATION = (
    "Please also specify organization when requesting events for a user within your organization."
)
LISTING_CACHE_SIZE = 32


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    base_url: str  # scheme://host:port the client used; next_page links point here
    raw_query: str = ""

    def param(self, name: str) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return None

    def params(self, name: str) -> list[str]:
        """All values of a repeatable parameter; ``a,b`` (form, explode=false) is split too."""
        values: list[str] = []
        for key, value in self.query:
            if key in (name, f"{name}[]"):
                values.extend(part for part in value.split(",") if part)
        return values


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = "application/json; charset=utf-8"


class ApiError(Exception):
    def __init__(self, status: int, title: str, message: str, details=None, **extra):
        super().__init__(f"{status} {title}: {message}")
        self.status = status
        self.body = {"title": title, "message": message}
        if details:
            self.body["details"] = details
        self.body.update(extra)


def invalid(parameter: str, message: str) -> ApiError:
    return ApiError(400, *INVALID_ARGUMENT, details=[{"parameter": parameter, "message": message}])


def denied(message: str = NO_PERMISSION) -> ApiError:
    return ApiError(403, "Permission Denied", message)


def not_found() -> ApiError:
    return ApiError(404, *NOT_FOUND)


@dataclass
class Call:
    state: SandboxState
    request: Request
    token: Token
    params: dict[str, str]

    @property
    def user(self):
        return self.token.user

    @property
    def org(self) -> Organization:
        return self.token.organization

    def caller_role(self, org: Organization) -> str | None:
        """The caller's role in ``org``; ``None`` when the caller is not a member."""
        if org is not self.token.organization:
            return None
        return org.role_of(self.token.user)

    def require_member(self, org: Organization, message: str = NO_PERMISSION) -> str:
        role = self.caller_role(org)
        if role is None:
            raise denied(message)
        return role

    def require_admin(self, org: Organization, message: str = NO_PERMISSION) -> str:
        role = self.require_member(org)
        if role not in ("owner", "admin"):
            raise denied(message)
        return role


# -- parameters ---------------------------------------------------------------------------------
def count_param(request: Request, maximum: int) -> int:
    raw = request.param("count")
    if raw is None or raw == "":
        return 20
    try:
        count = int(raw)
    except ValueError:
        raise invalid("count", "must be an integer") from None
    if count < 1:
        raise invalid("count", "must be greater than or equal to 1")
    if count > maximum:
        raise invalid("count", f"must be less than or equal to {maximum}")
    return count


def time_param(request: Request, name: str) -> float | None:
    raw = request.param(name)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise invalid(
            name, "must be a valid ISO 8601 date-time, e.g. 2020-01-02T03:04:05.678Z"
        ) from None


def uri_param(state: SandboxState, request: Request, name: str, kind: str):
    """Resolve a full resource URI (``https://api.calendly.com/<kind>/<uuid>``)."""
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    prefix = f"{PUBLIC_BASE}/{kind}/"
    if not raw.startswith(prefix) or "/" in raw[len(prefix) :] or len(raw) == len(prefix):
        raise invalid(name, f"must be a valid {kind[:-1]} URI ({prefix}<uuid>)")
    table = state.organizations if kind == "organizations" else state.users
    found = table.get(raw[len(prefix) :])
    if found is None:
        raise not_found()
    return found


def choice_param(
    request: Request, name: str, choices: tuple[str, ...], default: str | None = None
) -> str | None:
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    if raw not in choices:
        raise invalid(name, f"must be one of: {', '.join(choices)}")
    return raw


# -- listing helpers ----------------------------------------------------------------------------
def _cursor(call: Call, fingerprint: str):
    raw = call.request.param("page_token")
    if not raw:
        return None
    try:
        return pagination.decode(
            call.state.page_secret, raw, fingerprint, stale=call.state.faults.expire_page_tokens
        )
    except pagination.PageTokenError as exc:
        raise invalid("page_token", f"The page token {exc}.") from None


def page_of(call: Call, keys, lo: int, hi: int, count: int, fingerprint: str):
    """``(start, end, pagination dict)`` for one page of ``keys[lo:hi]``."""
    cursor = _cursor(call, fingerprint)
    start, end = pagination.window(keys, lo, hi, count, cursor)
    ttl = call.state.faults.page_token_ttl
    secret = call.state.page_secret
    next_token = (
        pagination.encode(secret, fingerprint, "next", keys[end - 1], ttl) if end < hi else None
    )
    prev_token = (
        pagination.encode(secret, fingerprint, "prev", keys[start], ttl) if start > lo else None
    )
    body = pagination.pagination_body(
        base_url=call.request.base_url,
        path=call.request.path,
        raw_query=call.request.raw_query,
        rows=end - start,
        next_token=next_token,
        prev_token=prev_token,
    )
    return start, end, body


def cached(state: SandboxState, key: tuple, build: Callable[[], tuple[list, list]]):
    cache = state.listing_cache
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    hit = cache[key] = build()
    while len(cache) > LISTING_CACHE_SIZE:
        cache.popitem(last=False)
    return hit


def view(items, descending: bool):
    """Output order of entry indexes and their ascending page keys (``i`` or ``-i``)."""
    if isinstance(items, range):
        n = len(items)
        if descending:
            return range(n - 1, -1, -1), range(-(n - 1), 1)
        return items, items
    if descending:
        items = items[::-1]
        return items, array("i", (-i for i in items))
    return items, items


def time_bounds(items, times, descending: bool, low, high) -> tuple[int, int]:
    """Index range of ``items`` whose time is in ``[low, high)`` (``items`` sorted by time)."""
    if not descending:
        at = times.__getitem__
        lo = bisect.bisect_left(items, low, key=at) if low is not None else 0
        hi = bisect.bisect_left(items, high, key=at) if high is not None else len(items)
    else:

        def at(i):
            return -times[i]

        lo = bisect.bisect_right(items, -high, key=at) if high is not None else 0
        hi = bisect.bisect_right(items, -low, key=at) if low is not None else len(items)
    return lo, max(lo, hi)


def json_response(status: int, data) -> Response:
    return Response(status, dumps(data))
