"""Reconciliation: compute the licence position and store it as a dated snapshot.

The RECONCILE job runs weekly (beat), on demand ("Reconcile now" on the entitlements list) and
through ``manage.py refresh --process reconcile``; all three run :func:`run_reconcile_job`.
Running it twice on one day replaces that day's snapshot, so a re-run after fixing an
entitlement corrects the trend instead of doubling it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ..models import JobRun, LicencePositionSnapshot
from . import jobs, positions


def reconcile(on: dt.date | None = None, now: dt.datetime | None = None) -> tuple[int, int]:
    """Store today's snapshot. Returns (rows written, rows replaced)."""
    result = positions.compute(on=on, now=now)
    rows = result.snapshot_rows()
    with transaction.atomic():
        replaced, _ = LicencePositionSnapshot.objects.filter(date=result.on).delete()
        LicencePositionSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows), replaced


def run_reconcile_job(run: JobRun) -> None:
    jobs.report_progress(run, 10, "Computing the licence position")
    written, replaced = reconcile()
    run.created = written
    run.removed = replaced
    run.progress_message = f"{written} position row(s) stored for today"
    if replaced:
        run.progress_message += f", replacing {replaced} from an earlier run today"
