"""Job-run retention: the one way old job results leave the database.

Nobody deletes a job run in the admin (superusers included), so the history cannot be
rewritten; this removes finished runs older than a cut-off, in batches so a large backlog
does not hold a long lock. The newest finished run of each profile and kind is always kept,
so a profile page still shows its last result however old it is. Open runs are never touched.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ..models import JobRun

BATCH = 2000


def prunable(older_than_days: int, now: dt.datetime | None = None):
    """Finished runs queued before the cut-off that a newer finished run of the same profile
    (or, for global runs, the same global job) and kind supersedes."""
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = (now or timezone.now()) - dt.timedelta(days=older_than_days)
    finished = [JobRun.Status.SUCCEEDED, JobRun.Status.FAILED]
    newer = JobRun.objects.filter(kind=OuterRef("kind"), status__in=finished).filter(
        Q(queued_at__gt=OuterRef("queued_at"))
        | Q(queued_at=OuterRef("queued_at"), pk__gt=OuterRef("pk"))
    )
    return JobRun.objects.filter(status__in=finished, queued_at__lt=cutoff).filter(
        Q(Exists(newer.filter(profile=OuterRef("profile"))), profile__isnull=False)
        | Q(Exists(newer.filter(profile__isnull=True)), profile__isnull=True)
    )


def prune_job_runs(older_than_days: int, *, now: dt.datetime | None = None) -> int:
    """Delete finished runs older than ``older_than_days``; returns how many went."""
    total = 0
    while True:
        ids = list(
            prunable(older_than_days, now).order_by("pk").values_list("pk", flat=True)[:BATCH]
        )
        if not ids:
            return total
        total += JobRun.objects.filter(pk__in=ids).delete()[0]


def prune_by_setting() -> int | None:
    """Beat's daily entry: prune with ``SAM_SETTINGS["JOB_RUN_RETENTION_DAYS"]`` (0 or empty
    keeps everything). Returns how many runs went, or None when pruning is off."""
    from django.conf import settings

    days = settings.SAM_SETTINGS.get("JOB_RUN_RETENTION_DAYS") or 0
    if days < 1:
        return None
    return prune_job_runs(days)
