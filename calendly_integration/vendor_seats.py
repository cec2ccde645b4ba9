"""Calendly's seats as the download stores them: a membership or a pending invitation
reduced to a :class:`Seat`, every vendor string cleaned first, and why a seat can never be
reclaimed (the owner, the connection's own account)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

from django.utils.dateparse import parse_datetime

from sam_saas.models import SoftwareSubscription
from sam_saas.services.vendor_text import RecordSkipped, TextCleaner, column_length

Kind = SoftwareSubscription.Kind

OWNER_REASON = "Organization owner: Calendly does not allow removing the owner."
SELF_REASON = "The connection's own account: Calendly does not let an account remove itself."


@dataclass(slots=True, frozen=True)
class Seat:
    """One seat as Calendly gave it, reduced to what we store."""

    seat_uri: str
    email: str
    name: str
    user_uri: str
    kind: str
    role: str
    created_at: dt.datetime | None


def _parse(value, cleaner: TextCleaner) -> dt.datetime | None:
    """A vendor timestamp; one that does not parse is dropped (and counted), not fatal."""
    if not value:
        return None
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        cleaner.changed["external_created_at"] += 1
        return None


@cache
def _length(name: str) -> int | None:
    """A column's length, read from the model once (five times per seat otherwise)."""
    return column_length(SoftwareSubscription, name)


def _record(item) -> dict:
    if not isinstance(item, dict):
        raise RecordSkipped("not an object")
    return item


# Every vendor string passes through the cleaner: a 300-character name or a NUL byte must not
# fail the download (sam_saas.services.vendor_text).
# Reference: https://developer.calendly.com/api-docs/eaed2e61a6bc3-list-organization-memberships
def seat_from_membership(m: dict, cleaner: TextCleaner) -> Seat:
    m = _record(m)
    user = m.get("user") if isinstance(m.get("user"), dict) else {}
    return Seat(
        seat_uri=cleaner.key(m.get("uri"), _length("external_seat_id"), "membership uri"),
        email=cleaner.text(user.get("email"), _length("user_principal_name"), "email"),
        name=cleaner.text(user.get("name"), _length("user_name"), "name"),
        user_uri=cleaner.text(user.get("uri"), _length("external_user_id"), "user uri"),
        kind=Kind.MEMBER,
        role=cleaner.text(m.get("role"), _length("role"), "role"),
        created_at=_parse(m.get("created_at"), cleaner),
    )


# Reference: https://developer.calendly.com/api-docs/3a7ae2dc2d7f1-list-organization-invitations
def seat_from_invitation(i: dict, cleaner: TextCleaner) -> Seat:
    i = _record(i)
    return Seat(
        seat_uri=cleaner.key(i.get("uri"), _length("external_seat_id"), "invitation uri"),
        email=cleaner.text(i.get("email"), _length("user_principal_name"), "email"),
        name="",
        user_uri="",
        kind=Kind.INVITATION,
        role="",
        created_at=_parse(i.get("created_at"), cleaner),
    )


def protection_reason(role: str, user_uri: str, account_uri: str) -> str:
    if role == "owner":
        return OWNER_REASON
    if user_uri and account_uri and user_uri == account_uri:
        return SELF_REASON
    return ""
