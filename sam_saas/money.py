"""Money: the one module that prices a seat, totals amounts and formats them.

Every figure in a currency goes through here: a candidate's potential saving, the licence
position's true-up and over-licensed cost, annual spend, freed value, the rule preview and the
renewal advice. Three rules hold everywhere:

- **One price per seat.** :func:`choose_price` picks the entitlement that prices a seat of a
  software model in a profile: the profile's own entitlement in force wins over a shared one
  (no profile); among equals the latest start date, then the newest row. The candidate's
  saving (identification, rule preview) and the position's true-up use this same choice.
- **Per currency, never across.** :class:`Totals` keeps one amount per currency and counts the
  seats of unknown cost apart; amounts in different currencies are never added.
- **One format.** :func:`format_amount` and :meth:`Totals.display`: ``1,200.00 EUR``, to the
  cent, half up.

Decimal throughout; no float ever touches an amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Protocol

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONTHLY = "monthly"  # Entitlement.Period.MONTHLY; the model imports this module, not the reverse


def cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(CENT, rounding=ROUND_HALF_UP)


def annual_unit_cost(unit_cost: Decimal, period: str) -> Decimal:
    """Unit cost per year, so monthly and annual contracts compare."""
    return unit_cost * 12 if period == MONTHLY else unit_cost


def annual_cost(unit_cost: Decimal, period: str, seats: int) -> Decimal:
    """What ``seats`` seats cost a year (an entitlement's annual cost)."""
    return annual_unit_cost(unit_cost, period) * seats


def format_amount(amount: Decimal | None, currency: str, *, unknown: str = "unknown") -> str:
    """``1,200.00 EUR``; ``unknown`` when there is no amount."""
    if amount is None:
        return unknown
    return f"{cents(amount):,.2f} {currency}".strip()


@dataclass(frozen=True)
class Cost:
    """An amount per year in one currency: one seat's annual price, or a multiple of it."""

    annual: Decimal
    currency: str

    def times(self, seats: int) -> Cost:
        return Cost(self.annual * seats, self.currency)

    @property
    def display(self) -> str:
        return format_amount(self.annual, self.currency)


class Priced(Protocol):
    """What :func:`choose_price` reads from an entitlement (a model instance or a row)."""

    pk: int
    software_model_id: int
    profile_id: int | None
    unit_cost: Decimal
    period: str
    currency: str
    start_date: object


def _rank(entitlement: Priced, profile_id: int | None) -> tuple:
    if profile_id is not None and entitlement.profile_id == profile_id:
        scope = 0  # the profile's own contract
    elif entitlement.profile_id is None:
        scope = 1  # a shared contract
    else:
        scope = 2  # another profile's contract: prices only the all-profiles position
    return (scope, -entitlement.start_date.toordinal(), -entitlement.pk)


def choose_price(
    entitlements: Iterable[Priced], software_model_id: int | None, profile_id: int | None
) -> Cost | None:
    """The annual price of one seat of ``software_model_id`` in ``profile_id`` (None: the
    all-profiles position), from the entitlements in force; None when none prices it.

    A profile's seat is priced by that profile's entitlement, else by a shared one, never by
    another profile's. The all-profiles position prefers a shared entitlement, then any."""
    eligible = [
        e
        for e in entitlements
        if e.software_model_id == software_model_id
        and (profile_id is None or e.profile_id in (profile_id, None))
    ]
    if not eligible:
        return None
    best = min(eligible, key=lambda e: _rank(e, profile_id))
    return Cost(annual_unit_cost(best.unit_cost, best.period), best.currency)


def prices_by_model(entitlements: Iterable[Priced], profile_id: int | None) -> dict[int, Cost]:
    """:func:`choose_price` for every software model of ``entitlements`` at once."""
    entitlements = list(entitlements)
    models = {e.software_model_id for e in entitlements}
    found = {m: choose_price(entitlements, m, profile_id) for m in models}
    return {m: cost for m, cost in found.items() if cost is not None}


@dataclass
class Totals:
    """Amounts per currency, plus a count of the seats (or candidates) whose cost is unknown,
    which are never counted as zero."""

    by_currency: dict[str, Decimal] = field(default_factory=dict)
    unknown: int = 0

    def add(self, currency: str, amount: Decimal | None) -> None:
        if amount is None:
            return
        self.by_currency[currency] = self.by_currency.get(currency, ZERO) + amount

    def add_cost(self, cost: Cost | None, seats: int = 1) -> None:
        """``seats`` seats at ``cost`` each; of unknown cost when ``cost`` is None."""
        if cost is None:
            self.unknown += seats
        elif seats:
            self.add(cost.currency, cost.annual * seats)

    def merge(self, other: Totals) -> None:
        for currency, amount in other.by_currency.items():
            self.add(currency, amount)
        self.unknown += other.unknown

    def get(self, currency: str) -> Decimal:
        return self.by_currency.get(currency, ZERO)

    def currencies(self) -> list[str]:
        return sorted(self.by_currency)

    def __bool__(self) -> bool:
        return bool(self.by_currency) or bool(self.unknown)

    def amounts(self, empty: str = "0") -> str:
        """``1,200.00 EUR, 300.00 USD``: one amount per currency, never a sum across them."""
        parts = [format_amount(a, c) for c, a in sorted(self.by_currency.items()) if c]
        return ", ".join(parts) or empty

    def display(self, empty: str = "0", *, separator: str = ", ") -> str:
        """The amounts, then "(+ N seats of unknown cost)" when some are unknown."""
        text = self.amounts(empty).replace(", ", separator)
        if self.unknown:
            text += f" (+ {self.unknown} seat{'s' if self.unknown != 1 else ''} of unknown cost)"
        return text


def totals(by_currency: dict[str, Decimal]) -> Totals:
    return Totals(dict(by_currency))


def display(by_currency: dict[str, Decimal], empty: str = "0") -> str:
    """:meth:`Totals.amounts` of a plain currency → amount mapping."""
    return Totals(dict(by_currency)).amounts(empty)
