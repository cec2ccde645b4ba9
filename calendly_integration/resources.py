"""The Calendly resources the product reads and changes, each with its endpoint and
parameters as Calendly documents them. ``CalendlyClient`` (``client.py``) has them: this mixin
needs only its ``get``, ``delete`` and ``paginate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from .constants import DEFAULT_API_URL


def uuid_from_uri(uri: str) -> str:
    """The trailing UUID of a Calendly resource URI (a bare UUID is returned as is).

    Calendly filters take full URIs; path parameters take this UUID.
    """
    # Reference: https://developer.calendly.com/api-docs/api-conventions
    if not uri or not str(uri).strip():
        raise ValueError("empty Calendly URI")
    path = urlsplit(str(uri).strip()).path if "://" in str(uri) else str(uri).strip()
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    if not segment:
        raise ValueError(f"no UUID in Calendly URI {uri!r}")
    return segment


def format_time(value: datetime | str | None) -> str | None:
    """Calendly wants UTC timestamps like 2020-01-02T03:04:05.678123Z."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("Calendly timestamps must be timezone-aware datetimes")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class CalendlyResources:
    """``GET /users/me``, the organization, its memberships, invitations, activity log and
    scheduled events, and the two removals."""

    def current_user(self) -> dict:
        """``GET /users/me``: the connected user, with ``current_organization``."""
        return self.get("/users/me").get("resource", {})

    def organization(self, org_uri_or_uuid: str) -> dict:
        """``GET /organizations/{uuid}``: ``plan`` and ``stage`` of the organization."""
        return self.get(f"/organizations/{uuid_from_uri(org_uri_or_uuid)}").get("resource", {})

    def iter_memberships(self, org_uri: str, count: int = 100) -> Iterator[list[dict]]:
        """Seats: ``GET /organization_memberships?organization=URI`` (max 100 a page)."""
        params = {"organization": self._org_uri(org_uri), "count": count}
        return self.paginate("/organization_memberships", params)

    def iter_invitations(
        self, org_uri: str, status: str | None = "pending", count: int = 100
    ) -> Iterator[list[dict]]:
        """``GET /organizations/{uuid}/invitations``; ``status`` pending/accepted/declined or
        None for all."""
        path = f"/organizations/{uuid_from_uri(org_uri)}/invitations"
        return self.paginate(path, {"status": status, "count": count})

    def iter_activity_log(
        self,
        org_uri: str,
        min_occurred_at: datetime | str | None = None,
        max_occurred_at: datetime | str | None = None,
        count: int = 1000,
        sort: str = "occurred_at:asc",
        **filters: Any,
    ) -> Iterator[list[dict]]:
        """``GET /activity_log_entries`` (Enterprise plan, admin or owner; 90 days kept).

        ``filters``: ``actor``, ``namespace``, ``action`` (str or list, sent comma-separated),
        ``search_term``. A non-Enterprise organization raises ``Forbidden`` with
        ``upgrade_required=True``.
        """
        params: dict[str, Any] = {
            "organization": self._org_uri(org_uri),
            "count": count,
            "sort": sort,
            "min_occurred_at": format_time(min_occurred_at),
            "max_occurred_at": format_time(max_occurred_at),
        }
        for name, value in filters.items():
            if isinstance(value, list | tuple | set | frozenset):
                value = ",".join(str(v) for v in value)
            params[name] = value
        return self.paginate("/activity_log_entries", params)

    def iter_scheduled_events(
        self,
        org_uri: str,
        min_start_time: datetime | str | None = None,
        max_start_time: datetime | str | None = None,
        count: int = 100,
        status: str | None = None,
        sort: str = "start_time:asc",
        user: str | None = None,
    ) -> Iterator[list[dict]]:
        """``GET /scheduled_events?organization=URI`` (admin or owner). Hosts are in each
        event's ``event_memberships[].user``. ``status`` is active, canceled or None (both)."""
        params = {
            "organization": self._org_uri(org_uri),
            "count": count,
            "sort": sort,
            "status": status,
            "user": user,
            "min_start_time": format_time(min_start_time),
            "max_start_time": format_time(max_start_time),
        }
        return self.paginate("/scheduled_events", params)

    def remove_membership(self, membership_uri_or_uuid: str) -> None:
        """``DELETE /organization_memberships/{membership uuid}`` (204). Needs an admin; the owner
        and the caller cannot be removed (403). The seat stays billed until the seat count drops
        in Calendly Billing."""
        self.delete(f"/organization_memberships/{uuid_from_uri(membership_uri_or_uuid)}")

    def revoke_invitation(self, invitation_uri: str) -> None:
        """``DELETE /organizations/{org uuid}/invitations/{uuid}`` (204). An accepted invitation
        gives 400, a SCIM organization 403."""
        parts = [p for p in urlsplit(invitation_uri).path.split("/") if p]
        try:
            i = parts.index("organizations")
            org_uuid, marker, invitation_uuid = parts[i + 1], parts[i + 2], parts[i + 3]
        except (ValueError, IndexError):
            marker = None
        if marker != "invitations":
            raise ValueError(
                "expected an invitation URI like"
                " https://api.calendly.com/organizations/ORG/invitations/UUID"
            )
        self.delete(f"/organizations/{org_uuid}/invitations/{invitation_uuid}")

    def _org_uri(self, org_uri_or_uuid: str) -> str:
        """Filters take the full organization URI; accept a bare UUID too."""
        if "/" in org_uri_or_uuid:
            return org_uri_or_uuid
        return f"{DEFAULT_API_URL}/organizations/{org_uri_or_uuid}"
