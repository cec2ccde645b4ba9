"""The core's extension registry: how an app adds reports, dashboard tiles and charts,
licence-position columns and figures without the core importing it.

Like :mod:`sam_saas.connectors` for vendors, and NetBox's dashboard widget registry: an app
registers from its ``AppConfig.ready()``; the core asks this module what is registered and
never imports the app. The reclamation app registers its profile-list columns and profile
page related lists (open candidates, rule needs review, its rule, candidates by state), its
reports (candidates, candidate events), the potential-savings and freed-seats tiles and chart, the licence-position columns
(open candidates, potential savings, freed this year), the source of those figures, the
inactivity threshold that makes a seat stale, and the reasons the stale-seat count and the
candidates may legitimately differ. Without it installed, the core shows none of these.

``docs/architecture.md`` says where to put a new report, tile, job kind or connector.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StaleThresholds:
    """Days of inactivity after which a seat is stale: a default and per-profile values."""

    default_days: int
    per_profile: dict[int, int] = field(default_factory=dict)

    def days_for(self, profile_id: int | None) -> int:
        return self.per_profile.get(profile_id, self.default_days)


@dataclass
class StaleComparison:
    """How the stale seats compare with the open candidates of the matching kinds (low usage,
    never used): ``matching`` stale seats are such candidates; the others are listed by why
    (``(count, why)``), and so are such candidates whose seat is not stale."""

    stale: int = 0
    matching: int = 0
    seats_not_candidates: list[tuple[int, str]] = field(default_factory=list)
    candidates_not_stale: list[tuple[int, str]] = field(default_factory=list)

    @property
    def agree(self) -> bool:
        return not (self.seats_not_candidates or self.candidates_not_stale)

    @property
    def open_matching(self) -> int:
        """Open low-usage and never-used candidates, on stale seats or not."""
        return self.matching + sum(n for n, _ in self.candidates_not_stale)

    def add(self, other: StaleComparison) -> None:
        """Add another profile's comparison (the reasons keep their first-seen order)."""
        self.stale += other.stale
        self.matching += other.matching
        for mine, theirs in (
            (self.seats_not_candidates, other.seats_not_candidates),
            (self.candidates_not_stale, other.candidates_not_stale),
        ):
            index = {why: i for i, (_, why) in enumerate(mine)}
            for n, why in theirs:
                if why in index:
                    mine[index[why]] = (mine[index[why]][0] + n, why)
                else:
                    index[why] = len(mine)
                    mine.append((n, why))

    def without_zeros(self) -> StaleComparison:
        return StaleComparison(
            self.stale,
            self.matching,
            [(n, why) for n, why in self.seats_not_candidates if n],
            [(n, why) for n, why in self.candidates_not_stale if n],
        )

    def as_json(self) -> dict:
        return {
            "stale": self.stale,
            "matching": self.matching,
            "seats_not_candidates": [list(item) for item in self.seats_not_candidates],
            "candidates_not_stale": [list(item) for item in self.candidates_not_stale],
        }

    @classmethod
    def from_json(cls, data: dict) -> StaleComparison:
        return cls(
            data["stale"],
            data["matching"],
            [tuple(item) for item in data["seats_not_candidates"]],
            [tuple(item) for item in data["candidates_not_stale"]],
        )

    def text(self) -> str:
        text = f"{self.matching} of the {self.stale} stale seat(s) are open low-usage or "
        text += "never-used candidates."
        if self.seats_not_candidates:
            parts = "; ".join(f"{n} {why}" for n, why in self.seats_not_candidates)
            text += f" The other {self.stale - self.matching}: {parts}."
        if self.candidates_not_stale:
            parts = "; ".join(f"{n} {why}" for n, why in self.candidates_not_stale)
            text += f" Open candidates of those kinds not counted as stale: {parts}."
        return text


@dataclass(frozen=True)
class Contribution:
    """One registered builder, kept in ``order`` (ties: registration order)."""

    key: str
    order: int
    build: Callable[..., Any]


@dataclass(frozen=True)
class PositionColumn:
    """A column of the dashboard's licence-position table: ``value(row)`` → text."""

    key: str
    header: str
    value: Callable[[Any], str]
    order: int = 100
    help_text: str = ""


@dataclass(frozen=True)
class ProfileColumn:
    """A column of the integration-profile list. ``annotate(queryset)`` adds what the column
    needs to the changelist's one query (a subquery, never a query per row); ``value(profile)``
    reads it back. ``ordering`` names the annotation to sort by."""

    key: str
    header: str
    annotate: Callable[[Any], Any]
    value: Callable[[Any], Any]
    order: int = 100
    ordering: str | None = None
    boolean: bool = False


@dataclass(frozen=True)
class RelatedLink:
    """One entry of a profile page's related lists: a label, how many, and where they are."""

    label: str
    count: int | None
    url: str
    note: str = ""


@dataclass(frozen=True)
class FigureGroup:
    """Figures the jobs store for the dashboard (:mod:`sam_saas.services.figures`).
    ``compute(profile_ids, now, removed)`` → ``{(software_model_id, profile_id): json}`` for
    those published profiles (and, when ``removed``, for removed profiles: profile None),
    computed with the same queryset methods as the live figure."""

    key: str
    label: str
    compute: Callable[..., dict]
    order: int = 100


@dataclass
class Registry:
    reports: list[Contribution] = field(default_factory=list)
    tiles: list[Contribution] = field(default_factory=list)
    charts: list[Contribution] = field(default_factory=list)
    position_columns: list[PositionColumn] = field(default_factory=list)
    stale_thresholds: Callable[[], StaleThresholds] | None = None
    savings_source: Callable[..., dict] | None = None
    stale_differences: Callable[..., dict] | None = None
    figure_groups: list[FigureGroup] = field(default_factory=list)
    # Job kind → the figure groups a successful run of it refreshes (for its profile, or for
    # every profile when the run has none).
    figure_refreshes: dict[str, set[str]] = field(default_factory=dict)
    profile_columns: list[ProfileColumn] = field(default_factory=list)
    # build(profile) → [RelatedLink, ...] for the profile page's related lists.
    profile_links: list[Contribution] = field(default_factory=list)
    # Job kinds (per profile) the daily refresh queues after download and activity.
    refresh_steps: list[str] = field(default_factory=list)


registry = Registry()


def _add(items: list, item) -> None:
    items[:] = [i for i in items if i.key != item.key]  # re-registering replaces
    items.append(item)
    items.sort(key=lambda i: i.order)


def register_report(key: str, factory: Callable[[], Any], *, order: int = 100) -> None:
    """``factory()`` returns a :class:`sam_saas.reports.engine.Report` (built on first use,
    so registering imports no model code)."""
    _add(registry.reports, Contribution(key, order, factory))


def register_tiles(key: str, build: Callable[..., list], *, order: int = 100) -> None:
    """``build(context)`` returns dashboard :class:`~sam_saas.services.dashboard.tiles.Tile`
    objects; ``context`` is a :class:`~sam_saas.services.dashboard.DashboardContext`. The core's
    tiles are ordered 10 (spend), 20 (unused), 50 onwards (identifiers, jobs)."""
    _add(registry.tiles, Contribution(key, order, build))


def register_charts(key: str, build: Callable[..., list], *, order: int = 100) -> None:
    """``build(context)`` returns dashboard charts. The core's: 10 activity, 20 stale,
    50 spend, 60 trend."""
    _add(registry.charts, Contribution(key, order, build))


def register_position_column(column: PositionColumn) -> None:
    _add(registry.position_columns, column)


def register_stale_thresholds(source: Callable[[], StaleThresholds]) -> None:
    """The threshold that makes a seat stale (reclamation: each profile's rule)."""
    registry.stale_thresholds = source


def register_savings_source(source: Callable[..., dict]) -> None:
    """``source(year_start, published)`` → ``{(software_model_id, profile_id):
    SavingsTotals}``: open candidates (potential savings) and seats freed since
    ``year_start``, of the ``published`` profiles (a queryset: use it as a subquery) or of
    removed profiles (profile None)."""
    registry.savings_source = source


def register_stale_differences(source: Callable[..., dict]) -> None:
    """``source(stale_seats, now, profile_ids)`` → ``{profile_id: StaleComparison}`` (the
    candidates of ``profile_ids`` only; None: all): per profile, by how
    many and why the stale seats legitimately differ from the open candidates of the
    matching kinds (every reason listed, zeros included, so profiles add up in one order)."""
    registry.stale_differences = source


def register_figure_group(group: FigureGroup) -> None:
    _add(registry.figure_groups, group)


def refresh_figures_after(kind: str, *group_keys: str) -> None:
    """A successful job of ``kind`` changes these stored figure groups: refresh them (for
    the run's profile) when it ends. Idempotent."""
    registry.figure_refreshes.setdefault(str(kind), set()).update(group_keys)


def stale_thresholds() -> StaleThresholds | None:
    """None when no app defines when a seat is stale: then no seat is."""
    return registry.stale_thresholds() if registry.stale_thresholds else None


def register_profile_column(column: ProfileColumn) -> None:
    """A column of the profile list (reclamation: open candidates, rule needs review). The
    core's own columns come first; ``order`` places registered ones among themselves."""
    _add(registry.profile_columns, column)


def register_profile_links(key: str, build: Callable[[Any], list], *, order: int = 100) -> None:
    """``build(profile)`` returns :class:`RelatedLink` objects for the profile page's related
    lists (reclamation: its rule and its candidates by state). The core's links are ordered
    10 (models, subscriptions), 20 (identifiers), 30 (exclusion rules), 90 (job results)."""
    _add(registry.profile_links, Contribution(key, order, build))


def register_refresh_step(kind: str) -> None:
    """Chain a per-profile job kind after each profile's daily download and activity pull
    (reclamation: identifying that profile's candidates). Idempotent."""
    if str(kind) not in registry.refresh_steps:
        registry.refresh_steps.append(str(kind))
