"""The licence position's values: entitlements in force, seat counts, savings figures, the
position of one software model (all profiles or one profile) and the whole result.

Plain values, computed by :mod:`.compute` (live, or from the stored figures of
:mod:`sam_saas.services.figures`). Seat counts and savings totals travel to and from the
stored figures as JSON (``as_json`` / ``from_json``), so a stored figure is the live one,
written down.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone

from ... import money
from ...extensions import StaleThresholds
from ...models import LicencePositionSnapshot
from ...money import ZERO, Cost, Totals

PositionStatus = LicencePositionSnapshot.Status


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

    def as_json(self) -> dict:
        return {
            "assigned": self.assigned,
            "pending": self.pending,
            "excluded": self.excluded,
            "stale": self.stale,
            "without_user": self.without_user,
            "buckets": dict(self.buckets),
        }

    @classmethod
    def from_json(cls, data: dict) -> SeatCounts:
        return cls(**{**data, "buckets": dict(data.get("buckets", {}))})


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

    def as_json(self) -> dict:
        return {
            "open": self.open,
            "open_in_use": self.open_in_use,
            "potential": _totals_json(self.potential),
            "freed": self.freed,
            "freed_value": _totals_json(self.freed_value),
        }

    @classmethod
    def from_json(cls, data: dict) -> SavingsTotals:
        return cls(
            open=data["open"],
            open_in_use=data["open_in_use"],
            potential=_totals(data["potential"]),
            freed=data["freed"],
            freed_value=_totals(data["freed_value"]),
        )


def _totals_json(totals: Totals) -> dict:
    # Decimals as strings: JSON numbers would round them through float.
    return {
        "by_currency": {c: str(a) for c, a in totals.by_currency.items()},
        "unknown": totals.unknown,
    }


def _totals(data: dict) -> Totals:
    return Totals({c: Decimal(a) for c, a in data["by_currency"].items()}, data["unknown"])


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
    # When the stored figures were computed, per figure group (the oldest profile's); empty
    # when computed live (reconciliation, the catalog pages).
    computed_at: dict[str, dt.datetime | None] = field(default_factory=dict)

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
