"""The dashboard's tiles: the core's, then those apps register
(:func:`sam_saas.extensions.register_tiles`), in order. Each tile's detail says what it
counts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ... import extensions
from ...extensions import Contribution
from ...money import Totals
from .context import DashboardContext


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


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{Decimal(part * 100) / Decimal(whole):.0f}%"


def stale_detail(context: DashboardContext) -> str:
    """What the stale figure counts, and by how many and why it differs from the open
    candidates of the matching kinds."""
    text = (
        "Assigned member seats (not excluded from cost) of published profiles with no "
        "activity for longer than their profile's threshold, never-active seats counted from "
        "their creation."
    )
    if context.stale_comparison is not None:
        text += " " + context.stale_comparison.text()
    return text


def money_tiles(context: DashboardContext) -> list[Tile]:
    result, links = context.result, context.links
    overall = result.overall
    available = sum(p.available for p in overall)
    capacity = sum(max(p.purchased, p.in_use) for p in overall)
    unused = sum(p.unused for p in overall)
    return [
        Tile(
            "spend",
            "Current annual spend",
            Totals(result.annual_spend()).display("0", separator="\n"),
            "Entitlements in force, per currency (never added across currencies).",
            links.changelist("sam_saas", "entitlement", in_force="yes"),
        ),
        Tile(
            "unused",
            "Seats unused",
            percent(unused, capacity),
            f"Of the seats purchased or in use: {result.stale} stale seat(s) past the rule "
            f"threshold and {available} purchased seat(s) unassigned.",
            links.stale_seats(),
            "warn" if unused else "ok",
        ),
        Tile(
            "stale",
            "Stale seats",
            str(result.stale),
            stale_detail(context),
            links.stale_seats(),
            "warn" if result.stale else "ok",
        ),
    ]


def health_tiles(context: DashboardContext) -> list[Tile]:
    result, links, counts = context.result, context.links, context.counts
    without_user = sum(c.without_user for c in result.seats_by_profile.values())
    return [
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
            "Seats held in published profiles whose e-mail matches no person.",
            links.subscriptions(has_user="no", status__in="active,pending"),
            "warn" if without_user else "ok",
        ),
        Tile(
            "failed_jobs",
            "Failed jobs (24 h)",
            str(counts["failed_jobs"]),
            "Profile and job pairs whose latest run failed in the last 24 hours; a "
            "successful rerun clears it.",
            links.changelist("sam_saas", "jobrun", failing="24h"),
            "warn" if counts["failed_jobs"] else "ok",
        ),
        Tile(
            "attention",
            "Profiles needing attention",
            str(counts["attention"]),
            f"Their last job run failed, or the connection asks to be connected again "
            f"({counts['reconnect']} to reconnect).",
            links.changelist("sam_saas", "integrationprofile", attention="yes"),
            "warn" if counts["attention"] else "ok",
        ),
    ]


CORE = [Contribution("money", 10, money_tiles), Contribution("health", 50, health_tiles)]


def tiles(context: DashboardContext) -> list[Tile]:
    contributions = sorted([*CORE, *extensions.registry.tiles], key=lambda c: c.order)
    return [tile for contribution in contributions for tile in contribution.build(context)]
