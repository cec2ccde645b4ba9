"""Licence position: rights purchased against seats in use, per software model and profile
(:mod:`.compute`, its values in :mod:`.rows`, the dashboard's filters in :mod:`.scope`), and
reconciliation, which stores it as dated snapshots (:mod:`.reconcile`).

Split by responsibility from one 500-line module; everything is importable from here as
before.
"""

from .compute import compute, savings, seat_counts
from .reconcile import reconcile, run_reconcile_job
from .rows import (
    EntitlementRow,
    Position,
    Positions,
    PositionStatus,
    SavingsTotals,
    SeatCounts,
    year_start,
)
from .scope import EVERYTHING, Scope

__all__ = [
    "EVERYTHING",
    "EntitlementRow",
    "Position",
    "PositionStatus",
    "Positions",
    "SavingsTotals",
    "Scope",
    "SeatCounts",
    "compute",
    "reconcile",
    "run_reconcile_job",
    "savings",
    "seat_counts",
    "year_start",
]
