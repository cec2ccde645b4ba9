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


@shared_task(name="sam_saas.tasks.enqueue_global_job")
def enqueue_global_job(kind: str):
    """Beat's way to start a job that covers every profile (reconcile; the reclamation app's
    candidate identification): the apps register the beat entries, with the kind as argument
    (``sam_saas.jobkinds.register_beat``). A run still open is left to finish."""
    try:
        run = jobs.enqueue(None, kind, JobRun.Trigger.SCHEDULE)
    except jobs.JobAlreadyOpen:
        return None
    return run.pk


@shared_task(name="sam_saas.tasks.prune_job_runs")
def prune_job_runs():
    """Daily: remove job results older than JOB_RUN_RETENTION_DAYS (services/retention.py)."""
    return retention.prune_by_setting()
