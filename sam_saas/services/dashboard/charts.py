"""The dashboard's charts (server-rendered SVG, :mod:`sam_saas.charts`): the core's, then
those apps register (:func:`sam_saas.extensions.register_charts`), in order. Every bar links
to the list it counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.safestring import SafeString

from ... import charts as svg
from ... import extensions
from ...extensions import Contribution
from ...models.subscriptions import ACTIVITY_BUCKETS
from ...money import Totals, format_amount
from .context import DashboardContext

TREND_MODELS = 4


@dataclass
class Chart:
    key: str
    heading: str
    svg: SafeString
    note: str = ""


def activity_charts(context: DashboardContext) -> list[Chart]:
    result, links = context.result, context.links
    profiles = context.profiles()
    bucket_rows = []
    for profile_id in profiles:
        counts = result.seats_by_profile[profile_id].buckets
        bucket_rows.append(
            (
                context.profile_name(profile_id),
                [
                    svg.Segment(
                        label,
                        counts.get(bucket, 0),
                        links.subscriptions(
                            profile__id__exact=profile_id, status__exact="active", activity=bucket
                        ),
                        color=i,
                    )
                    for i, (bucket, label) in enumerate(ACTIVITY_BUCKETS)
                ],
            )
        )
    legend = [
        (label, links.subscriptions(status__exact="active", activity=bucket))
        for bucket, label in ACTIVITY_BUCKETS
    ]
    title = "Last activity of active seats, per profile"
    stale_title = "Stale seats by profile"
    return [
        Chart(
            "activity",
            title,
            svg.stacked_bar_chart(title, bucket_rows, legend),
            "Days since each member's last activity. Click a segment for the seats.",
        ),
        Chart(
            "stale",
            stale_title,
            svg.bar_chart(
                stale_title,
                [
                    svg.Bar(
                        context.profile_name(p),
                        result.seats_by_profile[p].stale,
                        links.stale_seats(profile__id__exact=p),
                        title=f"{context.profile_names.get(p, p)}: "
                        f"{result.seats_by_profile[p].stale} stale seat(s)",
                    )
                    for p in profiles
                ],
                color=3,
                empty_text="No stale seats.",
            ),
            "Assigned seats with no activity past the profile's reclamation-rule threshold.",
        ),
    ]


def spend_charts(context: DashboardContext) -> list[Chart]:
    spend_by: dict[str, Totals] = {}  # currency → amounts per cost center
    for entitlement in context.result.entitlements:
        spend_by.setdefault(entitlement.currency, Totals()).add(
            entitlement.cost_center, entitlement.annual_cost
        )
    found = []
    for currency, per_center in sorted(spend_by.items()) or [("", Totals())]:
        title = f"Annual spend by cost center{f' ({currency})' if currency else ''}"
        bars = [
            svg.Bar(
                center or "(no cost center)",
                amount,
                context.links.changelist(
                    "sam_saas", "entitlement", in_force="yes", cost_center=center, currency=currency
                ),
                value_label=format_amount(amount, currency),
            )
            for center, amount in sorted(per_center.by_currency.items(), key=lambda kv: -kv[1])
        ]
        found.append(
            Chart(
                f"spend-{currency or 'none'}",
                title,
                svg.bar_chart(title, bars, color=0, empty_text="No entitlement in force."),
                "Entitlements in force: rights × annual unit cost.",
            )
        )
    return found


def trend_charts(context: DashboardContext) -> list[Chart]:
    links, model_names = context.links, context.model_names
    by_model: dict[int, dict[dt.date, dict]] = {}
    for row in context.trend:
        by_model.setdefault(row["software_model_id"], {})[row["date"]] = row
    if not by_model:
        return [
            Chart(
                "trend",
                "Seats assigned against purchased over time",
                svg.line_chart("Seats assigned against purchased over time", [], []),
                "Drawn from the reconciliation snapshots; none stored yet (Reconcile now, on "
                "the entitlements or licence positions list).",
            )
        ]
    ranked = sorted(
        by_model,
        key=lambda m: (-max(r["purchased"] + r["assigned"] for r in by_model[m].values()), m),
    )
    found = []
    for model_id in ranked[:TREND_MODELS]:
        rows = by_model[model_id]
        dates = sorted(rows)
        name = model_names.get(model_id, f"Software model {model_id}")

        def href(day, model_id=model_id):
            return links.changelist(
                "sam_saas",
                "licencepositionsnapshot",
                date=day.isoformat(),
                software_model__id__exact=model_id,
                profile__isnull="True",
            )

        series = [
            svg.Series(
                "purchased",
                [
                    svg.Point(
                        rows[d]["purchased"], href(d), f"{d}: {rows[d]['purchased']} purchased"
                    )
                    for d in dates
                ],
            ),
            svg.Series(
                "assigned",
                [
                    svg.Point(
                        rows[d]["assigned"],
                        href(d),
                        f"{d}: {rows[d]['assigned']} assigned, {rows[d]['pending']} pending",
                    )
                    for d in dates
                ],
            ),
        ]
        title = f"{name}: seats assigned against purchased"
        found.append(
            Chart(
                f"trend-{model_id}",
                title,
                svg.line_chart(title, [d.isoformat() for d in dates], series),
                "From the reconciliation snapshots, all profiles.",
            )
        )
    return found


CORE = [
    Contribution("activity", 10, activity_charts),
    Contribution("spend", 50, spend_charts),
    Contribution("trend", 60, trend_charts),
]


def charts(context: DashboardContext) -> list[Chart]:
    contributions = sorted([*CORE, *extensions.registry.charts], key=lambda c: c.order)
    return [chart for contribution in contributions for chart in contribution.build(context)]
