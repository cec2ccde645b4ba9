"""Job runs: queueing, claiming, recording the outcome.

Every way in (beat, the admin's buttons, ``manage.py refresh``) goes through
:func:`enqueue` / :func:`run_now`, so a job behaves the same however it was started.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..models import IntegrationProfile, JobRun

logger = logging.getLogger(__name__)

JobHandler = Callable[[JobRun], None]
_handlers: dict[str, JobHandler] = {}


class JobAlreadyOpen(Exception):
    """A run of this kind is already queued or running for this profile."""

    def __init__(self, existing: JobRun | None):
        self.existing = existing
        super().__init__(f"Already queued or running: {existing}")


def register_handler(kind: str, handler: JobHandler) -> None:
    """Apps plug in what a job kind does (the reclamation app registers candidate
    identification, for example), keeping this module free of their imports."""
    _handlers[kind] = handler


def handler_for(kind: str) -> JobHandler:
    return _handlers[kind]


def _open_run(profile: IntegrationProfile | None, kind: str) -> JobRun | None:
    return (
        JobRun.objects.filter(profile=profile, kind=kind, status__in=JobRun.OPEN_STATUSES)
        .order_by("-id")
        .first()
    )


def create_run(profile: IntegrationProfile | None, kind: str, trigger: str) -> JobRun:
    """Insert a queued run. The partial unique constraint turns a race between two
    dispatchers (or a double click) into :class:`JobAlreadyOpen` instead of a second run."""
    try:
        with transaction.atomic():
            return JobRun.objects.create(profile=profile, kind=kind, trigger=trigger)
    except IntegrityError:
        raise JobAlreadyOpen(_open_run(profile, kind)) from None


def enqueue(profile: IntegrationProfile | None, kind: str, trigger: str) -> JobRun:
    """Create a queued run and hand it to Celery once the transaction commits (inline when
    no broker is configured). Raises :class:`JobAlreadyOpen` when one is already open."""
    from ..tasks import run_job

    run = create_run(profile, kind, trigger)
    transaction.on_commit(lambda: run_job.delay(run.pk))
    return run


def claim(run_id: int, *, redelivered: bool = False) -> JobRun | None:
    """Move a run from queued to running with a compare-and-set UPDATE. Only one worker wins.

    A redelivered message (its worker died, ``acks_late``) may take over a run left
    ``running``. Returns None when there is nothing to do."""
    statuses = [JobRun.Status.QUEUED]
    if redelivered:
        statuses.append(JobRun.Status.RUNNING)
    claimed = JobRun.objects.filter(pk=run_id, status__in=statuses).update(
        status=JobRun.Status.RUNNING, started_at=timezone.now(), finished_at=None
    )
    if not claimed:
        return None
    return JobRun.objects.select_related("profile", "profile__alias").get(pk=run_id)


def report_progress(run: JobRun, percent: int, message: str = "") -> None:
    """Progress is written straight to the row (not inside the job's transaction), so the
    admin sees it while the job runs."""
    run.progress = max(0, min(100, int(percent)))
    run.progress_message = message[:300]
    JobRun.objects.filter(pk=run.pk).update(
        progress=run.progress, progress_message=run.progress_message
    )


COUNTERS = (
    "fetched",
    "created",
    "updated",
    "removed",
    "unmatched",
    "api_calls",
    "rate_limit_waits",
)


def finish(run: JobRun, status: str, *, error: BaseException | None = None) -> None:
    run.status = status
    run.finished_at = timezone.now()
    if status == JobRun.Status.SUCCEEDED:
        run.progress = 100
    if error is not None:
        run.error_class = type(error).__name__
        run.error_message = str(error)[:5000]
        run.hint = getattr(error, "hint", "") or default_hint(error)
    JobRun.objects.filter(pk=run.pk).update(
        status=run.status,
        finished_at=run.finished_at,
        progress=run.progress,
        error_class=run.error_class,
        error_message=run.error_message,
        hint=run.hint,
        warnings=run.warnings,
        **{name: getattr(run, name) for name in COUNTERS},
    )


def default_hint(error: BaseException) -> str:
    from django.db import DatabaseError

    if isinstance(error, DatabaseError):
        return "The database was unreachable or refused the write; the next run retries."
    return "Unexpected error: see the worker log for the traceback, then retry the job."


@contextmanager
def recording(run: JobRun):
    """Run the body and record success or failure on ``run``. Failures are recorded, not
    raised: the run is the report. Unexpected ones are logged with their traceback."""
    from ..connectors import ConnectorError

    try:
        yield run
    except ConnectorError as exc:
        logger.warning("job %s failed: %s", run.pk, exc)
        finish(run, JobRun.Status.FAILED, error=exc)
    except Exception as exc:
        logger.exception("job %s failed unexpectedly", run.pk)
        finish(run, JobRun.Status.FAILED, error=exc)
    else:
        finish(run, JobRun.Status.SUCCEEDED)


def execute(run_id: int, *, redelivered: bool = False) -> JobRun | None:
    """Claim the run and execute its handler. Called by the Celery task and by
    :func:`run_now`."""
    run = claim(run_id, redelivered=redelivered)
    if run is None:
        logger.info("job %s is not queued any more; nothing to do", run_id)
        return None
    with recording(run):
        handler_for(run.kind)(run)
    return run


def run_now(profile: IntegrationProfile | None, kind: str, trigger: str) -> JobRun:
    """Run a job synchronously in this process (``manage.py refresh``)."""
    run = create_run(profile, kind, trigger)
    execute(run.pk)
    run.refresh_from_db()
    return run


def add_counts(run: JobRun, **counts: int) -> None:
    """Add to counters on the object and the row (progress-safe, visible while running)."""
    for name, value in counts.items():
        setattr(run, name, getattr(run, name) + value)
    JobRun.objects.filter(pk=run.pk).update(**{n: F(n) + v for n, v in counts.items()})
