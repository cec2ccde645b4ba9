"""The overview dashboard: tiles, server-rendered SVG charts, the licence position and the
renewals to right-size.

A fixed number of queries whatever the data: the licence position's four grouped queries
(:func:`sam_saas.services.positions.compute`), then one each for the software model names, the
profiles, unrecognized identifiers, failed jobs and the snapshot trend. Every tile and bar
links to the changelist that lists exactly what it counts, with the same conditions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from .. import charts
from ..models import (
    ConnectionAlias,
    IntegrationProfile,
    JobRun,
    LicencePositionSnapshot,
    SoftwareModel,
    SubscriptionIdentifier,
)
from . import rightsizing
from .positions import (
    ACTIVITY_BUCKETS,
    STALE,
    Position,
    Positions,
    cents,
    compute,
    money_display,
)

FREED_NOTE = (
    "Freed seats save money only once the purchased seat count is lowered, usually at renewal."
)
TREND_DAYS = 366
TREND_MODELS = 4


@dataclass
class Tile:
    key: str
    label: str
    value: str  # amounts in several currencies: one per line, separated by "\n"
    detail: str = ""
    href: str | None = None
    tone: str = ""  # "", "warn" or "ok"

    @property
    def lines(self) -> list[str]:
        return self.value.split("\n")


@dataclass
class Chart:
    key: str
    heading: str
    svg: SafeString
    note: str = ""


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
        return f"{cents(cost.annual):,.2f} {cost.currency}".strip() if cost.annual else "—"

    @property
    def freed(self) -> str:
        candidates = self.position.candidates
        if not candidates.freed:
            return "—"
        text = f"{candidates.freed} · {money_display(candidates.freed_value, '')}".rstrip(" ·")
        if candidates.freed_unknown:
            text += f" (+ {candidates.freed_unknown} of unknown cost)"
        return text

    @property
    def spend(self) -> str:
        return money_display(self.position.spend, "—")

    @property
    def true_up(self) -> str:
        cost = self.position.shortfall_cost
        if cost is None:
            return "unknown"
        return f"{cents(cost.annual):,.2f} {cost.currency}".strip() if cost.annual else "—"

    @property
    def savings(self) -> str:
        candidates = self.position.candidates
        text = money_display(candidates.potential, "—")
        if candidates.unknown:
            text += f" (+ {candidates.unknown} of unknown cost)"
        return text


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


class Links:
    """Changelist URLs with filters, or None when the user may not view the model."""

    def __init__(self, user):
        self.user = user

    def changelist(self, app_label: str, model_name: str, **params) -> str | None:
        if not (
            self.user.has_perm(f"{app_label}.view_{model_name}")
            or self.user.has_perm(f"{app_label}.change_{model_name}")
        ):
            return None
        url = reverse(f"admin:{app_label}_{model_name}_changelist")
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{url}?{query}" if query else url

    def subscriptions(self, **params):
        return self.changelist("sam_saas", "softwaresubscription", **params)

    def candidates(self, **params):
        if not apps.is_installed("reclamation"):
            return None
        return self.changelist("reclamation", "reclamationcandidate", **params)


def _open_states() -> str:
    from reclamation.models import OPEN_STATES

    return ",".join(str(s) for s in OPEN_STATES)


def _percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{Decimal(part * 100) / Decimal(whole):.0f}%"


def _tiles(result: Positions, links: Links, counts: dict, now: dt.datetime) -> list[Tile]:
    overall = result.overall
    spend = result.annual_spend()
    stale_total = sum(c.stale for c in result.seats_by_profile.values())
    available = sum(p.available for p in overall)
    capacity = sum(max(p.purchased, p.in_use) for p in overall)
    unused = available + sum(p.seats.stale for p in overall)
    candidates = result.candidates_total
    reclamation = apps.is_installed("reclamation")
    tiles = [
        Tile(
            "spend",
            "Current annual spend",
            money_display(spend, "0").replace(", ", "\n"),
            "Entitlements in force, per currency (never added across currencies).",
            links.changelist("sam_saas", "entitlement", in_force="yes"),
        ),
        Tile(
            "unused",
            "Seats unused",
            _percent(unused, capacity),
            f"{stale_total} stale seat(s) past the rule threshold and {available} purchased "
            "seat(s) unassigned.",
            links.subscriptions(
                activity=STALE, status__exact="active", excluded_from_cost__exact="0"
            ),
            "warn" if unused else "ok",
        ),
    ]
    if reclamation:
        potential = money_display(candidates.potential, "0").replace(", ", "\n")
        potential_detail = f"{candidates.open} open reclamation candidate(s)"
        if candidates.unknown:
            potential_detail += f", {candidates.unknown} of them of unknown cost"
        freed = f"{candidates.freed}"
        freed_detail = money_display(candidates.freed_value, "")
        if candidates.freed_unknown:
            freed_detail += f" (+ {candidates.freed_unknown} of unknown cost)"
        tiles += [
            Tile(
                "potential",
                "Potential savings / year",
                potential,
                potential_detail + ".",
                links.candidates(state__in=_open_states()),
            ),
            Tile(
                "freed",
                "Freed seats this year",
                freed,
                (f"Worth {freed_detail} a year. " if freed_detail else "") + FREED_NOTE,
                links.candidates(
                    state__exact="closed_complete",
                    closed_at__gte=result.year_start.isoformat(),
                ),
                "ok" if candidates.freed else "",
            ),
        ]
    without_user = sum(c.without_user for c in result.seats_by_profile.values())
    tiles += [
        Tile(
            "unrecognized",
            "Unrecognized identifiers",
            str(counts["unrecognized"]),
            "Map them to a software model so their seats count.",
            links.changelist("sam_saas", "subscriptionidentifier", recognized="no"),
            "warn" if counts["unrecognized"] else "ok",
        ),
        Tile(
            "without_user",
            "Subscriptions without user",
            str(without_user),
            "Seats whose e-mail matches no person.",
            links.subscriptions(has_user="no", status__in="active,pending"),
            "warn" if without_user else "ok",
        ),
        Tile(
            "failed_jobs",
            "Failed jobs (24 h)",
            str(counts["failed_jobs"]),
            "Job runs that failed in the last 24 hours.",
            links.changelist(
                "sam_saas",
                "jobrun",
                status__exact="failed",
                finished_at__gte=(now - dt.timedelta(hours=24)).isoformat(timespec="seconds"),
            ),
            "warn" if counts["failed_jobs"] else "ok",
        ),
        Tile(
            "reconnect",
            "Profiles needing reconnection",
            str(counts["reconnect"]),
            "Their connection alias asks to be connected again.",
            links.changelist(
                "sam_saas",
                "integrationprofile",
                alias__connection_status__exact=ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED,
            ),
            "warn" if counts["reconnect"] else "ok",
        ),
    ]
    return tiles


def _charts(
    result: Positions,
    links: Links,
    profile_names: dict[int, str],
    model_names: dict[int, str],
    trend: list[dict],
) -> list[Chart]:
    profiles = sorted(result.seats_by_profile, key=lambda p: profile_names.get(p, ""))
    bucket_rows = []
    for profile_id in profiles:
        counts = result.seats_by_profile[profile_id].buckets
        bucket_rows.append(
            (
                profile_names.get(profile_id, f"Profile {profile_id}"),
                [
                    charts.Segment(
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
    found = [
        Chart(
            "activity",
            "Last activity of active seats, per profile",
            charts.stacked_bar_chart(
                "Last activity of active seats, per profile", bucket_rows, legend
            ),
            "Days since each member's last activity. Click a segment for the seats.",
        ),
        Chart(
            "stale",
            "Stale seats by profile",
            charts.bar_chart(
                "Stale seats by profile",
                [
                    charts.Bar(
                        profile_names.get(p, f"Profile {p}"),
                        result.seats_by_profile[p].stale,
                        links.subscriptions(
                            profile__id__exact=p,
                            status__exact="active",
                            excluded_from_cost__exact="0",
                            activity=STALE,
                        ),
                        title=f"{profile_names.get(p, p)}: {result.seats_by_profile[p].stale} "
                        "stale seat(s)",
                    )
                    for p in profiles
                ],
                color=3,
                empty_text="No stale seats.",
            ),
            "Assigned seats with no activity past the profile's reclamation-rule threshold.",
        ),
    ]
    if apps.is_installed("reclamation"):
        by_profile = result.candidates_by_profile
        currencies = sorted({c for t in by_profile.values() for c in t.potential})
        open_states = _open_states()
        for currency in currencies or [""]:
            bars = []
            for profile_id in sorted(
                (p for p in by_profile if p is not None), key=lambda p: profile_names.get(p, "")
            ):
                totals = by_profile[profile_id]
                amount = totals.potential.get(currency, Decimal("0"))
                label = f"{cents(amount):,.2f} {currency}".strip()
                if totals.unknown:
                    label += f" (+{totals.unknown} unknown)"
                bars.append(
                    charts.Bar(
                        profile_names.get(profile_id, f"Profile {profile_id}"),
                        amount,
                        links.candidates(
                            profile__id__exact=profile_id,
                            state__in=open_states,
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
                    charts.bar_chart(
                        title, bars, color=1, empty_text="No open reclamation candidates."
                    ),
                    "Open reclamation candidates, annual unit cost. " + FREED_NOTE,
                )
            )
    spend_by: dict[str, dict[str, Decimal]] = {}
    for entitlement in result.entitlements:
        per_center = spend_by.setdefault(entitlement.currency, {})
        per_center[entitlement.cost_center] = (
            per_center.get(entitlement.cost_center, Decimal("0")) + entitlement.annual_cost
        )
    for currency, per_center in sorted(spend_by.items()) or [("", {})]:
        title = f"Annual spend by cost center{f' ({currency})' if currency else ''}"
        bars = [
            charts.Bar(
                center or "(no cost center)",
                amount,
                links.changelist(
                    "sam_saas", "entitlement", in_force="yes", cost_center=center, currency=currency
                ),
                value_label=f"{cents(amount):,.2f} {currency}",
            )
            for center, amount in sorted(per_center.items(), key=lambda kv: -kv[1])
        ]
        found.append(
            Chart(
                f"spend-{currency or 'none'}",
                title,
                charts.bar_chart(title, bars, color=0, empty_text="No entitlement in force."),
                "Entitlements in force: rights × annual unit cost.",
            )
        )
    found += _trend_charts(trend, links, model_names)
    return found


def _trend_charts(trend: list[dict], links: Links, model_names: dict[int, str]) -> list[Chart]:
    by_model: dict[int, dict[dt.date, dict]] = {}
    for row in trend:
        by_model.setdefault(row["software_model_id"], {})[row["date"]] = row
    if not by_model:
        return [
            Chart(
                "trend",
                "Seats assigned against purchased over time",
                charts.line_chart("Seats assigned against purchased over time", [], []),
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
            charts.Series(
                "purchased",
                [
                    charts.Point(
                        rows[d]["purchased"], href(d), f"{d}: {rows[d]['purchased']} purchased"
                    )
                    for d in dates
                ],
            ),
            charts.Series(
                "assigned",
                [
                    charts.Point(
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
                charts.line_chart(title, [d.isoformat() for d in dates], series),
                "From the reconciliation snapshots, all profiles.",
            )
        )
    return found


def build(user, *, now: dt.datetime | None = None, headroom_percent=None) -> Dashboard:
    now = now or timezone.now()
    result = compute(now=now)
    links = Links(user)

    profiles = list(
        IntegrationProfile.objects.order_by("name").values_list(
            "pk", "name", "alias__connection_status"
        )
    )
    profile_names = {pk: name for pk, name, _ in profiles}
    reconnect = sum(
        1
        for *_, status in profiles
        if status == ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
    )
    trend = list(
        LicencePositionSnapshot.objects.filter(
            profile__isnull=True, date__gte=result.on - dt.timedelta(days=TREND_DAYS)
        )
        .order_by()
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
        "failed_jobs": JobRun.objects.filter(
            status=JobRun.Status.FAILED, finished_at__gte=now - dt.timedelta(hours=24)
        ).count(),
        "reconnect": reconnect,
    }
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
        tiles=_tiles(result, links, counts, now),
        charts=_charts(result, links, profile_names, model_names, trend),
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
    )
