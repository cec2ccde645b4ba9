"""Licence position: rights purchased against seats in use, per software model and profile.

Computed in a fixed number of grouped queries whatever the number of seats (Ralph's used/free
counts in querysets): one over the entitlements in force, one over the seats, one over the
reclamation candidates, one for the rules' thresholds. Money is Decimal and is kept per
currency; amounts in different currencies are never added.

Scopes. The *all profiles* position of a software model counts every entitlement in force for
it and every seat in every profile: that is the contract's position. A profile's position
counts the entitlements assigned to that profile; when it has none but the model has shared
entitlements (no profile), it is "covered by a shared entitlement" and its shortfall is judged
in the all-profiles position.

Seats. Assigned: active members not excluded from cost. Pending: invitations not excluded from
cost (they hold seats). Stale: assigned seats with no activity for longer than the profile's
reclamation-rule threshold, or never active and older than it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.apps import apps
from django.db import models
from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThan
from django.utils import timezone

from ..models import Entitlement, LicencePositionSnapshot, SoftwareSubscription

Sub = SoftwareSubscription
PositionStatus = LicencePositionSnapshot.Status
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_STALE_DAYS = 60  # ReclamationRule.inactivity_days' default

# Last-activity buckets, shared by the dashboard chart, the subscription admin's "last activity"
# filter and the report FilterSet, so a bar's count and the list it links to always agree.
ACTIVITY_BUCKETS = (
    ("0-30", "0–30 days"),
    ("30-60", "30–60 days"),
    ("60-90", "60–90 days"),
    ("90-120", "90–120 days"),
    ("120+", "over 120 days"),
    ("never", "never active"),
)
STALE = "stale"
ACTIVITY_CHOICES = (*ACTIVITY_BUCKETS, (STALE, "stale (past the rule threshold)"))


def cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money_display(by_currency: dict[str, Decimal], empty: str = "0") -> str:
    """``1,200.00 EUR, 300.00 USD``: one amount per currency, never a sum across them."""
    parts = [f"{cents(a):,.2f} {c}".strip() for c, a in sorted(by_currency.items()) if c]
    return ", ".join(parts) or empty


def add_money(target: dict[str, Decimal], currency: str, amount: Decimal | None) -> None:
    if amount is None:
        return
    target[currency] = target.get(currency, ZERO) + amount


# -- seat conditions ----------------------------------------------------------------------------


def rule_thresholds() -> dict[int, int]:
    """Days of inactivity after which a seat is stale, per profile (its reclamation rule)."""
    if not apps.is_installed("reclamation"):
        return {}
    rule_model = apps.get_model("reclamation", "ReclamationRule")
    return dict(
        rule_model.objects.filter(profile__isnull=False).values_list(
            "profile_id", "inactivity_days"
        )
    )


def stale_cutoff(now: dt.datetime, thresholds: dict[int, int]):
    """The moment before which a seat's last activity makes it stale, per profile, as SQL."""
    default = Value(now - dt.timedelta(days=DEFAULT_STALE_DAYS), models.DateTimeField())
    special = {p: d for p, d in thresholds.items() if d != DEFAULT_STALE_DAYS}
    if not special:
        return default
    return Case(
        *[
            When(profile_id=p, then=Value(now - dt.timedelta(days=d), models.DateTimeField()))
            for p, d in sorted(special.items())
        ],
        default=default,
        output_field=models.DateTimeField(),
    )


def stale_q(now: dt.datetime, thresholds: dict[int, int] | None = None) -> Q:
    """Seats past their profile's threshold: last active before the cutoff, or never active
    and created (at the vendor, else first seen) before it."""
    cutoff = stale_cutoff(now, rule_thresholds() if thresholds is None else thresholds)
    created = Coalesce("external_created_at", "first_seen_at")
    return Q(last_activity_at__lt=cutoff) | (
        Q(last_activity_at__isnull=True) & Q(LessThan(created, cutoff))
    )


def activity_q(bucket: str, now: dt.datetime, thresholds: dict[int, int] | None = None) -> Q:
    """The condition of one last-activity bucket (see ``ACTIVITY_CHOICES``). The buckets
    do not overlap and, with "never", cover every seat."""
    if bucket == STALE:
        return stale_q(now, thresholds)
    if bucket == "never":
        return Q(last_activity_at__isnull=True)
    if bucket == "120+":
        return Q(last_activity_at__lt=now - dt.timedelta(days=120))
    low, high = (int(part) for part in bucket.split("-"))
    condition = Q(last_activity_at__gte=now - dt.timedelta(days=high))
    if low:
        condition &= Q(last_activity_at__lt=now - dt.timedelta(days=low))
    return condition


ASSIGNED_Q = Q(status=Sub.Status.ACTIVE, excluded_from_cost=False)
PENDING_Q = Q(status=Sub.Status.PENDING, excluded_from_cost=False)


# -- the computation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cost:
    """The annual cost of one seat, in one currency."""

    annual: Decimal
    currency: str


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
        monthly = self.period == Entitlement.Period.MONTHLY
        return self.unit_cost * 12 if monthly else self.unit_cost

    @property
    def annual_cost(self) -> Decimal:
        return self.annual_unit_cost * self.purchased_rights

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
class CandidateTotals:
    """Open candidates (potential savings) and candidates closed complete this year (freed
    seats). Amounts per currency; candidates of unknown cost are counted apart."""

    open: int = 0
    open_in_use: int = 0
    potential: dict[str, Decimal] = field(default_factory=dict)
    unknown: int = 0
    freed: int = 0
    freed_value: dict[str, Decimal] = field(default_factory=dict)
    freed_unknown: int = 0

    def add(self, other: CandidateTotals) -> None:
        self.open += other.open
        self.open_in_use += other.open_in_use
        self.unknown += other.unknown
        self.freed += other.freed
        self.freed_unknown += other.freed_unknown
        for currency, amount in other.potential.items():
            add_money(self.potential, currency, amount)
        for currency, amount in other.freed_value.items():
            add_money(self.freed_value, currency, amount)


@dataclass
class Position:
    """The licence position of one software model, across all profiles (``profile_id`` None)
    or in one profile."""

    software_model_id: int
    profile_id: int | None
    entitlements: list[EntitlementRow] = field(default_factory=list)
    shared_entitlements: bool = False
    seats: SeatCounts = field(default_factory=SeatCounts)
    candidates: CandidateTotals = field(default_factory=CandidateTotals)

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
    def unit(self) -> Cost | None:
        """The price of one more (or one fewer) seat: the latest entitlement's annual unit
        cost. None when no entitlement gives one."""
        return self.entitlements[0].cost if self.entitlements else None

    @property
    def spend(self) -> dict[str, Decimal]:
        amounts: dict[str, Decimal] = {}
        for entitlement in self.entitlements:
            add_money(amounts, entitlement.currency, entitlement.annual_cost)
        return amounts

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
        unit = self.unit
        if unit is None:
            return None if self.shortfall else Cost(ZERO, "")
        return Cost(unit.annual * self.shortfall, unit.currency)

    @property
    def over_licensed_cost(self) -> Cost:
        unit = self.unit
        if unit is None:
            return Cost(ZERO, "")
        return Cost(unit.annual * self.available, unit.currency)

    def currencies(self) -> list[str]:
        found = set(self.spend) | set(self.candidates.potential) | set(self.candidates.freed_value)
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
                    potential_savings=self.candidates.potential.get(currency, ZERO),
                    savings_unknown=self.candidates.unknown,
                    freed_seats_ytd=self.candidates.freed,
                    freed_value_ytd=self.candidates.freed_value.get(currency, ZERO),
                )
            )
        return rows


@dataclass
class Positions:
    """Everything the position, the right-sizing and the dashboard need, from four queries."""

    on: dt.date
    now: dt.datetime
    year_start: dt.datetime
    thresholds: dict[int, int]
    entitlements: list[EntitlementRow]
    positions: list[Position]
    seats_by_profile: dict[int, SeatCounts]
    candidates_total: CandidateTotals
    candidates_by_profile: dict[int | None, CandidateTotals]

    @property
    def overall(self) -> list[Position]:
        """The all-profiles position of every software model."""
        return [p for p in self.positions if p.profile_id is None]

    @property
    def per_profile(self) -> list[Position]:
        return [p for p in self.positions if p.profile_id is not None]

    def get(self, software_model_id: int, profile_id: int | None = None) -> Position | None:
        for position in self.positions:
            if (position.software_model_id, position.profile_id) == (software_model_id, profile_id):
                return position
        return None

    def annual_spend(self) -> dict[str, Decimal]:
        total: dict[str, Decimal] = {}
        for entitlement in self.entitlements:
            add_money(total, entitlement.currency, entitlement.annual_cost)
        return total

    def snapshot_rows(self) -> list[LicencePositionSnapshot]:
        return [row for position in self.positions for row in position.snapshot_rows(self.on)]


def year_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


def _entitlements(on: dt.date) -> list[EntitlementRow]:
    names = [f.name for f in EntitlementRow.__dataclass_fields__.values()]
    rows = (
        Entitlement.objects.in_force(on)
        .order_by("software_model_id", "-start_date", "-pk")
        .values_list(*names)
    )
    return [EntitlementRow(*row) for row in rows]


def _seat_counts(now: dt.datetime, thresholds: dict[int, int]) -> dict[tuple, SeatCounts]:
    """One grouped query over the seats held (members and pending invitations)."""
    bucket_counts = {
        f"bucket_{i}": Count("pk", filter=Q(status=Sub.Status.ACTIVE) & activity_q(b, now))
        for i, (b, _) in enumerate(ACTIVITY_BUCKETS)
    }
    rows = (
        Sub.objects.filter(status__in=[Sub.Status.ACTIVE, Sub.Status.PENDING])
        .order_by()
        .values("software_model_id", "profile_id")
        .annotate(
            assigned=Count("pk", filter=ASSIGNED_Q),
            pending=Count("pk", filter=PENDING_Q),
            excluded=Count("pk", filter=Q(excluded_from_cost=True)),
            stale=Count("pk", filter=ASSIGNED_Q & stale_q(now, thresholds)),
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


def _candidate_totals(since: dt.datetime) -> dict[tuple, CandidateTotals]:
    """One grouped query over open candidates and candidates closed complete since
    ``since``, by software model, profile, currency and whether the cost is known."""
    if not apps.is_installed("reclamation"):
        return {}
    from reclamation.models import CLOSED_STATES, OPEN_STATES, ReclamationCandidate

    complete = CLOSED_STATES[0]
    is_open = Q(state__in=OPEN_STATES)
    is_freed = Q(state=complete)
    in_use = Q(
        subscription__status__in=[Sub.Status.ACTIVE, Sub.Status.PENDING],
        subscription__excluded_from_cost=False,
    )
    rows = (
        ReclamationCandidate.objects.filter(is_open | Q(is_freed, closed_at__gte=since))
        .order_by()
        .values("subscription__software_model_id", "profile_id", "currency", "savings_known")
        .annotate(
            open=Count("pk", filter=is_open),
            open_in_use=Count("pk", filter=is_open & in_use),
            potential=Sum("potential_savings", filter=is_open),
            freed=Count("pk", filter=is_freed),
            freed_value=Sum("potential_savings", filter=is_freed),
        )
    )
    totals: dict[tuple, CandidateTotals] = defaultdict(CandidateTotals)
    for row in rows:
        key = (row["subscription__software_model_id"], row["profile_id"])
        part = CandidateTotals(open=row["open"], open_in_use=row["open_in_use"], freed=row["freed"])
        if row["savings_known"]:
            currency = row["currency"] or ""
            if row["open"]:
                add_money(part.potential, currency, row["potential"] or ZERO)
            if row["freed"]:
                add_money(part.freed_value, currency, row["freed_value"] or ZERO)
        else:
            part.unknown, part.freed_unknown = row["open"], row["freed"]
        totals[key].add(part)
    return dict(totals)


def compute(on: dt.date | None = None, now: dt.datetime | None = None) -> Positions:
    """The licence position of every software model (all profiles) and of every software
    model in every profile that has seats, entitlements or candidates for it."""
    now = now or timezone.now()
    on = on or timezone.localdate(now)
    since = year_start(now)
    thresholds = rule_thresholds()
    entitlements = _entitlements(on)
    seats = _seat_counts(now, thresholds)
    candidates = _candidate_totals(since)

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
    candidates_total = CandidateTotals()
    candidates_by_profile: dict[int | None, CandidateTotals] = defaultdict(CandidateTotals)
    for (_, profile_id), totals in candidates.items():
        candidates_total.add(totals)
        candidates_by_profile[profile_id].add(totals)

    positions: list[Position] = []
    model_ids = {m for m, _ in [*seats, *candidates] if m is not None} | set(by_model)
    for model_id in sorted(model_ids):
        model_entitlements = by_model.get(model_id, [])
        shared = any(e.profile_id is None for e in model_entitlements)
        overall = Position(model_id, None, list(model_entitlements))
        positions.append(overall)
        for profile_id in sorted(profiles_of[model_id]):
            position = Position(
                model_id,
                profile_id,
                [e for e in model_entitlements if e.profile_id == profile_id],
                shared_entitlements=shared,
                seats=seats.get((model_id, profile_id), SeatCounts()),
                candidates=candidates.get((model_id, profile_id), CandidateTotals()),
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
