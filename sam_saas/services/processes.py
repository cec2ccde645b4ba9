"""What each job kind does. Vendor work goes through the connector registry; the rest is
plugged in by the apps that own it (see :func:`sam_saas.services.jobs.register_handler`)."""

from __future__ import annotations

import contextlib

from ..connectors import get_connector
from ..models import JobRun
from ..signals import download_completed
from . import jobs


def download(run: JobRun) -> None:
    """Download subscriptions, then (for the daily refresh) queue the activity pull, which
    must see the seats the download just created."""
    profile = run.profile
    get_connector(profile.provider).download_subscriptions(profile, run)
    download_completed.send(sender=type(profile), profile=profile, run=run)
    if run.trigger == JobRun.Trigger.SCHEDULE and profile.activity_enabled:
        with contextlib.suppress(jobs.JobAlreadyOpen):
            jobs.enqueue(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.SCHEDULE)


def activity(run: JobRun) -> None:
    profile = run.profile
    get_connector(profile.provider).pull_activity(profile, run)


def validate(run: JobRun) -> None:
    """Run the publish gate's checks; a failed check fails the run with the first hint."""
    from ..connectors import ConnectorError
    from . import lifecycle

    validation = lifecycle.validate(run.profile, run=run)
    if not validation.passed:
        first = validation.failed_checks[0]
        raise ConnectorError(
            f"{len(validation.failed_checks)} check(s) failed, first: {first['label']}: "
            f"{first['detail']}",
            hint=first["hint"],
        )


def not_built_yet(run: JobRun) -> None:
    """Placeholder for job kinds whose logic a later issue adds (candidate identification:
    the reclamation issue; reconciliation: the reports issue). It succeeds and says so, so
    the beat entries already exist and run."""
    run.warnings = [f"{run.get_kind_display()} is not implemented yet; this run did nothing."]


def register_defaults() -> None:
    jobs.register_handler(JobRun.Kind.DOWNLOAD, download)
    jobs.register_handler(JobRun.Kind.ACTIVITY, activity)
    jobs.register_handler(JobRun.Kind.VALIDATE, validate)
    for kind in (JobRun.Kind.CANDIDATES, JobRun.Kind.RECONCILE, JobRun.Kind.RECLAIM):
        jobs._handlers.setdefault(kind, not_built_yet)
