"""The download's writes: seats upserted batch by batch inside the download's transaction,
compared with what is stored so that an unchanged seat costs neither a model instance nor a
write, and the seats a complete listing no longer has marked removed.

What a re-run costs is reading the stored seats and judging each listed one again (person,
exclusion rules). The stored seats are read as plain integers and strings: the vendor's
creation time as microseconds since the epoch, and "set by hand" as a flag, because loading
a timestamp through Django's PostgreSQL adapter costs about 25 µs a value in Python, which
was most of an unchanged re-run's work on the writer thread.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import BigIntegerField, BooleanField, ExpressionWrapper, Func, Q
from django.utils import timezone

from sam_saas.models import IntegrationProfile, SoftwareSubscription, SubscriptionIdentifier
from sam_saas.services import catalog
from sam_saas.services.rules import RuleEngine

from .constants import KNOWN_PLANS, PRODUCT, PROVIDER, PUBLISHER, identifier_for_plan
from .vendor_seats import Seat, protection_reason

Kind = SoftwareSubscription.Kind
Status = SoftwareSubscription.Status
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
PREFETCH_CHUNK = 10_000


def identifier_and_model(plan: str) -> SubscriptionIdentifier:
    """The identifier for the organization's plan. A known plan gets its software model
    (Calendly / Calendly / edition, shown as "Calendly <edition>") created and mapped;
    an unknown one stays unrecognized."""
    edition = KNOWN_PLANS.get((plan or "").lower(), "")
    return catalog.identifier_with_model(
        PROVIDER, identifier_for_plan(plan), publisher=PUBLISHER, product=PRODUCT, edition=edition
    )


class EpochMicroseconds(Func):
    """A timestamp with time zone as whole microseconds since 1970 (PostgreSQL's own
    precision, so the comparison is exact)."""

    output_field = BigIntegerField()
    template = "(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint"


def epoch_us(value: dt.datetime | None) -> int | None:
    """What :class:`EpochMicroseconds` reads for ``value`` (a naive time is in the current
    time zone, as Django stores it)."""
    if value is None:
        return None
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return (value - EPOCH) // MICROSECOND


def stored_seats(profile: IntegrationProfile) -> dict[str, tuple]:
    """The profile's seats by seat URI: ``(pk, *COMPARED, person by hand, model by hand)``,
    the creation time as :func:`epoch_us`."""
    seats = SoftwareSubscription.objects.filter(profile=profile).annotate(
        person_by_hand=ExpressionWrapper(Q(person_set_at__isnull=False), BooleanField()),
        model_by_hand=ExpressionWrapper(Q(software_model_set_at__isnull=False), BooleanField()),
    )
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        seats = seats.annotate(created_us=EpochMicroseconds("external_created_at"))
    columns = [
        "created_us" if name == "external_created_at" and on_postgresql else name
        for name in COMPARED
    ]
    rows = seats.values_list("external_seat_id", "pk", *columns, *BY_HAND).iterator(chunk_size=5000)
    if on_postgresql:
        return {row[0]: row[1:] for row in rows}
    at = 2 + CREATED_AT  # after the seat URI and the pk
    return {
        row[0]: (*row[1:at], epoch_us(row[at]), *row[at + 1 :])  # SQLite: small profiles
        for row in rows
    }


class SeatWriter:
    """Upserts seats batch by batch, inside the caller's transaction.

    Existing rows are read as plain tuples and compared with what they should be, so an
    unchanged seat costs no model instance and no write at all: the time of the complete
    listing is stored once, on the profile (``last_listed_at``), and is the "last seen" of
    every seat still held. A seat that vanishes keeps the time of the last listing that had
    it. The profile's stored seats are read once, as tuples, when the writer starts (about
    0.5 KB a seat)."""

    def __init__(
        self, profile: IntegrationProfile, plan: str, account_uri: str, now, mark_vanished=None
    ):
        self.profile = profile
        self.mark_vanished = mark_vanished or (lambda: True)
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
        self.existing = stored_seats(profile)
        # A re-run: the people of every stored seat looked up now, a few large queries
        # instead of one per batch (the batches then ask only about new e-mails).
        stored = [row[1] for row in self.existing.values()]
        for start in range(0, len(stored), PREFETCH_CHUNK):
            self.engine.prefetch(stored[start : start + PREFETCH_CHUNK])
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
        removed = self._mark_vanished() if self.mark_vanished() else 0
        IntegrationProfile.objects.filter(pk=self.profile.pk).update(last_listed_at=self.now)
        held = SoftwareSubscription.objects.holding_seats().filter(profile=self.profile)
        unmatched = held.filter(person__isnull=True).count()
        return removed, unmatched

    def _write_batch(self, batch: list[Seat]) -> tuple[int, int]:
        now, identifier, engine = self.now, self.identifier, self.engine
        existing, account_uri = self.existing, self.account_uri
        identifier_pk, identifier_value = identifier.pk, identifier.value
        plan_model = identifier.software_model_id
        # Rows are (pk, *COMPARED, person by hand, model by hand): a person or model set by
        # hand is kept.
        manual = {}
        for seat in batch:
            row = existing.get(seat.seat_uri)
            if row is not None and (row[-2] or row[-1]):
                manual[seat.seat_uri] = (
                    (row[PERSON_AT],) if row[-2] else None,
                    (row[MODEL_AT],) if row[-1] else None,
                )
        engine.prefetch(
            (s.email for s in batch),
            person_ids=[m[0][0] for m in manual.values() if m[0] is not None],
        )
        new, dirty = [], []
        judge, compared = engine.judge, slice(1, 1 + len(COMPARED))
        for seat in batch:
            manual_person, manual_model = manual.get(seat.seat_uri, (None, None))
            verdict = judge(
                seat.email,
                seat.role,
                identifier_value,
                protection_reason(seat.role, seat.user_uri, account_uri),
                by_hand=manual_person is not None,
                person_id=manual_person[0] if manual_person else None,
            )
            person = verdict.person
            wanted = (
                seat.email,
                seat.name,
                seat.user_uri,
                seat.kind,
                seat.role,
                Status.ACTIVE if seat.kind == Kind.MEMBER else Status.PENDING,
                epoch_us(seat.created_at),
                identifier_pk,
                manual_model[0] if manual_model is not None else plan_model,
                person.id if person else None,
                verdict.excluded_from_cost,
                verdict.cost_exclusion_reason,
                verdict.excluded_from_reclamation,
                verdict.reclamation_exclusion_reason,
            )
            row = existing.get(seat.seat_uri)
            if row is not None and row[compared] == wanted:
                continue  # unchanged: nothing to write
            values = (*wanted[:CREATED_AT], seat.created_at, *wanted[CREATED_AT + 1 :])
            if row is None:
                new.append((self.profile.pk, seat.seat_uri, now, now, now, "", "", *values))
            else:
                dirty.append(
                    SoftwareSubscription(
                        pk=row[0],
                        updated_at=now,
                        last_seen_at=now,
                        **dict(zip(COMPARED, values, strict=True)),
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
        gone = [
            row[0]
            for uri, row in self.existing.items()
            if uri not in self.seen and row[STATUS_AT] in SoftwareSubscription.HOLDING
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
# Read with COMPARED: whether a SAM manager set the person or the software model by hand.
BY_HAND = ("person_by_hand", "model_by_hand")
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
# What a changed seat's row is saved with: the compared columns (``bulk_update`` takes their
# attribute names, ``person_id`` as well as ``person``) and the time of the change.
UPDATED_FIELDS = [*COMPARED, "updated_at"]


# Positions in a stored row, which is (pk, *COMPARED, *BY_HAND).
CREATED_AT = COMPARED.index("external_created_at")  # in COMPARED
PERSON_AT = 1 + COMPARED.index("person_id")
MODEL_AT = 1 + COMPARED.index("software_model_id")
STATUS_AT = 1 + COMPARED.index("status")
