"""What a rule would produce, shown on the rule page before saving.

For the rule's own threshold and 30, 60, 90 and 120 days: how many new candidates it would
raise now, how many seats it flags in all (including seats that already have an open
candidate), how many of those are stale (low usage or never used: the dashboard's definition)
and their potential annual savings. One aggregate query grouped by software model
(costs come from the few entitlements, so they are multiplied in Python); nothing is created.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.db.models import Count, Q
from django.utils import timezone

from sam_saas.models import SoftwareSubscription
from sam_saas.money import Totals

from ..figures import STALE_KINDS, stale_differences
from ..models import ReclamationRule
from .flagging import activity_known, eligible_seats, has_open_candidate, justification_expression
from .seat_costs import entitlement_costs

THRESHOLDS = (30, 60, 90, 120)


@dataclass
class PreviewRow:
    days: int
    is_rule_threshold: bool
    candidates: int = 0
    seats: int = 0
    stale: int = 0  # of ``seats``, those flagged as low usage or never used
    totals: Totals = field(default_factory=Totals)

    @property
    def savings(self) -> dict[str, Decimal]:
        return self.totals.by_currency

    @property
    def unknown_cost(self) -> int:
        return self.totals.unknown

    @property
    def savings_display(self) -> str:
        return self.totals.amounts("0")


@dataclass
class Preview:
    rows: list[PreviewRow]
    activity_known: bool
    message: str = ""
    rule: ReclamationRule | None = None
    now: dt.datetime | None = None
    # Set when the figures are the stored ones (``stored_preview``): when they describe.
    computed_at: dt.datetime | None = None
    stored_comparison: object | None = None
    compared_at: dt.datetime | None = None

    @cached_property
    def comparison(self):
        """How the dashboard's stale seats of this profile compare with its open low-usage and
        never-used candidates, and why they differ (for the saved rule; read by the page
        only, so previewing costs no extra query). The dashboard's stored comparison when
        the preview is the stored one."""
        if self.stored_comparison is not None:
            return self.stored_comparison
        if self.rule is None or self.rule.profile_id is None:
            return None
        seats = (
            SoftwareSubscription.objects.counted()
            .stale(self.now)
            .filter(profile_id=self.rule.profile_id)
        )
        return stale_differences(seats, self.now, profile=self.rule.profile)


def preview(rule: ReclamationRule, now: dt.datetime | None = None) -> Preview:
    """Preview ``rule`` (saved or not) against its profile's current seats."""
    now = now or timezone.now()
    if rule.profile_id is None:
        return Preview(rows=[], activity_known=False, message="Choose a profile to preview.")
    if problem := rule.days_problem():
        return Preview(rows=[], activity_known=False, message=f"No preview: {problem}")
    with_activity = activity_known(rule.profile)
    days_list = sorted({rule.inactivity_days, *THRESHOLDS})
    rows = {d: PreviewRow(days=d, is_rule_threshold=d == rule.inactivity_days) for d in days_list}

    seats = eligible_seats(rule, now).alias(already_open=has_open_candidate())
    aggregates = {}
    for days in days_list:
        justification = justification_expression(
            rule, now, inactivity_days=days, with_activity=with_activity
        )
        if justification is None:
            continue
        seats = seats.alias(**{f"j{days}": justification})
        flagged = Q(**{f"j{days}__isnull": False})
        aggregates[f"seats_{days}"] = Count("pk", filter=flagged)
        aggregates[f"new_{days}"] = Count("pk", filter=flagged & Q(already_open=False))
        aggregates[f"stale_{days}"] = Count("pk", filter=Q(**{f"j{days}__in": STALE_KINDS}))

    if aggregates:
        costs = entitlement_costs(rule.profile_id, timezone.localdate(now))
        per_model = (
            seats.order_by()
            .values("software_model_id", "excluded_from_cost")
            .annotate(**aggregates)
        )
        for group in per_model:
            # A seat excluded from cost saves nothing (a known zero, not an unknown cost).
            excluded = group["excluded_from_cost"]
            cost = None if excluded else costs.get(group["software_model_id"])
            for days in days_list:
                flagged = group.get(f"seats_{days}") or 0
                row = rows[days]
                row.seats += flagged
                row.candidates += group.get(f"new_{days}") or 0
                row.stale += group.get(f"stale_{days}") or 0
                if not excluded:
                    row.totals.add_cost(cost, flagged)
    return Preview(
        rows=list(rows.values()),
        activity_known=with_activity,
        message=preview_message(with_activity),
        rule=rule,
        now=now,
    )


def preview_message(with_activity: bool) -> str:
    return (
        ""
        if with_activity
        else "No successful activity pull yet for this profile: only leavers and stale "
        "invitations are counted."
    )
