"""Renewal right-sizing: how many seats to renew for each entitlement ending soon.

Recommended seats = (seats in use + pending invitations − open reclamation candidates among
them) plus a headroom (10 % by default), rounded up, minus the rights of the other entitlements
that still run after this one ends. The implied saving is (rights now − recommended) × annual
unit cost; a negative saving is the extra cost of renewing enough seats. (ServiceNow shows the
position; it does not recommend a renewal quantity.)"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from django.conf import settings

from ..money import format_amount
from .positions import EntitlementRow, Positions, compute

WINDOW_DAYS = 90


def default_headroom() -> Decimal:
    value = settings.SAM_SETTINGS["RIGHTSIZING_HEADROOM_PERCENT"]
    return Decimal(str(value))


@dataclass(frozen=True)
class Recommendation:
    entitlement: EntitlementRow
    in_use: int
    pending: int
    open_candidates: int
    continuing_rights: int
    headroom_percent: Decimal
    recommended: int
    on: dt.date

    @property
    def days_left(self) -> int:
        return (self.entitlement.end_date - self.on).days

    @property
    def purchased(self) -> int:
        return self.entitlement.purchased_rights

    @property
    def change(self) -> int:
        """Seats to drop (negative) or add (positive) at renewal."""
        return self.recommended - self.purchased

    @property
    def saving(self) -> Decimal:
        """Annual saving implied, in the entitlement's currency (negative: extra cost)."""
        return self.entitlement.cost.times(self.purchased - self.recommended).annual

    @property
    def currency(self) -> str:
        return self.entitlement.currency

    @property
    def saving_display(self) -> str:
        return format_amount(self.saving, self.currency)


def recommend_seats(
    in_use: int, open_candidates: int, headroom_percent: Decimal, continuing_rights: int = 0
) -> int:
    """The arithmetic on its own: need × (1 + headroom), rounded up, less what continues."""
    need = max(0, in_use - open_candidates)
    with_headroom = (Decimal(need) * (100 + headroom_percent) / 100).to_integral_value(
        rounding=ROUND_CEILING
    )
    return max(0, int(with_headroom) - continuing_rights)


def recommendations(
    result: Positions | None = None,
    *,
    headroom_percent: Decimal | None = None,
    window_days: int = WINDOW_DAYS,
) -> list[Recommendation]:
    """One recommendation per entitlement in force that ends within ``window_days``,
    soonest first. Uses the position already computed when given (no extra query)."""
    result = result or compute()
    headroom = default_headroom() if headroom_percent is None else Decimal(headroom_percent)
    horizon = result.on + dt.timedelta(days=window_days)
    found = []
    for entitlement in result.entitlements:
        if entitlement.end_date is None or entitlement.end_date > horizon:
            continue
        position = result.get(entitlement.software_model_id, entitlement.profile_id)
        seats_in_use = position.seats.assigned if position else 0
        pending = position.seats.pending if position else 0
        candidates = position.candidates.open_in_use if position else 0
        continuing = sum(
            other.purchased_rights
            for other in result.entitlements
            if other.pk != entitlement.pk
            and other.software_model_id == entitlement.software_model_id
            and (entitlement.profile_id is None or other.profile_id == entitlement.profile_id)
            and (other.end_date is None or other.end_date > entitlement.end_date)
        )
        found.append(
            Recommendation(
                entitlement=entitlement,
                in_use=seats_in_use,
                pending=pending,
                open_candidates=candidates,
                continuing_rights=continuing,
                headroom_percent=headroom,
                recommended=recommend_seats(
                    seats_in_use + pending, candidates, headroom, continuing
                ),
                on=result.on,
            )
        )
    return sorted(found, key=lambda r: (r.entitlement.end_date, r.entitlement.pk))
