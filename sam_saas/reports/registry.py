"""The reports by name: the core's (:mod:`.definitions`) and those apps register
(:func:`sam_saas.extensions.register_report`), in their order. The admin's "Export CSV"
button, ``/reports/<name>.csv`` and ``manage.py export_report`` all look reports up here."""

from __future__ import annotations

from .. import extensions
from .definitions import core_reports
from .engine import Report, ReportFilterError

__all__ = ["Report", "ReportFilterError", "all_reports", "get"]

_cache: tuple[int, dict[str, Report]] | None = None


def _build() -> dict[str, Report]:
    ordered = [((i + 1) * 10, report) for i, report in enumerate(core_reports())]
    ordered += [(c.order, c.build()) for c in extensions.registry.reports]
    ordered.sort(key=lambda pair: pair[0])
    return {report.name: report for _, report in ordered}


def all_reports() -> dict[str, Report]:
    """Built once (and again if an app registers a report later)."""
    global _cache
    version = len(extensions.registry.reports)
    if _cache is None or _cache[0] != version:
        _cache = (version, _build())
    return _cache[1]


def get(name: str) -> Report:
    """The report called ``name``; KeyError when there is none."""
    return all_reports()[name]
