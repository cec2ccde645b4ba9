"""Reconciliation (the RECONCILE job: weekly beat, "Reconcile now" on the entitlements and
positions lists, ``manage.py refresh --process reconcile``): it refreshes every stored figure
(:mod:`sam_saas.services.figures`) and stores today's licence position as dated snapshots.
Running it twice on one day replaces that day's snapshot, so a re-run after fixing an
entitlement corrects the trend instead of doubling it."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ...models import JobRun, LicencePositionSnapshot
from .. import jobs
from .compute import compute


def reconcile(on: dt.date | None = None, now: dt.datetime | None = None) -> tuple[int, int]:
    """Store today's snapshot. Returns (rows written, rows replaced)."""
    result = compute(on=on, now=now)
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
