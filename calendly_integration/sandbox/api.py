"""The Calendly API v2 endpoints of the sandbox (everything but OAuth and ``/_sandbox``).

Each handler gets a :class:`Call` (state, request, authenticated token) and returns a
:class:`Response` or raises :class:`ApiError`. Checks run in the order Calendly documents them:
authentication (401), rate limit (429), scope (403 "Insufficient scope"), then the endpoint's
own membership/plan/role checks.

Reference: https://developer.calendly.com/api-docs (each handler names its page).
"""

from __future__ import annotations

import bisect
import re
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from . import pagination
from .seeding import ensure_activity
from .serialize import (
    activity_body,
    activity_kind,
    dumps,
    event_body,
    invitation_body,
    iso_ms,
    membership_body,
    membership_json,
    organization_body,
    user_body,
)
from .state import ACTIVITY_RETENTION_DAYS, PUBLIC_BASE, Organization, SandboxState, Token

INVALID_ARGUMENT = ("Invalid Argument", "The supplied parameters are invalid.")
NOT_FOUND = ("Resource Not Found", "The server could not find the requested resource.")
NO_PERMISSION = "You do not have permission to access this resource."
NOT_IN_ORG = "This user is not in your organization"
UPGRADE = "Please upgrade your Calendly account to Enterprise."
ALSO_ORGANIZATION = (
    "Please also specify organization when requesting events for a user within your organization."
)
SCIM = "You cannot perform this action for an organization with SCIM enabled."
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


def _page(call: Call, keys, lo: int, hi: int, count: int, fingerprint: str):
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


def _cached(state: SandboxState, key: tuple, build: Callable[[], tuple[list, list]]):
    cache = state.listing_cache
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    hit = cache[key] = build()
    while len(cache) > LISTING_CACHE_SIZE:
        cache.popitem(last=False)
    return hit


def _view(items, descending: bool):
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


def _time_bounds(items, times, descending: bool, low, high) -> tuple[int, int]:
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


def _json(status: int, data) -> Response:
    return Response(status, dumps(data))


# -- users and organizations --------------------------------------------------------------------
def users_me(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/users/get-current-user
    return _json(200, {"resource": user_body(call.user)})


def get_user(call: Call) -> Response:
    user = call.state.users.get(call.params["uuid"])
    if user is None:
        raise not_found()
    if user is not call.user and call.org.membership_of(user) is None:
        raise denied()
    return _json(200, {"resource": user_body(user)})


def get_organization(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/get-organization
    org = call.state.organizations.get(call.params["uuid"])
    if org is None:
        raise not_found()
    call.require_member(org)
    return _json(200, {"resource": organization_body(org)})


# -- memberships --------------------------------------------------------------------------------
def list_memberships(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships
    state, request = call.state, call.request
    count = count_param(request, 100)
    org = uri_param(state, request, "organization", "organizations")
    user = uri_param(state, request, "user", "users")
    email = (request.param("email") or "").strip().lower() or None
    if org is None and user is None:
        raise invalid("organization", "is required when user is not given")
    if org is None:
        if user is not call.user and call.org.membership_of(user) is None:
            raise denied(NOT_IN_ORG)
        org = call.org
    call.require_member(org)
    if user is None and email is None:
        items, keys = org.members, org.member_seqs
    else:
        # Filters match at most one member: answer from the indexes, not a scan.
        if user is not None:
            found = org.membership_of(user)
            if found is None:
                raise denied(NOT_IN_ORG)
        else:
            found = org.by_email.get(email)
        items = (
            [found]
            if found is not None and (email is None or found.user.email.lower() == email)
            else []
        )
        keys = [m.seq for m in items]
    fingerprint = state.fingerprint("memberships", org.uuid, user.uuid if user else None, email)
    start, end, page = _page(call, keys, 0, len(keys), count, fingerprint)
    rows = b",".join([m.json or membership_json(m) for m in items[start:end]])
    return Response(200, b'{"collection":[' + rows + b'],"pagination":' + dumps(page) + b"}")


def get_membership(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/get-organization-membership
    membership = call.state.memberships.get(call.params["uuid"])
    if membership is None:
        raise not_found()
    call.require_member(membership.organization, NOT_IN_ORG)
    return _json(200, {"resource": membership_body(membership)})


def delete_membership(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/remove-user-from-organization
    # Needs an admin; the owner cannot be removed and nobody can remove themself (403 each).
    state = call.state
    membership = state.memberships.get(call.params["uuid"])
    if membership is None:
        raise not_found()
    org = membership.organization
    if call.caller_role(org) is None:
        raise denied("You cannot modify members from another organization")
    if call.caller_role(org) not in ("owner", "admin"):
        raise denied("You do not have permission to perform this action")
    if membership.role == "owner":
        raise denied("You can not change owner role")
    if membership.user is call.user:
        raise denied("You can not remove yourself from organization")
    state.remove_member(org, membership)
    return Response(204, b"", content_type="")


# -- invitations --------------------------------------------------------------------------------
def _invitation_org(call: Call, *, admin: bool = True) -> Organization:
    org = call.state.organizations.get(call.params["org"])
    if org is None:
        raise not_found()
    if admin:
        call.require_admin(org)
    else:
        call.require_member(org)
    return org


def list_invitations(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-invitations
    request = call.request
    org = _invitation_org(call)
    count = count_param(request, 100)
    status = choice_param(request, "status", ("pending", "accepted", "declined"))
    sort = choice_param(request, "sort", ("created_at:asc", "created_at:desc"), "created_at:asc")
    email = (request.param("email") or "").strip().lower() or None
    items = [
        inv
        for inv in org.invitations.values()
        if (status is None or inv.status == status)
        and (email is None or inv.email.lower() == email)
    ]
    descending = sort.endswith(":desc")
    sign = -1 if descending else 1
    items.sort(key=lambda inv: (sign * inv.created_at, sign * inv.seq))
    keys = [(sign * inv.created_at, sign * inv.seq) for inv in items]
    fingerprint = call.state.fingerprint("invitations", org.uuid, status, email, sort)
    start, end, page = _page(call, keys, 0, len(keys), count, fingerprint)
    return _json(
        200, {"collection": [invitation_body(i) for i in items[start:end]], "pagination": page}
    )


def _find_invitation(call: Call, org: Organization):
    invitation = org.invitations.get(call.params["uuid"])
    if invitation is not None:
        return invitation
    for other in call.state.organizations.values():
        if call.params["uuid"] in other.invitations:
            raise denied("You do not have permission")
    raise not_found()


def get_invitation(call: Call) -> Response:
    org = _invitation_org(call)
    return _json(200, {"resource": invitation_body(_find_invitation(call, org))})


def revoke_invitation(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/revoke-user-organization-invitation
    org = _invitation_org(call)
    if org.scim_enabled:
        raise denied(SCIM)
    invitation = _find_invitation(call, org)
    if invitation.status == "accepted":
        raise ApiError(
            400, "Invitation Already Accepted", "The invitation has already been accepted."
        )
    del org.invitations[invitation.uuid]
    return Response(204, b"", content_type="")


# -- activity log -------------------------------------------------------------------------------
def list_activity(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/activity-log/list-activity-log-entries
    # Enterprise only, admins/owners only, 90 days of retention, pages up to 1000.
    state, request = call.state, call.request
    org = uri_param(state, request, "organization", "organizations")
    if org is None:
        raise invalid("organization", "is required")
    count = count_param(request, 1000)
    low = time_param(request, "min_occurred_at")
    high = time_param(request, "max_occurred_at")
    sorts = request.params("sort") or ["occurred_at:desc"]
    if len(sorts) != 1 or sorts[0] not in ("occurred_at:asc", "occurred_at:desc"):
        raise invalid("sort", "the sandbox supports occurred_at:asc or occurred_at:desc")
    descending = sorts[0] == "occurred_at:desc"
    call.require_member(org)
    if org.plan != "enterprise":
        raise denied(UPGRADE)
    call.require_admin(org)
    actors = tuple(sorted(set(request.params("actor"))))
    namespaces = tuple(sorted(set(request.params("namespace"))))
    actions = tuple(sorted(set(request.params("action"))))
    search = (request.param("search_term") or "").strip().lower() or None
    ensure_activity(org)
    log = org.activity

    def build():
        indexes = range(len(log))
        if actors or namespaces or actions or search:
            indexes = array(
                "i",
                (
                    i
                    for i in indexes
                    if _activity_matches(org, i, actors, namespaces, actions, search)
                ),
            )
        return _view(indexes, descending)

    cache_key = ("activity", org.uuid, actors, namespaces, actions, search, descending)
    items, keys = _cached(state, cache_key, build)
    retention = time.time() - ACTIVITY_RETENTION_DAYS * 86400
    low = retention if low is None else max(low, retention)
    lo, hi = _time_bounds(items, log.ts, descending, low, high)
    fingerprint = state.fingerprint(
        "activity", org.uuid, actors, namespaces, actions, search, descending,
        request.param("min_occurred_at"), request.param("max_occurred_at"),
    )  # fmt: skip
    start, end, page = _page(call, keys, lo, hi, count, fingerprint)
    rows = items[start:end]
    newest = max((log.ts[i] for i in rows), default=None)
    return _json(
        200,
        {
            "collection": [activity_body(org, i) for i in rows],
            "pagination": page,
            "last_event_time": iso_ms(newest) if newest is not None else None,
            "total_count": hi - lo,
            "exceeds_max_total_count": False,
        },
    )


def _activity_matches(org, index, actors, namespaces, actions, search) -> bool:
    user_index = org.activity.user[index]
    if actors and (user_index < 0 or org.seeded_users[user_index].uri not in actors):
        return False
    namespace, action = activity_kind(org, index)
    if namespaces and namespace not in namespaces:
        return False
    if actions and action not in actions:
        return False
    if search:
        text = f"{namespace}.{action}"
        if user_index >= 0:
            user = org.seeded_users[user_index]
            text += f" {user.name} {user.email}"
        return search in text.lower()
    return True


# -- scheduled events ---------------------------------------------------------------------------
def list_events(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/scheduled-events/list-events
    state, request = call.state, call.request
    count = count_param(request, 100)
    org = uri_param(state, request, "organization", "organizations")
    user = uri_param(state, request, "user", "users")
    if org is None and user is None:
        raise invalid("organization", "organization or user is required")
    status = choice_param(request, "status", ("active", "canceled"))
    sort = choice_param(request, "sort", ("start_time:asc", "start_time:desc"), "start_time:asc")
    low = time_param(request, "min_start_time")
    high = time_param(request, "max_start_time")
    if org is not None:
        call.require_member(org)
        call.require_admin(org, "You do not have permission")
        if user is not None and org.membership_of(user) is None:
            raise denied(NOT_IN_ORG)
    else:
        org = call.org
        if user is not call.user:
            if org.membership_of(user) is not None:
                raise denied(ALSO_ORGANIZATION)
            raise denied(NOT_IN_ORG)
        call.require_member(org)
    descending = sort.endswith(":desc")
    invitee_email = request.param("invitee_email")
    ensure_activity(org)
    log = org.events
    user_index = _seeded_index(org, user) if user is not None else None

    def build():
        indexes = range(len(log))
        if invitee_email or (user is not None and user_index is None):
            indexes = array("i")  # no invitees are seeded; users added later host nothing
        elif user is not None or status is not None:
            wanted = status == "canceled"
            indexes = array(
                "i",
                (
                    i
                    for i in indexes
                    if (user is None or user_index in (log.host[i], log.cohost[i]))
                    and (status is None or bool(log.canceled[i]) == wanted)
                ),
            )
        return _view(indexes, descending)

    key = ("events", org.uuid, user.uuid if user else None, status, bool(invitee_email), descending)
    items, keys = _cached(state, key, build)
    lo, hi = _time_bounds(items, log.start, descending, low, high)
    fingerprint = state.fingerprint(
        "events", org.uuid, user.uuid if user else None, status, descending, invitee_email,
        request.param("min_start_time"), request.param("max_start_time"),
    )  # fmt: skip
    start, end, page = _page(call, keys, lo, hi, count, fingerprint)
    collection = [event_body(org, i) for i in items[start:end]]
    return _json(200, {"collection": collection, "pagination": page})


def _seeded_index(org: Organization, user) -> int | None:
    if org.seeded_index is None:
        org.seeded_index = {u.uuid: i for i, u in enumerate(org.seeded_users)}
    return org.seeded_index.get(user.uuid)


# -- routing ------------------------------------------------------------------------------------
_UUID = r"(?P<uuid>[^/]+)"
ROUTES: list[tuple[str, re.Pattern, Callable[[Call], Response], str]] = [
    ("GET", re.compile(r"^/users/me$"), users_me, "users:read"),
    ("GET", re.compile(rf"^/users/{_UUID}$"), get_user, "users:read"),
    ("GET", re.compile(rf"^/organizations/{_UUID}$"), get_organization, "organizations:read"),
    ("GET", re.compile(r"^/organization_memberships$"), list_memberships, "organizations:read"),
    (
        "GET",
        re.compile(rf"^/organization_memberships/{_UUID}$"),
        get_membership,
        "organizations:read",
    ),
    (
        "DELETE",
        re.compile(rf"^/organization_memberships/{_UUID}$"),
        delete_membership,
        "organizations:write",
    ),
    (
        "GET",
        re.compile(r"^/organizations/(?P<org>[^/]+)/invitations$"),
        list_invitations,
        "organizations:read",
    ),
    (
        "GET",
        re.compile(rf"^/organizations/(?P<org>[^/]+)/invitations/{_UUID}$"),
        get_invitation,
        "organizations:read",
    ),
    (
        "DELETE",
        re.compile(rf"^/organizations/(?P<org>[^/]+)/invitations/{_UUID}$"),
        revoke_invitation,
        "organizations:write",
    ),
    ("GET", re.compile(r"^/activity_log_entries$"), list_activity, "activity_log:read"),
    ("GET", re.compile(r"^/scheduled_events$"), list_events, "scheduled_events:read"),
]


def match(method: str, path: str):
    """``(handler, scope, params)`` or ``None`` for a 404."""
    for route_method, pattern, handler, scope in ROUTES:
        if route_method == method:
            found = pattern.match(path)
            if found:
                return handler, scope, found.groupdict()
    return None


def has_scope(token: Token, scope: str) -> bool:
    """A ``:write`` scope implies the matching ``:read`` scope."""
    if scope in token.scopes:
        return True
    return scope.endswith(":read") and scope[: -len(":read")] + ":write" in token.scopes
