"""Download subscriptions: every membership and every pending invitation becomes a seat.

The download first collects the whole organization in memory (compact tuples, about 1 KB per
seat), and only then writes, in one transaction, a page of seats at a time. That is what makes
"a vendor failure halfway leaves the last good data untouched" true: nothing is written until
Calendly has answered every page. Seats missing from a *complete* download become ``removed``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sam_saas.connectors import ConnectorError
from sam_saas.models import (
    IntegrationProfile,
    JobRun,
    Publisher,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
)
from sam_saas.services import jobs
from sam_saas.services.connections import record_check
from sam_saas.services.rules import RuleEngine

from .client import CalendlyClient
from .connection import as_connector_error, build_client, check_connection
from .constants import KNOWN_PLANS, PRODUCT, PROVIDER, PUBLISHER, identifier_for_plan
from .errors import CalendlyError, InvalidRequest

logger = logging.getLogger(__name__)

WRITE_BATCH = 500
# Progress is written to the job row at most this often, not once per page.
PROGRESS_EVERY_SECONDS = 1.0
MAX_LISTING_RESTARTS = 2
Kind = SoftwareSubscription.Kind
Status = SoftwareSubscription.Status

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


def _parse(value: str | None) -> dt.datetime | None:
    return parse_datetime(value) if value else None


# Reference: https://developer.calendly.com/api-docs/eaed2e61a6bc3-list-organization-memberships
def seat_from_membership(m: dict) -> Seat:
    user = m.get("user") or {}
    return Seat(
        seat_uri=m["uri"],
        email=user.get("email", ""),
        name=user.get("name", ""),
        user_uri=user.get("uri", ""),
        kind=Kind.MEMBER,
        role=m.get("role", ""),
        created_at=_parse(m.get("created_at")),
    )


# Reference: https://developer.calendly.com/api-docs/3a7ae2dc2d7f1-list-organization-invitations
def seat_from_invitation(i: dict) -> Seat:
    return Seat(
        seat_uri=i["uri"],
        email=i.get("email", ""),
        name="",
        user_uri="",
        kind=Kind.INVITATION,
        role="",
        created_at=_parse(i.get("created_at")),
    )


def protection_reason(role: str, user_uri: str, account_uri: str) -> str:
    if role == "owner":
        return OWNER_REASON
    if user_uri and account_uri and user_uri == account_uri:
        return SELF_REASON
    return ""


def identifier_and_model(plan: str) -> SubscriptionIdentifier:
    """The identifier for the organization's plan. A known plan gets its software model
    (Calendly / Calendly / edition) created and mapped; an unknown one stays unrecognized."""
    identifier, _ = SubscriptionIdentifier.objects.get_or_create(
        provider=PROVIDER, value=identifier_for_plan(plan)
    )
    edition = KNOWN_PLANS.get((plan or "").lower())
    if identifier.software_model_id is None and edition:
        publisher, _ = Publisher.objects.get_or_create(name=PUBLISHER)
        model, _ = SoftwareModel.objects.get_or_create(
            publisher=publisher, product=PRODUCT, edition=edition
        )
        identifier.map_to(model)
    return identifier


class Downloader:
    def __init__(self, profile: IntegrationProfile, run: JobRun, client: CalendlyClient):
        self.profile = profile
        self.run = run
        self.client = client
        self._reported_at = 0.0
        self._fetched_before = 0

    # -- fetch ------------------------------------------------------------------------------

    def _collect(self, label: str, pages_factory, convert) -> list[Seat]:
        """Fetch one listing completely. A stale page token restarts the listing: Calendly's
        tokens are short-lived, and a partial listing must never be taken for the whole."""
        for attempt in range(MAX_LISTING_RESTARTS + 1):
            seats: list[Seat] = []
            try:
                for page in pages_factory():
                    seats.extend(convert(item) for item in page)
                    self.run.fetched = self._fetched_before + len(seats)
                    self._maybe_report(f"Fetched {len(seats):,} {label} so far")
                return seats
            except InvalidRequest as exc:
                if not exc.stale_page_token or attempt == MAX_LISTING_RESTARTS:
                    raise
                logger.warning("stale page token while listing %s; restarting", label)
        raise AssertionError("unreachable")

    def _maybe_report(self, message: str) -> None:
        now = time.monotonic()
        if now - self._reported_at >= PROGRESS_EVERY_SECONDS:
            self._reported_at = now
            jobs.report_progress(self.run, self._progress(), message)

    def _progress(self) -> int:
        # The total is unknown until the last page: approach 80% and finish while writing.
        return min(79, 5 + self.run.fetched // 200)

    def fetch(self) -> tuple[str, str, list[Seat]]:
        check = check_connection(self.client, self.profile.alias)
        record_check(self.profile, check, self.run)
        org_uri = check.organization_uri
        self._fetched_before = 0
        members = self._collect(
            "members", lambda: self.client.iter_memberships(org_uri), seat_from_membership
        )
        self._fetched_before = len(members)
        invitations = self._collect(
            "pending invitations",
            lambda: self.client.iter_invitations(org_uri, status="pending"),
            seat_from_invitation,
        )
        return check.plan, check.account, members + invitations

    # -- write ------------------------------------------------------------------------------

    def write(self, plan: str, account_uri: str, seats: list[Seat]) -> None:
        now = timezone.now()
        identifier = identifier_and_model(plan)
        engine = RuleEngine(self.profile, now)
        created = updated = 0
        seen: set[str] = set()
        jobs.report_progress(self.run, 80, f"Saving {len(seats):,} seats")
        with transaction.atomic():
            for start in range(0, len(seats), WRITE_BATCH):
                batch = [s for s in seats[start : start + WRITE_BATCH] if s.seat_uri not in seen]
                seen.update(s.seat_uri for s in batch)
                c, u = self._write_batch(batch, identifier, engine, account_uri, now)
                created += c
                updated += u
            removed = self._mark_vanished(seen, now)
            SoftwareSubscription.objects.filter(
                profile=self.profile, status__in=[Status.ACTIVE, Status.PENDING]
            ).update(last_seen_at=now)
            unmatched = SoftwareSubscription.objects.filter(
                profile=self.profile,
                status__in=[Status.ACTIVE, Status.PENDING],
                person__isnull=True,
            ).count()
        self.run.created, self.run.updated = created, updated
        self.run.removed, self.run.unmatched = removed, unmatched
        self.run.fetched = len(seats)

    def _write_batch(self, batch, identifier, engine, account_uri, now) -> tuple[int, int]:
        """Upsert one batch. Existing rows are read as plain tuples and compared with what they
        should be, so an unchanged seat costs no model instance and no write."""
        existing = {
            row[0]: row[1:]
            for row in SoftwareSubscription.objects.filter(
                profile=self.profile, external_seat_id__in=[s.seat_uri for s in batch]
            ).values_list("external_seat_id", "pk", *COMPARED)
        }
        engine.prefetch(s.email for s in batch)
        new, dirty = [], []
        for seat in batch:
            verdict = engine.judge(
                seat.email,
                seat.role,
                identifier.value,
                protection_reason(seat.role, seat.user_uri, account_uri),
            )
            wanted = (
                seat.email,
                seat.name,
                seat.user_uri,
                seat.kind,
                seat.role,
                Status.ACTIVE if seat.kind == Kind.MEMBER else Status.PENDING,
                seat.created_at,
                identifier.pk,
                identifier.software_model_id,
                verdict.person.id if verdict.person else None,
                verdict.excluded_from_cost,
                verdict.cost_exclusion_reason,
                verdict.excluded_from_reclamation,
                verdict.reclamation_exclusion_reason,
            )
            row = existing.get(seat.seat_uri)
            if row is None:
                new.append((self.profile.pk, seat.seat_uri, now, now, now, "", "", *wanted))
            elif row[1:] != wanted:
                dirty.append(
                    SoftwareSubscription(
                        pk=row[0], updated_at=now, **dict(zip(COMPARED, wanted, strict=True))
                    )
                )
        if new:
            self._insert(new)
        if dirty:
            SoftwareSubscription.objects.bulk_update(dirty, UPDATED_FIELDS)
        return len(new), len(dirty)

    def _insert(self, rows: list[tuple]) -> None:
        """New seats. On PostgreSQL through COPY, which is several times faster than a
        multi-row INSERT for the first download of a large organization."""
        if connection.vendor == "postgresql":
            table = SoftwareSubscription._meta.db_table
            columns = ", ".join(connection.ops.quote_name(c) for c in INSERT_COLUMNS)
            with (
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    f"COPY {table} ({columns}) FROM STDIN"  # noqa: S608 - names from our model
                ) as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            SoftwareSubscription.objects.bulk_create(
                SoftwareSubscription(**dict(zip(INSERT_COLUMNS, row, strict=True))) for row in rows
            )

    def _mark_vanished(self, seen: set[str], now) -> int:
        holding = SoftwareSubscription.objects.filter(
            profile=self.profile, status__in=[Status.ACTIVE, Status.PENDING]
        ).values_list("pk", "external_seat_id")
        gone = [pk for pk, seat_uri in holding.iterator(chunk_size=5000) if seat_uri not in seen]
        removed = 0
        for start in range(0, len(gone), 1000):
            removed += SoftwareSubscription.objects.filter(
                pk__in=gone[start : start + 1000], status__in=[Status.ACTIVE, Status.PENDING]
            ).update(status=Status.REMOVED, updated_at=now)
        return removed


# The columns a download decides, in the order ``_write_batch`` builds them.
COMPARED = (
    "user_principal_name",
    "user_name",
    "external_user_id",
    "kind",
    "role",
    "status",
    "external_created_at",
    "identifier_id",
    "software_model_id",
    "person_id",
    "excluded_from_cost",
    "cost_exclusion_reason",
    "excluded_from_reclamation",
    "reclamation_exclusion_reason",
)
# New rows: the keys and timestamps, the activity text columns (empty), then COMPARED.
INSERT_COLUMNS = (
    "profile_id",
    "external_seat_id",
    "first_seen_at",
    "last_seen_at",
    "updated_at",
    "last_activity_source",
    "last_activity_evidence",
    *COMPARED,
)
UPDATED_FIELDS = [
    "user_principal_name",
    "user_name",
    "external_user_id",
    "kind",
    "role",
    "status",
    "external_created_at",
    "identifier",
    "software_model",
    "person",
    "excluded_from_cost",
    "cost_exclusion_reason",
    "excluded_from_reclamation",
    "reclamation_exclusion_reason",
    "updated_at",
]


def download_subscriptions(profile: IntegrationProfile, run: JobRun) -> None:
    """The connector's first process. Raises :class:`ConnectorError` with a hint on failure,
    after which no existing subscription has changed."""
    client = build_client(profile, stats=run)
    downloader = Downloader(profile, run, client)
    try:
        with client:
            plan, account_uri, seats = downloader.fetch()
    except CalendlyError as exc:
        raise as_connector_error(exc) from exc
    if not seats:
        raise ConnectorError(
            "Calendly listed no members at all; refusing to mark every seat removed.",
            hint="Check that the token belongs to the right organization, then refresh again.",
        )
    downloader.write(plan, account_uri, seats)
