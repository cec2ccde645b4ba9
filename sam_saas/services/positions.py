"""Licence position: rights purchased against seats in use, per software model and profile,
and reconciliation, which stores it as dated snapshots.

Computed in a fixed number of grouped queries whatever the number of seats (used/free counts
in querysets, as Ralph, the open-source Django asset manager by Allegro, does): one over the entitlements in force, one
over the seats, one over the savings figures an app registers (reclamation: its candidates),
one for the stale thresholds. Money goes through :mod:`sam_saas.money`: one price per seat,
amounts per currency, never added across currencies.

Scopes. The *all profiles* position of a software model counts every entitlement in force for
it and every seat in every published profile: that is the contract's position. A profile's
position counts the entitlements assigned to that profile; when it has none but the model has
shared entitlements (no profile), it is "covered by a shared entitlement" and its shortfall is
judged in the all-profiles position. Draft profiles' seats count nowhere.

Seats. Assigned, pending and stale are the subscription queryset's definitions
(:meth:`~sam_saas.models.subscriptions.SubscriptionQuerySet.assigned`, ``pending_invitations``,
``stale``).

Reconciliation (the RECONCILE job: weekly beat, "Reconcile now" on the entitlements and
positions lists, ``manage.py refresh --process reconcile``) runs :func:`run_reconcile_job`.
Running it twice on one day replaces that day's snapshot, so a re-run after fixing an
entitlement corrects the trend instead of doubling it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .. import extensions, money
from ..extensions import StaleThresholds
from ..models import (
    Entitlement,
    IntegrationProfile,
    JobRun,
    LicencePositionSnapshot,
    SoftwareSubscription,
)
from ..models.subscriptions import ACTIVITY_BUCKETS, activity_q, assigned_q, pending_q, stale_q
from ..money import ZERO, Cost, Totals
from . import jobs

Sub = SoftwareSubscription
PositionStatus = LicencePositionSnapshot.Status


# -- the computation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EntitlementRow:
    pk: int
    software_model_id: int
    profile_id: int | None
    purchased_rights: int
    unit_cost: Decimal
    currency: str
    period: str
    start_date: dt.date
    end_date: dt.date | None
    cost_center: str
    contract_reference: str

    @property
    def annual_unit_cost(self) -> Decimal:
        return money.annual_unit_cost(self.unit_cost, self.period)

    @property
    def annual_cost(self) -> Decimal:
        return money.annual_cost(self.unit_cost, self.period, self.purchased_rights)

    @property
    def cost(self) -> Cost:
        return Cost(self.annual_unit_cost, self.currency)


@dataclass
class SeatCounts:
    assigned: int = 0
    pending: int = 0
    excluded: int = 0
    stale: int = 0
    without_user: int = 0
    buckets: dict[str, int] = field(default_factory=dict)

    def add(self, other: SeatCounts) -> None:
        self.assigned += other.assigned
        self.pending += other.pending
        self.excluded += other.excluded
        self.stale += other.stale
        self.without_user += other.without_user
        for bucket, count in other.buckets.items():
            self.buckets[bucket] = self.buckets.get(bucket, 0) + count


@dataclass
class SavingsTotals:
    """What reclaiming can save (open candidates) and has freed (seats reclaimed this year),
    as the app registered with :func:`sam_saas.extensions.register_savings_source` reports
    it. Amounts per currency; candidates of unknown cost are counted apart (``unknown``)."""

    open: int = 0
    open_in_use: int = 0
    potential: Totals = field(default_factory=Totals)
    freed: int = 0
    freed_value: Totals = field(default_factory=Totals)

    @property
    def unknown(self) -> int:
        return self.potential.unknown

    @property
    def freed_unknown(self) -> int:
        return self.freed_value.unknown

    def add(self, other: SavingsTotals) -> None:
        self.open += other.open
        self.open_in_use += other.open_in_use
        self.freed += other.freed
        self.potential.merge(other.potential)
        self.freed_value.merge(other.freed_value)


@dataclass
class Position:
    """The licence position of one software model, across all profiles (``profile_id`` None)
    or in one profile. ``unit`` is the price of one seat here (:func:`money.choose_price`)."""

    software_model_id: int
    profile_id: int | None
    entitlements: list[EntitlementRow] = field(default_factory=list)
    shared_entitlements: bool = False
    seats: SeatCounts = field(default_factory=SeatCounts)
    candidates: SavingsTotals = field(default_factory=SavingsTotals)
    unit: Cost | None = None

    @property
    def covered_by_shared(self) -> bool:
        return self.profile_id is not None and not self.entitlements and self.shared_entitlements

    @property
    def purchased(self) -> int:
        return sum(e.purchased_rights for e in self.entitlements)

    @property
    def in_use(self) -> int:
        return self.seats.assigned + self.seats.pending

    @property
    def available(self) -> int:
        return 0 if self.covered_by_shared else max(0, self.purchased - self.in_use)

    @property
    def shortfall(self) -> int:
        return 0 if self.covered_by_shared else max(0, self.in_use - self.purchased)

    @property
    def unused(self) -> int:
        """Seats paid for and not used: purchased but unassigned, plus assigned but stale."""
        return self.available + self.seats.stale

    @property
    def spend(self) -> dict[str, Decimal]:
        amounts = Totals()
        for entitlement in self.entitlements:
            amounts.add(entitlement.currency, entitlement.annual_cost)
        return amounts.by_currency

    @property
    def status(self) -> str:
        if self.covered_by_shared:
            return PositionStatus.SHARED
        if not self.entitlements:
            return PositionStatus.UNLICENSED
        if self.shortfall:
            return PositionStatus.UNDER_LICENSED
        if self.available:
            return PositionStatus.OVER_LICENSED
        return PositionStatus.COMPLIANT

    @property
    def status_label(self) -> str:
        return PositionStatus(self.status).label

    @property
    def shortfall_cost(self) -> Cost | None:
        """True-up cost per year (amount in ``.annual``); None when unknown (no unit cost)."""
        if self.unit is None:
            return None if self.shortfall else Cost(ZERO, "")
        return self.unit.times(self.shortfall)

    @property
    def over_licensed_cost(self) -> Cost:
        if self.unit is None:
            return Cost(ZERO, "")
        return self.unit.times(self.available)

    def currencies(self) -> list[str]:
        found = (
            set(self.spend)
            | set(self.candidates.potential.by_currency)
            | set(self.candidates.freed_value.by_currency)
        )
        if self.unit is not None:
            found.add(self.unit.currency)
        found.discard("")
        return sorted(found) or [""]

    def snapshot_rows(self, on: dt.date) -> list[LicencePositionSnapshot]:
        """One unsaved snapshot row per currency: the seat fields repeat, the money fields are
        the row's currency only."""
        unit, shortfall_cost, over_cost = self.unit, self.shortfall_cost, self.over_licensed_cost
        spend = self.spend
        rows = []
        for currency in self.currencies():
            rows.append(
                LicencePositionSnapshot(
                    date=on,
                    software_model_id=self.software_model_id,
                    profile_id=self.profile_id,
                    currency=currency,
                    status=self.status,
                    purchased=self.purchased,
                    assigned=self.seats.assigned,
                    pending=self.seats.pending,
                    excluded=self.seats.excluded,
                    available=self.available,
                    shortfall=self.shortfall,
                    shortfall_cost=(
                        None
                        if shortfall_cost is None
                        else (
                            shortfall_cost.annual if shortfall_cost.currency == currency else ZERO
                        )
                    ),
                    over_licensed_cost=over_cost.annual if over_cost.currency == currency else ZERO,
                    annual_unit_cost=unit.annual if unit and unit.currency == currency else None,
                    annual_spend=spend.get(currency, ZERO),
                    stale=self.seats.stale,
                    open_candidates=self.candidates.open,
                    potential_savings=self.candidates.potential.get(currency),
                    savings_unknown=self.candidates.unknown,
                    freed_seats_ytd=self.candidates.freed,
                    freed_value_ytd=self.candidates.freed_value.get(currency),
                )
            )
        return rows


@dataclass
class Positions:
    """Everything the position, the right-sizing and the dashboard need, from four queries."""

    on: dt.date
    now: dt.datetime
    year_start: dt.datetime
    thresholds: StaleThresholds | None
    entitlements: list[EntitlementRow]
    positions: list[Position]
    seats_by_profile: dict[int, SeatCounts]
    candidates_total: SavingsTotals
    candidates_by_profile: dict[int | None, SavingsTotals]

    @property
    def overall(self) -> list[Position]:
        """The all-profiles position of every software model."""
        return [p for p in self.positions if p.profile_id is None]

    @property
    def per_profile(self) -> list[Position]:
        return [p for p in self.positions if p.profile_id is not None]

    @property
    def stale(self) -> int:
        """Stale seats in all published profiles (the dashboard's figure)."""
        return sum(c.stale for c in self.seats_by_profile.values())

    def get(self, software_model_id: int, profile_id: int | None = None) -> Position | None:
        for position in self.positions:
            if (position.software_model_id, position.profile_id) == (software_model_id, profile_id):
                return position
        return None

    def annual_spend(self) -> dict[str, Decimal]:
        total = Totals()
        for entitlement in self.entitlements:
            total.add(entitlement.currency, entitlement.annual_cost)
        return total.by_currency

    def snapshot_rows(self) -> list[LicencePositionSnapshot]:
        return [row for position in self.positions for row in position.snapshot_rows(self.on)]


def year_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Scope:
    """What the dashboard's filters narrow the position to: one profile, and software
    models (chosen directly, or every model of a publisher). ``None`` means no limit. The
    entitlements shared by all profiles stay in a profile's scope: they cover it too."""

    profile_id: int | None = None
    software_model_ids: frozenset[int] | None = None

    @property
    def is_everything(self) -> bool:
        return self.profile_id is None and self.software_model_ids is None

    def seats(self, queryset):
        if self.profile_id is not None:
            queryset = queryset.filter(profile_id=self.profile_id)
        if self.software_model_ids is not None:
            queryset = queryset.filter(software_model_id__in=self.software_model_ids)
        return queryset

    def entitlements(self, queryset):
        if self.profile_id is not None:
            queryset = queryset.filter(Q(profile_id=self.profile_id) | Q(profile__isnull=True))
        if self.software_model_ids is not None:
            queryset = queryset.filter(software_model_id__in=self.software_model_ids)
        return queryset

    def profiles(self, queryset):
        return queryset if self.profile_id is None else queryset.filter(pk=self.profile_id)

    def keeps(self, software_model_id, profile_id) -> bool:
        if self.software_model_ids is not None and software_model_id not in self.software_model_ids:
            return False
        return self.profile_id is None or profile_id == self.profile_id


EVERYTHING = Scope()


def _entitlements(on: dt.date, scope: Scope = EVERYTHING) -> list[EntitlementRow]:
    names = [f.name for f in EntitlementRow.__dataclass_fields__.values()]
    rows = (
        scope.entitlements(Entitlement.objects.in_force(on))
        .order_by("software_model_id", "-start_date", "-pk")
        .values_list(*names)
    )
    return [EntitlementRow(*row) for row in rows]


def _seat_counts(
    now: dt.datetime, thresholds: StaleThresholds | None, scope: Scope = EVERYTHING
) -> dict[tuple, SeatCounts]:
    """One grouped query over the seats held (members and pending invitations) of published
    profiles."""
    bucket_counts = {
        f"bucket_{i}": Count("pk", filter=Q(status=Sub.Status.ACTIVE) & activity_q(b, now))
        for i, (b, _) in enumerate(ACTIVITY_BUCKETS)
    }
    rows = (
        scope.seats(Sub.objects.counted().holding_seats())
        .order_by()
        .values("software_model_id", "profile_id")
        .annotate(
            assigned=Count("pk", filter=assigned_q()),
            pending=Count("pk", filter=pending_q()),
            excluded=Count("pk", filter=Q(excluded_from_cost=True)),
            stale=Count("pk", filter=assigned_q() & stale_q(now, thresholds)),
            without_user=Count("pk", filter=Q(person__isnull=True)),
            **bucket_counts,
        )
    )
    counts = {}
    for row in rows:
        counts[(row["software_model_id"], row["profile_id"])] = SeatCounts(
            assigned=row["assigned"],
            pending=row["pending"],
            excluded=row["excluded"],
            stale=row["stale"],
            without_user=row["without_user"],
            buckets={b: row[f"bucket_{i}"] for i, (b, _) in enumerate(ACTIVITY_BUCKETS)},
        )
    return counts


def _savings(since: dt.datetime, scope: Scope = EVERYTHING) -> dict[tuple, SavingsTotals]:
    """The registered savings figures of published profiles (and of removed ones: profile
    None), by software model and profile."""
    source = extensions.registry.savings_source
    if source is None:
        return {}
    published = scope.profiles(
        IntegrationProfile.objects.filter(status=IntegrationProfile.Status.PUBLISHED)
    )
    found = source(since, published)
    if scope.is_everything:
        return found
    return {key: totals for key, totals in found.items() if scope.keeps(*key)}


def compute(
    on: dt.date | None = None, now: dt.datetime | None = None, scope: Scope = EVERYTHING
) -> Positions:
    """The licence position of every software model (all profiles) and of every software
    model in every published profile that has seats, entitlements or candidates for it;
    ``scope`` narrows it to one profile and/or some software models (the dashboard's
    filters), with the same definitions."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    since = year_start(now)
    thresholds = extensions.stale_thresholds()
    entitlements = _entitlements(on, scope)
    seats = _seat_counts(now, thresholds, scope)
    candidates = _savings(since, scope)

    by_model: dict[int, list[EntitlementRow]] = defaultdict(list)
    for entitlement in entitlements:
        by_model[entitlement.software_model_id].append(entitlement)
    profiles_of: dict[int, set[int]] = defaultdict(set)
    for model_id, profile_id in [*seats, *candidates]:
        if model_id is not None and profile_id is not None:
            profiles_of[model_id].add(profile_id)
    for entitlement in entitlements:
        if entitlement.profile_id is not None:
            profiles_of[entitlement.software_model_id].add(entitlement.profile_id)

    seats_by_profile: dict[int, SeatCounts] = defaultdict(SeatCounts)
    for (_, profile_id), counts in seats.items():
        seats_by_profile[profile_id].add(counts)
    candidates_total = SavingsTotals()
    candidates_by_profile: dict[int | None, SavingsTotals] = defaultdict(SavingsTotals)
    for (_, profile_id), totals in candidates.items():
        candidates_total.add(totals)
        candidates_by_profile[profile_id].add(totals)

    positions: list[Position] = []
    model_ids = {m for m, _ in [*seats, *candidates] if m is not None} | set(by_model)
    for model_id in sorted(model_ids):
        model_entitlements = by_model.get(model_id, [])
        shared = any(e.profile_id is None for e in model_entitlements)
        overall = Position(
            model_id,
            None,
            list(model_entitlements),
            unit=money.choose_price(model_entitlements, model_id, None),
        )
        positions.append(overall)
        for profile_id in sorted(profiles_of[model_id]):
            position = Position(
                model_id,
                profile_id,
                [e for e in model_entitlements if e.profile_id == profile_id],
                shared_entitlements=shared,
                seats=seats.get((model_id, profile_id), SeatCounts()),
                candidates=candidates.get((model_id, profile_id), SavingsTotals()),
                unit=money.choose_price(model_entitlements, model_id, profile_id),
            )
            positions.append(position)
            overall.seats.add(position.seats)
            overall.candidates.add(position.candidates)
        if (model_id, None) in candidates:  # candidates whose profile was removed
            overall.candidates.add(candidates[(model_id, None)])
    return Positions(
        on=on,
        now=now,
        year_start=since,
        thresholds=thresholds,
        entitlements=entitlements,
        positions=positions,
        seats_by_profile=dict(seats_by_profile),
        candidates_total=candidates_total,
        candidates_by_profile=dict(candidates_by_profile),
    )


# -- reconciliation -----------------------------------------------------------------------------


def reconcile(on: dt.date | None = None, now: dt.datetime | None = None) -> tuple[int, int]:
    """Store today's snapshot. Returns (rows written, rows replaced)."""
    result = compute(on=on, now=now)
    rows = result.snapshot_rows()
    with transaction.atomic():
        replaced, _ = LicencePositionSnapshot.objects.filter(date=result.on).delete()
        LicencePositionSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows), replaced


def run_reconcile_job(run: JobRun) -> None:
    jobs.report_progress(run, 10, "Computing the licence position")
    written, replaced = reconcile()
    run.created = written
    run.removed = replaced
    run.progress_message = f"{written} position row(s) stored for today"
    if replaced:
        run.progress_message += f", replacing {replaced} from an earlier run today"
