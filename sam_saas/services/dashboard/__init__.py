"""The overview dashboard: tiles, server-rendered SVG charts, the licence position and the
renewals to right-size.

A fixed number of queries whatever the data, none of them over every seat or candidate: the
seat counts, savings and stale-seat reasons are the figures the jobs stored
(:mod:`sam_saas.services.figures`, each group shown with its "computed at"), read with the
licence position (:func:`sam_saas.services.positions.compute` with ``stored=``); then one
query each for the software model names, the profiles, unrecognized identifiers, failed jobs
and the snapshot trend. Every tile and bar links to the changelist that lists exactly what it
counts, with the same conditions (the list counts live, the tile as of its "computed at").

Split by responsibility: :mod:`.tiles`, :mod:`.charts`, :mod:`.links`; the view lives in
:mod:`sam_saas.views`. Apps add tiles, charts and licence-position columns through
:mod:`sam_saas.extensions`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from ... import extensions, money
from ...models import (
    ConnectionAlias,
    IntegrationProfile,
    JobRun,
    LicencePositionSnapshot,
    SoftwareModel,
    SubscriptionIdentifier,
)
from ...money import format_amount
from .. import figures, rightsizing
from ..attention import needing_attention
from ..positions import EVERYTHING, Position, Scope, compute
from .charts import Chart, charts
from .context import DashboardContext
from .links import Links
from .tiles import Tile, tiles

__all__ = ["Chart", "Dashboard", "DashboardContext", "Links", "PositionRow", "Tile", "build"]

FREED_NOTE = (
    "Freed seats save money only once the purchased seat count is lowered, usually at renewal."
)
TREND_DAYS = 366


@dataclass
class PositionRow:
    """A software model's position across all profiles (``profile`` None), or in one
    profile (listed under it)."""

    position: Position
    name: str
    href: str | None
    positions_href: str | None
    profile: str | None = None

    @property
    def over_licensed(self) -> str:
        cost = self.position.over_licensed_cost
        return format_amount(cost.annual, cost.currency) if cost.annual else "—"

    @property
    def spend(self) -> str:
        return money.display(self.position.spend, "—")

    @property
    def true_up(self) -> str:
        cost = self.position.shortfall_cost
        if cost is None:
            return "unknown"
        return format_amount(cost.annual, cost.currency) if cost.annual else "—"

    @property
    def columns(self) -> list[str]:
        """The registered columns' values (open candidates, savings, freed this year)."""
        return [column.value(self) for column in extensions.registry.position_columns]


@dataclass
class RenewalRow:
    recommendation: rightsizing.Recommendation
    name: str


@dataclass
class Dashboard:
    generated_at: dt.datetime
    tiles: list[Tile]
    charts: list[Chart]
    positions: list[PositionRow]
    renewals: list[RenewalRow]
    headroom_percent: Decimal
    freed_note: str = FREED_NOTE
    has_data: bool = False
    links: dict[str, str | None] = field(default_factory=dict)
    position_columns: list = field(default_factory=list)
    # (figure group label, when its stored figures were computed: the oldest profile's).
    computed_at: list[tuple[str, dt.datetime]] = field(default_factory=list)


@dataclass
class StaleComparisonFigure:
    comparison: extensions.StaleComparison | None
    computed_at: dt.datetime | None


def stale_comparison(now: dt.datetime, scope: Scope, found=None) -> StaleComparisonFigure:
    """How the stale seats of the scope's published profiles compare with the open
    candidates of the matching kinds (stored per profile by the jobs, added up here); None
    when no app registers it or the scope names software models (the reasons are per
    profile)."""
    if scope.software_model_ids is not None:
        return StaleComparisonFigure(None, None)
    return StaleComparisonFigure(*figures.read_stale_comparison(scope, now, found))


def build(
    user, *, now: dt.datetime | None = None, headroom_percent=None, scope: Scope = EVERYTHING
) -> Dashboard:
    """``scope`` (the page's filters: profile, software models) narrows every figure, tile
    and chart with the same definitions; the position's own queries do the narrowing."""
    now = now or timezone.now()
    # The stored figures of every group in two queries, for the position and the comparison.
    found = figures.read([figures.SEATS, figures.SAVINGS, figures.STALE_REASONS], scope, now)
    result = compute(
        now=now, scope=scope, stored=lambda s, n: figures.position_figures(s, n, found)
    )
    comparison = stale_comparison(now, scope, found)
    links = Links(user)

    profiles = list(
        scope.profiles(IntegrationProfile.objects.order_by("name")).values_list(
            "pk", "name", "alias__connection_status"
        )
    )
    profile_names = {pk: name for pk, name, _ in profiles}
    reconnect = sum(
        1
        for *_, status in profiles
        if status == ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
    )
    attention = needing_attention(scope.profiles(IntegrationProfile.objects.all())).count()
    trend_rows = LicencePositionSnapshot.objects.filter(
        date__gte=result.on - dt.timedelta(days=TREND_DAYS)
    )
    if scope.profile_id is None:
        trend_rows = trend_rows.filter(profile__isnull=True)
    else:
        trend_rows = trend_rows.filter(profile_id=scope.profile_id)
    if scope.software_model_ids is not None:
        trend_rows = trend_rows.filter(software_model_id__in=scope.software_model_ids)
    trend = list(
        trend_rows.order_by()
        .values("date", "software_model_id")
        .annotate(purchased=Max("purchased"), assigned=Max("assigned"), pending=Max("pending"))
    )
    model_ids = {p.software_model_id for p in result.positions} | {
        r["software_model_id"] for r in trend
    }
    model_names = {
        m.pk: str(m)
        for m in SoftwareModel.objects.select_related("publisher").filter(pk__in=model_ids)
    }
    counts = {
        "unrecognized": SubscriptionIdentifier.objects.filter(software_model__isnull=True).count(),
        "failed_jobs": JobRun.objects.latest_failed(since=now - dt.timedelta(hours=24))
        .filter(**({"profile_id": scope.profile_id} if scope.profile_id else {}))
        .count(),
        "reconnect": reconnect,
        "attention": attention,
    }
    context = DashboardContext(
        result=result,
        links=links,
        now=now,
        profile_names=profile_names,
        model_names=model_names,
        counts=counts,
        trend=trend,
        stale_comparison=comparison.comparison,
        scope=scope,
    )
    headroom = (
        rightsizing.default_headroom() if headroom_percent is None else Decimal(headroom_percent)
    )
    renewals = rightsizing.recommendations(result, headroom_percent=headroom)
    rows = []
    for position in sorted(
        result.positions,
        key=lambda p: (
            model_names.get(p.software_model_id, ""),
            p.software_model_id,
            p.profile_id is not None,
            profile_names.get(p.profile_id, ""),
        ),
    ):
        model_id, profile_id = position.software_model_id, position.profile_id
        rows.append(
            PositionRow(
                position,
                model_names.get(model_id, f"Software model {model_id}"),
                links.subscriptions(
                    software_model__id__exact=model_id,
                    profile__id__exact=profile_id,
                    status__in="active,pending",
                ),
                links.changelist(
                    "sam_saas",
                    "licencepositionsnapshot",
                    software_model__id__exact=model_id,
                    **(
                        {"profile__id__exact": profile_id}
                        if profile_id
                        else {"profile__isnull": "True"}
                    ),
                ),
                profile_names.get(profile_id, f"Profile {profile_id}") if profile_id else None,
            )
        )
    return Dashboard(
        generated_at=now,
        tiles=tiles(context),
        charts=charts(context),
        positions=rows,
        renewals=[
            RenewalRow(
                r,
                model_names.get(r.entitlement.software_model_id, "")
                + (
                    f" · {profile_names.get(r.entitlement.profile_id, '')}"
                    if r.entitlement.profile_id
                    else " · all profiles"
                ),
            )
            for r in renewals
        ],
        headroom_percent=headroom,
        has_data=bool(result.positions or result.seats_by_profile or profiles),
        links={
            "entitlements": links.changelist("sam_saas", "entitlement"),
            "positions": links.changelist("sam_saas", "licencepositionsnapshot"),
            "reports": reverse("sam_reports:index"),
        },
        position_columns=list(extensions.registry.position_columns),
        computed_at=_computed_at(result, comparison),
    )


def _computed_at(result, comparison: StaleComparisonFigure) -> list[tuple[str, dt.datetime]]:
    labels = {group.key: group.label for group in figures.groups()}
    found = [
        (labels.get(k, k), when)
        for k, when in result.computed_at.items()
        if when and (k != figures.SAVINGS or extensions.registry.savings_source is not None)
    ]
    if comparison.computed_at is not None:
        found.append((labels[figures.STALE_REASONS], comparison.computed_at))
    return found
