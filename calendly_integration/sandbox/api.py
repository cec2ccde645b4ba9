"""The Calendly API v2 endpoints of the sandbox (everything but OAuth and ``/_sandbox``).

Each handler gets a :class:`.calls.Call` (state, request, authenticated token) and returns a
:class:`.calls.Response` or raises :class:`.calls.ApiError`. Checks run in the order Calendly
documents them: authentication (401), rate limit (429), scope (403 "Insufficient scope"), then
the endpoint's own membership/plan/role checks. This module holds users, organizations,
memberships and invitations, and the route table; the activity log and scheduled events are
``api_activity``.

Reference: https://developer.calendly.com/api-docs (each handler names its page).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .api_activity import list_activity, list_events
from .calls import (
    NOT_IN_ORG,
    ApiError,
    Call,
    Response,
    choice_param,
    count_param,
    denied,
    invalid,
    json_response,
    not_found,
    page_of,
    uri_param,
)
from .records import Organization, Token
from .serialize import (
    dumps,
    invitation_body,
    membership_body,
    membership_json,
    organization_body,
    user_body,
)

SCIM = "You cannot perform this action for an organization with SCIM enabled."


# -- users and organizations --------------------------------------------------------------------
def users_me(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/users/get-current-user
    return json_response(200, {"resource": user_body(call.user)})


def get_user(call: Call) -> Response:
    user = call.state.users.get(call.params["uuid"])
    if user is None:
        raise not_found()
    if user is not call.user and call.org.membership_of(user) is None:
        raise denied()
    return json_response(200, {"resource": user_body(user)})


def get_organization(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/get-organization
    org = call.state.organizations.get(call.params["uuid"])
    if org is None:
        raise not_found()
    call.require_member(org)
    return json_response(200, {"resource": organization_body(org)})


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
    start, end, page = page_of(call, keys, 0, len(keys), count, fingerprint)
    rows = b",".join([m.json or membership_json(m) for m in items[start:end]])
    return Response(200, b'{"collection":[' + rows + b'],"pagination":' + dumps(page) + b"}")


def get_membership(call: Call) -> Response:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/get-organization-membership
    membership = call.state.memberships.get(call.params["uuid"])
    if membership is None:
        raise not_found()
    call.require_member(membership.organization, NOT_IN_ORG)
    return json_response(200, {"resource": membership_body(membership)})


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
    start, end, page = page_of(call, keys, 0, len(keys), count, fingerprint)
    return json_response(
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
    return json_response(200, {"resource": invitation_body(_find_invitation(call, org))})


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
