"""What reclamation adds to the core's dashboard, through :mod:`sam_saas.extensions`: the
potential-savings and freed-seats tiles, the potential-savings chart and the licence-position
columns (open candidates, potential savings, freed this year). Registered from
``ReclamationConfig.ready()``."""

from __future__ import annotations

from decimal import Decimal

from sam_saas import charts as svg
from sam_saas import extensions
from sam_saas.extensions import PositionColumn
from sam_saas.money import format_amount
from sam_saas.services.dashboard.charts import Chart
from sam_saas.services.dashboard.context import DashboardContext
from sam_saas.services.dashboard.tiles import Tile

from .models import OPEN_STATES, ReclamationCandidate, ReclamationRule

FREED_NOTE = (
    "Freed seats save money only once the purchased seat count is lowered, usually at renewal."
)
OPEN = ",".join(str(s) for s in OPEN_STATES)


def _candidates(context: DashboardContext, **params):
    return context.links.changelist("reclamation", "reclamationcandidate", **params)


def _candidates_rules(context: DashboardContext):
    params = {"active__exact": "1", "needs_review__exact": "1"}
    if context.scope.profile_id is not None:
        params["profile__id__exact"] = context.scope.profile_id
    return context.links.changelist("reclamation", "reclamationrule", **params)


def tiles(context: DashboardContext) -> list[Tile]:
    candidates = context.result.candidates_total
    detail = f"{candidates.open} open reclamation candidate(s) in published profiles"
    if candidates.unknown:
        detail += f", {candidates.unknown} of them of unknown cost"
    detail += "; a seat excluded from cost saves nothing."
    freed_value = candidates.freed_value.amounts("")
    freed_detail = freed_value
    if candidates.freed_unknown:
        freed_detail += f" (+ {candidates.freed_unknown} of unknown cost)"
    rules = ReclamationRule.objects.filter(active=True, needs_review=True)
    if context.scope.profile_id is not None:
        rules = rules.filter(profile_id=context.scope.profile_id)
    review = rules.count()
    return [
        Tile(
            "rules_review",
            "Rules needing review",
            str(review),
            "Active reclamation rules created automatically that no SAM manager has saved "
            "yet: check their threshold before approving their candidates.",
            _candidates_rules(context),
            "warn" if review else "ok",
        ),
        Tile(
            "potential",
            "Potential savings / year",
            candidates.potential.amounts("0").replace(", ", "\n"),
            detail,
            _candidates(context, state__in=OPEN),
        ),
        Tile(
            "freed",
            "Freed seats this year",
            str(candidates.freed),
            (f"Worth {freed_detail} a year. " if freed_detail else "") + FREED_NOTE,
            _candidates(
                context,
                state__exact=ReclamationCandidate.State.CLOSED_COMPLETE,
                closed_at__gte=context.result.year_start.isoformat(),
            ),
            "ok" if candidates.freed else "",
        ),
    ]


def charts(context: DashboardContext) -> list[Chart]:
    by_profile = context.result.candidates_by_profile
    currencies = sorted({c for t in by_profile.values() for c in t.potential.by_currency if c})
    found = []
    for currency in currencies or [""]:
        bars = []
        for profile_id in sorted(
            (p for p in by_profile if p is not None), key=lambda p: context.profile_names.get(p, "")
        ):
            totals = by_profile[profile_id]
            amount = totals.potential.get(currency) if currency else Decimal("0")
            label = format_amount(amount, currency)
            if totals.unknown:
                label += f" (+{totals.unknown} unknown)"
            bars.append(
                svg.Bar(
                    context.profile_name(profile_id),
                    amount,
                    _candidates(
                        context,
                        profile__id__exact=profile_id,
                        state__in=OPEN,
                        currency=currency or None,
                        savings_known="1" if currency else None,
                    ),
                    value_label=label,
                )
            )
        title = f"Potential savings by profile{f' ({currency})' if currency else ''}"
        found.append(
            Chart(
                f"savings-{currency or 'none'}",
                title,
                svg.bar_chart(title, bars, color=1, empty_text="No open reclamation candidates."),
                "Open reclamation candidates, annual unit cost. " + FREED_NOTE,
            )
        )
    return found


def open_candidates(row) -> str:
    return str(row.position.candidates.open) if row.position.candidates.open else "—"


def potential_savings(row) -> str:
    return row.position.candidates.potential.display("—")


def freed_this_year(row) -> str:
    candidates = row.position.candidates
    if not candidates.freed:
        return "—"
    text = f"{candidates.freed} · {candidates.freed_value.amounts('')}".rstrip(" ·")
    if candidates.freed_unknown:
        text += f" (+ {candidates.freed_unknown} of unknown cost)"
    return text


def register() -> None:
    extensions.register_tiles("reclamation", tiles, order=30)
    extensions.register_charts("reclamation", charts, order=30)
    for order, (key, header, value, help_text) in enumerate(
        [
            (
                "open_candidates",
                "Open candidates",
                open_candidates,
                "Reclamation candidates not closed yet, on seats of this model and profile.",
            ),
            (
                "potential_savings",
                "Potential savings / year",
                potential_savings,
                "The open candidates' annual unit cost (the same seat price as the true-up); "
                "a seat excluded from cost saves nothing.",
            ),
            (
                "freed",
                "Freed this year",
                freed_this_year,
                "Candidates closed complete since 1 January, and what their seats cost a year. "
                + FREED_NOTE,
            ),
        ]
    ):
        extensions.register_position_column(
            PositionColumn(key, header, value, order=10 + order, help_text=help_text)
        )
