"""The benchmark's table: one figure per line, with its runs, median, target and ratio."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass, field


@dataclass
class Figure:
    """One measured figure. ``higher_is_better`` for throughputs (rows/s): the ratio is then
    target / median, so a ratio above 1 always means "misses the target"."""

    name: str
    unit: str
    runs: list[float]
    target: float | None = None
    higher_is_better: bool = False
    queries: int | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def ratio(self) -> float | None:
        if not self.target or not self.runs:
            return None
        if self.higher_is_better:
            return self.target / self.median if self.median else None
        return self.median / self.target

    def as_dict(self) -> dict:
        data = asdict(self)
        data.update(median=self.median, ratio=self.ratio)
        return data


def fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:  # None or NaN (no run)
        return "—"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if unit == "×":
        return f"{value:.2f}×"
    return f"{value:,.2f} {unit}"


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def markdown(figures: list[Figure], meta: dict) -> str:
    """The table as Markdown, for the terminal and for docs/operations.md."""
    lines = [
        f"{meta['subscriptions']:,} subscriptions on {meta['database']}, "
        f"{meta['cpus']} CPUs; load average {meta['load_before']} before, "
        f"{meta['load_after']} after; {meta['repeat']} runs per figure (median).",
        "",
        "| Measure | Median | Runs | Target | Ratio | Queries | Note |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        runs = ", ".join(fmt(r, f.unit).split(" ")[0] for r in f.runs)
        target = (
            "—"
            if f.target is None
            else ("≥ " if f.higher_is_better else "< ") + fmt(f.target, f.unit)
        )
        queries = "" if f.queries is None else str(f.queries)
        lines.append(
            f"| {f.name} | {fmt(f.median, f.unit)} | {runs} | {target} | {ratio} | "
            f"{queries} | {f.note} |"
        )
    return "\n".join(lines)


def as_json(figures: list[Figure], meta: dict) -> str:
    return json.dumps({"meta": meta, "figures": [f.as_dict() for f in figures]}, indent=2)
