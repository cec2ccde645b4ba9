"""Resource bodies, shaped like Calendly's OpenAPI schemas (User, OrganizationMembership,
OrganizationInvitation, Organization, Entry, Event).

Reference: https://developer.calendly.com/api-docs (schemas of each endpoint). Membership bodies
are cached as UTF-8 JSON bytes on the membership, so a page of 100 is a join, not 100 dumps.
"""

from __future__ import annotations

import json
import json.encoder
import math
import time

from .records import PUBLIC_BASE, Invitation, Membership, Organization, User
from .seeding import (
    ACTIVITY_KINDS,
    EVENT_TYPES,
    LOCATIONS,
    LOGIN_METHODS,
    SYSTEM_KIND,
    derived_uuid,
)


def iso(ts: float) -> str:
    """Calendly's timestamp style: ``2020-01-02T03:04:05.678123Z``. Hand-formatted with a
    per-day cache, several times faster than ``datetime.strftime`` (100,000 members have
    400,000 timestamps)."""
    seconds = math.floor(ts)
    micros = round((ts - seconds) * 1_000_000)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    day, rest = divmod(seconds, 86400)
    date = _DAYS.get(day)
    if date is None:
        t = time.gmtime(day * 86400)
        date = _DAYS[day] = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}{hours:02d}:{minutes:02d}:{secs:02d}.{micros:06d}Z"


_DAYS: dict[int, str] = {}


def iso_ms(ts: float) -> str:
    """Activity log style (milliseconds): ``2020-01-02T03:04:05.678Z``."""
    return iso(ts)[:-4] + "Z"


_quote = json.encoder.encode_basestring  # JSON string literal, non-ASCII kept (C speed)


def dumps(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def user_body(user: User, *, current_organization: bool = True) -> dict:
    body = {
        "uri": user.uri,
        "name": user.name,
        "slug": user.slug,
        "email": user.email,
        "scheduling_url": f"https://calendly.com/{user.slug}",
        "timezone": user.timezone,
        "avatar_url": user.avatar_url,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }
    if current_organization:
        body["current_organization"] = user.organization.uri
    return body


def membership_body(membership: Membership) -> dict:
    return {
        "uri": membership.uri,
        "role": membership.role,
        "user": user_body(membership.user, current_organization=False),
        "organization": membership.organization.uri,
        "updated_at": iso(membership.updated_at),
        "created_at": iso(membership.created_at),
    }


def membership_json(membership: Membership) -> bytes:
    """``membership_body`` as UTF-8 JSON, cached on the membership until it changes.

    Built by hand (C string escaping for every free-text field) rather than with
    ``json.dumps`` on a dict: the first download of 100,000 members pays this per member.
    """
    data = membership.json
    if data is None:
        data = membership.json = _membership_text(membership).encode()
    return data


def _membership_text(membership: Membership) -> str:
    user, quote = membership.user, _quote
    avatar = quote(user.avatar_url) if user.avatar_url else "null"
    return (
        f'{{"uri":{quote(membership.uri)},"role":{quote(membership.role)},'
        f'"user":{{"uri":{quote(user.uri)},"name":{quote(user.name)},"slug":{quote(user.slug)},'
        f'"email":{quote(user.email)},"scheduling_url":{quote("https://calendly.com/" + user.slug)},'
        f'"timezone":{quote(user.timezone)},"avatar_url":{avatar},'
        f'"created_at":"{iso(user.created_at)}","updated_at":"{iso(user.updated_at)}"}},'
        f'"organization":{quote(membership.organization.uri)},'
        f'"updated_at":"{iso(membership.updated_at)}","created_at":"{iso(membership.created_at)}"}}'
    )


def organization_body(org: Organization) -> dict:
    return {
        "uri": org.uri,
        "name": org.name,
        "plan": org.plan,
        "stage": org.current_stage,
        "created_at": iso(org.created_at),
        "updated_at": iso(org.updated_at),
    }


def invitation_body(invitation: Invitation) -> dict:
    body = {
        "uri": invitation.uri,
        "organization": invitation.organization.uri,
        "email": invitation.email,
        "status": invitation.status,
        "created_at": iso(invitation.created_at),
        "updated_at": iso(invitation.updated_at),
        "last_sent_at": iso(invitation.last_sent_at) if invitation.last_sent_at else None,
    }
    if invitation.status == "accepted" and invitation.user is not None:
        body["user"] = invitation.user.uri
    return body


def activity_body(org: Organization, index: int) -> dict:
    """Entry ``index`` of ``org.activity`` shaped like the ``Entry`` schema."""
    log = org.activity
    user_index = log.user[index]
    if user_index < 0:
        namespace, action = SYSTEM_KIND
        actor = {"type": "System", "display_name": "Calendly System"}
        details = {"setting": "branding"}
    else:
        namespace, action, _ = ACTIVITY_KINDS[log.kind[index]]
        user = org.seeded_users[user_index]
        role = org.role_of(user) or "user"
        actor = {
            "uri": user.uri,
            "type": "User",
            "organization": {"uri": org.uri, "role": role.capitalize()},
            "display_name": user.name,
            "alternative_identifier": user.email,
        }
        details = _details(namespace, action, log.detail[index])
    return {
        "occurred_at": iso_ms(log.ts[index]),
        "uri": f"{PUBLIC_BASE}/activity_log_entries/{derived_uuid(org.uuid, 'log', index + 1)}",
        "namespace": namespace,
        "action": action,
        "actor": actor,
        "fully_qualified_name": f"{namespace}.{action}",
        "details": details,
        "organization": org.uri,
    }


def _details(namespace: str, action: str, index: int) -> dict:
    if namespace == "User" and action == "Login":
        return {"authentication_method": LOGIN_METHODS[index % len(LOGIN_METHODS)]}
    if namespace == "EventType":
        return {"event_type_name": EVENT_TYPES[index % len(EVENT_TYPES)][0]}
    return {}


def activity_kind(org: Organization, index: int) -> tuple[str, str]:
    if org.activity.user[index] < 0:
        return SYSTEM_KIND
    namespace, action, _ = ACTIVITY_KINDS[org.activity.kind[index]]
    return namespace, action


def event_hosts(org: Organization, index: int) -> list[User]:
    log = org.events
    hosts = [org.seeded_users[log.host[index]]]
    if log.cohost[index] >= 0:
        hosts.append(org.seeded_users[log.cohost[index]])
    return hosts


def event_body(org: Organization, index: int) -> dict:
    """Event ``index`` of ``org.events`` shaped like the ``Event`` schema."""
    log = org.events
    start, canceled, created = log.start[index], bool(log.canceled[index]), log.created[index]
    name, minutes = EVENT_TYPES[log.type[index]]
    hosts = event_hosts(org, index)
    event_uuid = derived_uuid(org.uuid, "event", index + 1)
    event_type = derived_uuid(org.uuid, "event_type", hosts[0].uuid, log.type[index])
    body = {
        "uri": f"{PUBLIC_BASE}/scheduled_events/{event_uuid}",
        "name": name,
        "status": "canceled" if canceled else "active",
        "start_time": iso(start),
        "end_time": iso(start + minutes * 60),
        "event_type": f"{PUBLIC_BASE}/event_types/{event_type}",
        "location": dict(LOCATIONS[log.location[index]]),
        "invitees_counter": {"total": 1, "active": 0 if canceled else 1, "limit": 1},
        "created_at": iso(created),
        "updated_at": iso(created),
        "event_memberships": [
            {"user": host.uri, "user_email": host.email, "user_name": host.name} for host in hosts
        ],
        "event_guests": [],
        "calendar_event": {"kind": "google", "external_id": event_uuid.replace("-", "")[:26]},
    }
    if canceled:
        body["cancellation"] = {
            "canceled_by": hosts[0].name,
            "reason": None,
            "canceler_type": "host",
        }
    return body
