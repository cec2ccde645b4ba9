"""Download subscriptions: every membership and every pending invitation becomes a seat.

The download first collects the whole organization in memory (compact tuples, about 1 KB per
seat), and only then writes, in one transaction, a page of seats at a time. That is what makes
"a vendor failure halfway leaves the last good data untouched" true: nothing is written until
Calendly has answered every page. Seats missing from a *complete* download become ``removed``.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from sam_saas.connectors import ConnectorError
from sam_saas.models import (
    IntegrationProfile,
    JobRun,
    SoftwareSubscription,
    SubscriptionIdentifier,
)
from sam_saas.services import catalog, jobs
from sam_saas.services.connections import record_check
from sam_saas.services.rules import RuleEngine

from .client import CalendlyClient
from .connection import build_client, check_connection
from .constants import KNOWN_PLANS, PRODUCT, PROVIDER, PUBLISHER, identifier_for_plan
from .errors import InvalidRequest

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
    (Calendly / Calendly / edition, shown as "Calendly <edition>") created and mapped;
    an unknown one stays unrecognized."""
    edition = KNOWN_PLANS.get((plan or "").lower(), "")
    return catalog.identifier_with_model(
        PROVIDER, identifier_for_plan(plan), publisher=PUBLISHER, product=PRODUCT, edition=edition
    )


class SeatWriter:
    """Upserts seats batch by batch, inside the caller's transaction.

    Existing rows are read as plain tuples and compared with what they should be, so an
    unchanged seat costs no model instance and no write at all: the time of the complete
    listing is stored once, on the profile (``last_listed_at``), and is the "last seen" of
    every seat still held. A seat that vanishes keeps the time of the last listing that had
    it. The profile's stored seats are read once, as tuples, when the writer starts (about
    0.5 KB a seat)."""

    def __init__(self, profile: IntegrationProfile, plan: str, account_uri: str, now):
        self.profile = profile
        self.account_uri = account_uri
        self.now = now
        self.identifier = identifier_and_model(plan)
        self.engine = RuleEngine(profile, now)
        self.seen: set[str] = set()
        # The previous complete listing: the last time a seat that vanishes now was seen.
        self.previous_listing = (
            IntegrationProfile.objects.filter(pk=profile.pk)
            .values_list("last_listed_at", flat=True)
            .first()
        )
        self.existing = {
            row[0]: row[1:]
            for row in SoftwareSubscription.objects.filter(profile=profile)
            .values_list("external_seat_id", "pk", *COMPARED, *BY_HAND)
            .iterator(chunk_size=5000)
        }
        self.created = self.updated = 0

    def write(self, seats: list[Seat]) -> None:
        batch = []
        for seat in seats:
            if seat.seat_uri not in self.seen:  # a restarted listing repeats seats
                self.seen.add(seat.seat_uri)
                batch.append(seat)
        if batch:
            created, updated = self._write_batch(batch)
            self.created += created
            self.updated += updated

    def finish(self) -> tuple[int, int]:
        """After a complete download: seats not seen become removed. Returns (removed,
        unmatched)."""
        removed = self._mark_vanished()
        IntegrationProfile.objects.filter(pk=self.profile.pk).update(last_listed_at=self.now)
        held = SoftwareSubscription.objects.holding_seats().filter(profile=self.profile)
        unmatched = held.filter(person__isnull=True).count()
        return removed, unmatched

    def _write_batch(self, batch: list[Seat]) -> tuple[int, int]:
        now, identifier, engine = self.now, self.identifier, self.engine
        existing = self.existing
        # Rows are (pk, *COMPARED, *BY_HAND): a person or model set by hand is kept.
        person_at, model_at = (
            1 + COMPARED.index("person_id"),
            1 + COMPARED.index("software_model_id"),
        )
        manual = {}
        for seat in batch:
            row = existing.get(seat.seat_uri)
            if row is not None:
                manual[seat.seat_uri] = (
                    (row[person_at],) if row[-2] is not None else None,
                    (row[model_at],) if row[-1] is not None else None,
                )
        engine.prefetch(
            (s.email for s in batch),
            person_ids=[m[0][0] for m in manual.values() if m[0] is not None],
        )
        new, dirty = [], []
        for seat in batch:
            manual_person, manual_model = manual.get(seat.seat_uri, (None, None))
            verdict = engine.judge(
                seat.email,
                seat.role,
                identifier.value,
                protection_reason(seat.role, seat.user_uri, self.account_uri),
                by_hand=manual_person is not None,
                person_id=manual_person[0] if manual_person else None,
            )
            person_id = verdict.person.id if verdict.person else None
            wanted = (
                seat.email,
                seat.name,
                seat.user_uri,
                seat.kind,
                seat.role,
                Status.ACTIVE if seat.kind == Kind.MEMBER else Status.PENDING,
                seat.created_at,
                identifier.pk,
                manual_model[0] if manual_model is not None else identifier.software_model_id,
                person_id,
                verdict.excluded_from_cost,
                verdict.cost_exclusion_reason,
                verdict.excluded_from_reclamation,
                verdict.reclamation_exclusion_reason,
            )
            row = existing.get(seat.seat_uri)
            if row is None:
                new.append((self.profile.pk, seat.seat_uri, now, now, now, "", "", *wanted))
            elif row[1 : 1 + len(COMPARED)] != wanted:
                dirty.append(
                    SoftwareSubscription(
                        pk=row[0],
                        updated_at=now,
                        last_seen_at=now,
                        **dict(zip(COMPARED, wanted, strict=True)),
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

    def _mark_vanished(self) -> int:
        status_at = 1 + COMPARED.index("status")  # rows are (pk, *COMPARED)
        gone = [
            row[0]
            for uri, row in self.existing.items()
            if uri not in self.seen and row[status_at] in SoftwareSubscription.HOLDING
        ]
        removed = 0
        changes = {"status": Status.REMOVED, "updated_at": self.now}
        if self.previous_listing is not None:
            changes["last_seen_at"] = self.previous_listing
        for start in range(0, len(gone), 1000):
            removed += (
                SoftwareSubscription.objects.holding_seats()
                .filter(pk__in=gone[start : start + 1000])
                .update(**changes)
            )
        return removed


class Downloader:
    """Streams every page of members and pending invitations into a writer.

    All seat writes happen in one transaction that commits only after the last page, so a
    failure part-way leaves the last good data untouched. On PostgreSQL outside a transaction
    (a worker, a command) the writer runs in its own thread and connection: database work
    overlaps the wait for Calendly, and progress and refreshed tokens, written on this
    thread's connection, are committed at once. Elsewhere the seats are buffered and written
    at the end."""

    def __init__(self, profile: IntegrationProfile, run: JobRun, client: CalendlyClient):
        self.profile = profile
        self.run = run
        self.client = client
        self._reported_at = 0.0

    def _stream(self, writer, label: str, pages_factory, convert) -> None:
        """Send one listing to the writer. A stale page token restarts the listing (Calendly's
        tokens are short-lived); the writer skips seats it already has."""
        for attempt in range(MAX_LISTING_RESTARTS + 1):
            buffer: list[Seat] = []
            listed = 0
            try:
                for page in pages_factory():
                    buffer.extend(convert(item) for item in page)
                    listed += len(page)
                    if len(buffer) >= WRITE_BATCH:
                        writer.write(buffer)
                        buffer = []
                    self.run.fetched = self._fetched_before + listed
                    self._maybe_report(f"Fetched {listed:,} {label} so far")
                if buffer:
                    writer.write(buffer)
                self._fetched_before += listed
                return
            except InvalidRequest as exc:
                if not exc.stale_page_token or attempt == MAX_LISTING_RESTARTS:
                    raise
                logger.warning("stale page token while listing %s; restarting", label)

    def _maybe_report(self, message: str) -> None:
        now = time.monotonic()
        if now - self._reported_at >= PROGRESS_EVERY_SECONDS:
            self._reported_at = now
            # The total is unknown until the last page: approach 95% and finish at the end.
            jobs.report_progress(self.run, min(95, 5 + self.run.fetched // 200), message)

    def run_download(self) -> None:
        check = check_connection(self.client, self.profile.alias)
        record_check(self.profile, check, self.run)
        org_uri = check.organization_uri
        self._fetched_before = 0
        now = timezone.now()

        def make_writer():
            return SeatWriter(self.profile, check.plan, check.account, now)

        threaded = connection.vendor == "postgresql" and not connection.in_atomic_block
        writer = ThreadedWriter(make_writer) if threaded else InlineWriter(make_writer)
        try:
            self._stream(
                writer,
                "members",
                lambda: self.client.iter_memberships(org_uri),
                seat_from_membership,
            )
            if self._fetched_before == 0:
                raise ConnectorError(
                    "Calendly listed no members at all; refusing to mark every seat removed.",
                    hint="Check that the token belongs to the right organization, then refresh.",
                )
            self._stream(
                writer,
                "pending invitations",
                lambda: self.client.iter_invitations(org_uri, status="pending"),
                seat_from_invitation,
            )
        except BaseException:
            writer.abort()
            raise
        result = writer.finish()
        self.run.created, self.run.updated = result.created, result.updated
        self.run.removed, self.run.unmatched = result.removed, result.unmatched
        self.run.fetched = self._fetched_before


@dataclass
class WriteResult:
    created: int
    updated: int
    removed: int
    unmatched: int


def _finish(writer: SeatWriter) -> WriteResult:
    removed, unmatched = writer.finish()
    return WriteResult(writer.created, writer.updated, removed, unmatched)


class InlineWriter:
    """The writer on the calling thread (SQLite, or a caller already in a transaction).

    Seats are buffered and written in one atomic block only when the listing is complete, so
    nothing else the download commits meanwhile, a refreshed single-use token above all,
    shares the fate of a failed listing."""

    def __init__(self, factory):
        self._factory = factory
        self._batches: list[list[Seat]] = []

    def write(self, seats: list[Seat]) -> None:
        self._batches.append(seats)

    def finish(self) -> WriteResult:
        with transaction.atomic():
            writer = self._factory()
            for batch in self._batches:
                writer.write(batch)
            self._batches = []
            return _finish(writer)

    def abort(self) -> None:
        self._batches = []


class _Aborted(Exception):
    pass


_FINISH = object()
_ABORT = object()


class ThreadedWriter:
    """The writer on its own thread and database connection, fed through a bounded queue
    (so a slow database slows the fetch down instead of filling memory)."""

    def __init__(self, factory):
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._result: WriteResult | None = None
        self._thread = threading.Thread(
            target=self._run, args=(factory,), name="calendly-seat-writer", daemon=True
        )
        self._thread.start()

    def _run(self, factory) -> None:
        try:
            with transaction.atomic():
                writer = factory()
                while True:
                    item = self._queue.get()
                    if item is _ABORT:
                        raise _Aborted
                    if item is _FINISH:
                        self._result = _finish(writer)
                        return
                    writer.write(item)
        except _Aborted:
            return
        except BaseException as exc:  # handed to the fetching thread
            self._error = exc
            while self._queue.get() not in (_FINISH, _ABORT):
                pass  # keep draining so the fetching thread never blocks on a full queue
        finally:
            connection.close()

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error

    def write(self, seats: list[Seat]) -> None:
        self._raise_if_failed()
        self._queue.put(seats)

    def finish(self) -> WriteResult:
        self._queue.put(_FINISH)
        self._thread.join()
        self._raise_if_failed()
        return self._result

    def abort(self) -> None:
        if self._thread.is_alive():
            self._queue.put(_ABORT)
            self._thread.join()


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
# Read with COMPARED: when a SAM manager set the person or the software model by hand.
BY_HAND = ("person_set_at", "software_model_set_at")
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
    with client:
        Downloader(profile, run, client).run_download()
