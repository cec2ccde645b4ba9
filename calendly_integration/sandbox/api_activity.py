"""The sandbox's activity log and scheduled events endpoints: the two listings that read the
seeded, columnar logs (``seeding.ensure_activity``), filtered once per query shape and cached.

Reference: https://developer.calendly.com/api-docs (each handler names its page).
"""

from __future__ import annotations

import time
from array import array

from .calls import (
    ALSO_ORGANIZATION,
    NOT_IN_ORG,
    UPGRADE,
    Call,
    Response,
    cached,
    choice_param,
    count_param,
    denied,
    invalid,
    json_response,
    page_of,
    time_bounds,
    time_param,
    uri_param,
    view,
)
from .records import ACTIVITY_RETENTION_DAYS, Organization
from .seeding import ensure_activity
from .serialize import activity_body, activity_kind, event_body, iso_ms


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
        return view(indexes, descending)

    cache_key = ("activity", org.uuid, actors, namespaces, actions, search, descending)
    items, keys = cached(state, cache_key, build)
    retention = time.time() - ACTIVITY_RETENTION_DAYS * 86400
    low = retention if low is None else max(low, retention)
    lo, hi = time_bounds(items, log.ts, descending, low, high)
    fingerprint = state.fingerprint(
        "activity", org.uuid, actors, namespaces, actions, search, descending,
        request.param("min_occurred_at"), request.param("max_occurred_at"),
    )  # fmt: skip
    start, end, page = page_of(call, keys, lo, hi, count, fingerprint)
    rows = items[start:end]
    newest = max((log.ts[i] for i in rows), default=None)
    return json_response(
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
        return view(indexes, descending)

    key = ("events", org.uuid, user.uuid if user else None, status, bool(invitee_email), descending)
    items, keys = cached(state, key, build)
    lo, hi = time_bounds(items, log.start, descending, low, high)
    fingerprint = state.fingerprint(
        "events", org.uuid, user.uuid if user else None, status, descending, invitee_email,
        request.param("min_start_time"), request.param("max_start_time"),
    )  # fmt: skip
    start, end, page = page_of(call, keys, lo, hi, count, fingerprint)
    collection = [event_body(org, i) for i in items[start:end]]
    return json_response(200, {"collection": collection, "pagination": page})


def _seeded_index(org: Organization, user) -> int | None:
    if org.seeded_index is None:
        org.seeded_index = {u.uuid: i for i, u in enumerate(org.seeded_users)}
    return org.seeded_index.get(user.uuid)
