"""What every dashboard tile, chart and column builder receives (core and registered ones)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ...extensions import StaleComparison
from ..positions import EVERYTHING, Positions, Scope
from .links import Links


@dataclass
class DashboardContext:
    result: Positions
    links: Links
    now: dt.datetime
    profile_names: dict[int, str]
    model_names: dict[int, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    trend: list[dict] = field(default_factory=list)
    # How the stale seats compare with the open candidates (None: no app registered it).
    stale_comparison: StaleComparison | None = None
    # The page's filters (profile, software models); registered tiles narrow by it too.
    scope: Scope = EVERYTHING

    def profile_name(self, profile_id: int | None) -> str:
        return self.profile_names.get(profile_id, f"Profile {profile_id}")

    def profiles(self) -> list[int]:
        """The published profiles with seats, by name."""
        return sorted(self.result.seats_by_profile, key=lambda p: self.profile_names.get(p, ""))
