"""Celery tasks. They take ids and call service functions; no logic lives only here."""

from __future__ import annotations

from celery import shared_task

from .models import JobRun
from .services import dispatch, jobs, retention


@shared_task(name="sam_saas.tasks.run_job", bind=True)
def run_job(self, run_id: int):
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    jobs.execute(run_id, redelivered=redelivered)


@shared_task(name="sam_saas.tasks.dispatch_due_refreshes")
def dispatch_due_refreshes():
    result = dispatch.dispatch_due_refreshes()
    return {"queued": result.queued, "skipped": result.skipped}


def _enqueue_global(kind: str):
    try:
        run = jobs.enqueue(None, kind, JobRun.Trigger.SCHEDULE)
    except jobs.JobAlreadyOpen:
        return None
    return run.pk


@shared_task(name="sam_saas.tasks.identify_candidates")
def identify_candidates():
    """Daily: the reclamation app's identification job (a placeholder runs if that app is not
    installed)."""
    return _enqueue_global(JobRun.Kind.CANDIDATES)


@shared_task(name="sam_saas.tasks.reconcile")
def reconcile():
    """Weekly: store the licence-position snapshots (sam_saas.services.reconcile)."""
    return _enqueue_global(JobRun.Kind.RECONCILE)


@shared_task(name="sam_saas.tasks.prune_job_runs")
def prune_job_runs():
    """Daily: remove job results older than JOB_RUN_RETENTION_DAYS (services/retention.py)."""
    return retention.prune_by_setting()
