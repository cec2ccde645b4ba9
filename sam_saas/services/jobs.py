"""Job runs: queueing, claiming, recording the outcome.

Every way in (beat, the admin's buttons, ``manage.py refresh``) goes through
:func:`enqueue` / :func:`run_now`, so a job behaves the same however it was started.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress

from django.conf import settings
from django.db import DatabaseError, IntegrityError, close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError

from .. import jobkinds
from ..models import IntegrationProfile, JobRun
from ..signals import job_finished

logger = logging.getLogger(__name__)


class JobAlreadyOpen(Exception):
    """A run of this kind is already queued or running for this profile."""

    def __init__(self, existing: JobRun | None):
        self.existing = existing
        super().__init__(f"Already queued or running: {existing}")


_handler_running: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "job_handler_running", default=False
)
# What the running job's handler asked to do once the run is recorded (:func:`after_success`).
_follow_ups: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "job_follow_ups", default=None
)


def _open_run(profile: IntegrationProfile | None, kind: str) -> JobRun | None:
    return (
        JobRun.objects.filter(profile=profile, kind=kind, status__in=JobRun.OPEN_STATUSES)
        .order_by("-id")
        .first()
    )


# An open run older than this was abandoned: its message was lost (a broker restarted without
# persistence) or its failure could not be recorded (the database was away). Left alone it
# would block its profile forever through the partial unique constraint.
STALE_QUEUED = dt.timedelta(hours=1)
STALE_RUNNING_MARGIN = dt.timedelta(minutes=30)


def _stale_before(status: str) -> dt.datetime:
    if status == JobRun.Status.QUEUED:
        return timezone.now() - STALE_QUEUED
    return (
        timezone.now()
        - dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
        - (STALE_RUNNING_MARGIN)
    )


def fail_if_abandoned(run: JobRun | None) -> bool:
    """Close an open run that nothing will ever finish (compare-and-set on its status and
    age). Returns True when it was closed."""
    if run is None:
        return False
    since = (
        run.queued_at if run.status == JobRun.Status.QUEUED else (run.started_at or run.queued_at)
    )
    if since >= _stale_before(run.status):
        return False
    time_field = "queued_at" if run.status == JobRun.Status.QUEUED else "started_at"
    closed = JobRun.objects.filter(
        pk=run.pk, status=run.status, **{f"{time_field}__lt": _stale_before(run.status)}
    ).update(
        status=JobRun.Status.FAILED,
        finished_at=timezone.now(),
        error_class="Abandoned",
        error_message=f"The run was still {run.status} after {timezone.now() - since}; "
        "its task was lost or its result could not be recorded.",
        hint="Nothing to do: a new run replaced it. If this repeats, check that the workers "
        "and the broker stay up (docs/operations.md).",
    )
    if closed:
        logger.warning("job %s was abandoned (%s since %s); closed it", run.pk, run.status, since)
    return bool(closed)


def create_run(profile: IntegrationProfile | None, kind: str, trigger: str) -> JobRun:
    """Insert a queued run. The partial unique constraint turns a race between two
    dispatchers (or a double click) into :class:`JobAlreadyOpen` instead of a second run;
    an abandoned open run is closed first. A kind no installed app handles is refused with
    :class:`~sam_saas.jobkinds.NoHandler` before anything is stored."""
    jobkinds.get(kind)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return JobRun.objects.create(profile=profile, kind=kind, trigger=trigger)
        except IntegrityError:
            existing = _open_run(profile, kind)
            if attempt == 0 and fail_if_abandoned(existing):
                continue
            raise JobAlreadyOpen(existing) from None
    raise AssertionError("unreachable")


BROKER_HINT = (
    "The task broker (Redis) could not be reached, so the run was not queued. Check that "
    "Redis is up and REDIS_URL / CELERY_BROKER_URL point at it, then try again."
)


def enqueue(profile: IntegrationProfile | None, kind: str, trigger: str) -> JobRun:
    """Create a queued run and hand it to Celery once the transaction commits (inline when
    no broker is configured). Raises :class:`JobAlreadyOpen` when one is already open. When
    the broker cannot be reached the run is marked failed with a hint at once, instead of
    staying queued and blocking its profile."""
    run = create_run(profile, kind, trigger)

    def hand_over():
        try:
            jobkinds.send(jobkinds.RUN_JOB, run.pk)
        except (KombuOperationalError, ConnectionError, OSError) as exc:
            logger.error("could not queue job %s: %s", run.pk, exc)
            JobRun.objects.filter(pk=run.pk, status=JobRun.Status.QUEUED).update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                error_class=type(exc).__name__,
                error_message=str(exc)[:5000],
                hint=BROKER_HINT,
            )

    transaction.on_commit(hand_over)
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
    """Record the outcome. A database blip while recording is retried on a fresh
    connection, so a run is not left "running" for want of one UPDATE."""
    for delay in (0.5, 2.0, None):
        try:
            return _record_finish(run, status, error=error)
        except DatabaseError:
            if delay is None:
                raise
            close_old_connections()
            time.sleep(delay)


def _record_finish(run: JobRun, status: str, *, error: BaseException | None = None) -> None:
    run.status = status
    run.finished_at = timezone.now()
    if status == JobRun.Status.SUCCEEDED:
        # A handler's own closing sentence is reported at 99% or more; anything earlier was a
        # "so far" message, replaced by what the final counters say.
        if run.progress < 99 or not run.progress_message:
            run.progress_message = run.final_message()[:300]
        run.progress = 100
    if error is not None:
        run.error_class = type(error).__name__
        run.error_message = str(error)[:5000]
        run.hint = getattr(error, "hint", "") or default_hint(error)
    JobRun.objects.filter(pk=run.pk).update(
        status=run.status,
        finished_at=run.finished_at,
        progress=run.progress,
        progress_message=run.progress_message,
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
    :func:`run_now`. What the handler asked to do after it (:func:`after_success`) runs once
    the run is recorded as succeeded."""
    run = claim(run_id, redelivered=redelivered)
    if run is None:
        logger.info("job %s is not queued any more; nothing to do", run_id)
        return None
    token = _handler_running.set(True)
    follow_ups: list[Callable[[], None]] = []
    queued = _follow_ups.set(follow_ups)
    try:
        with recording(run):
            jobkinds.handler_for(run.kind)(run)
    finally:
        _follow_ups.reset(queued)
        _handler_running.reset(token)
    if run.status == JobRun.Status.SUCCEEDED:
        for follow_up in follow_ups:
            follow_up()
    # The dashboard's stored figures refresh what this kind changed (services.figures).
    job_finished.send(sender=JobRun, run=run)
    return run


def after_success(follow_up: Callable[[], None]) -> None:
    """Run ``follow_up`` once the running job is recorded as succeeded (at once outside a
    job). The daily refresh queues its next step this way: queued from inside the handler,
    a worker (or the inline runner) could start the next step before this run's end is
    recorded, and the chain's job results would overlap."""
    pending = _follow_ups.get()
    if pending is None:
        follow_up()
    else:
        pending.append(follow_up)


def handler_running() -> bool:
    """Whether a job's handler is running in this context (what it changes is refreshed
    when it ends, on ``job_finished``)."""
    return _handler_running.get()


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


# The core's own job kinds. Vendor work goes through the connector registry; the other kinds
# are registered by the apps that own them (reclamation: candidates, reclaim).


def run_download(run: JobRun) -> None:
    """Download subscriptions, then (for the daily refresh) queue the activity pull, which
    must see the seats the download just created."""
    from ..connectors import get_connector
    from ..signals import download_completed

    profile = run.profile
    get_connector(profile.provider).download_subscriptions(profile, run)
    download_completed.send(sender=type(profile), profile=profile, run=run)
    if run.trigger == JobRun.Trigger.SCHEDULE:
        if profile.activity_enabled:
            after_success(lambda: queue_activity(profile))
        else:
            after_success(lambda: queue_refresh_steps(profile))


def queue_activity(profile: IntegrationProfile) -> None:
    with suppress(JobAlreadyOpen):
        enqueue(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.SCHEDULE)


def run_activity(run: JobRun) -> None:
    from ..connectors import get_connector

    profile = run.profile
    get_connector(profile.provider).pull_activity(profile, run)
    if run.trigger == JobRun.Trigger.SCHEDULE:
        after_success(lambda: queue_refresh_steps(profile))


def queue_refresh_steps(profile: IntegrationProfile) -> None:
    """The daily refresh chains download → activity → the steps apps register
    (``extensions.register_refresh_step``; reclamation: identify this profile's candidates),
    so they always work on the same day's data. Queued only when the step before succeeded:
    a failed download or activity pull stops the chain and its job result says why."""
    from .. import extensions

    for kind in extensions.registry.refresh_steps:
        with suppress(JobAlreadyOpen):
            enqueue(profile, kind, JobRun.Trigger.SCHEDULE)


def run_validate(run: JobRun) -> None:
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
