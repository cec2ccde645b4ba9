"""The reclamation app's jobs: the handlers of its two kinds, and their registration with the
core (``sam_saas.jobkinds``) from ``ReclamationConfig.ready()``: the kinds, the task sender
that removes one seat, and the daily beat entry. The handlers sit above the services they
run, so no service imports another's job code."""

from __future__ import annotations

from celery.schedules import crontab
from django.utils import timezone

from sam_saas import extensions, jobkinds
from sam_saas.models import JobRun
from sam_saas.services import jobs

from . import tasks
from .kinds import RECLAIM_CANDIDATE, JobKind
from .models import ReclamationCandidate
from .services import identification, reclaiming, sweeps, transitions


def run_profile_identification_job(run: JobRun) -> None:
    """The PROFILE_CANDIDATES job: the last step of the profile's daily refresh, chained after
    its download and activity pull (``sam_saas.services.jobs.queue_refresh_steps``), so its
    candidates come from the same day's data, in the profile's own time zone."""
    jobs.report_progress(run, 5, "Identifying candidates")
    result = identification.identify(profiles=[run.profile])
    run.warnings = [*run.warnings, *result.warnings]
    jobs.add_counts(run, created=result.raised, removed=result.closed)
    jobs.report_progress(run, 99, f"{result.raised} raised, {result.closed} closed")


def run_identification_job(run: JobRun) -> None:
    """The global CANDIDATES job. Scheduled (daily), it is only the sweep for workflow
    deadlines, since each profile identifies its own candidates at the end of its refresh:
    expire unanswered notifications, start Ready candidates raised by an earlier run, resolve
    Attention Required, and queue again reclaims whose task was lost. Started by hand
    ("Identify candidates now", ``manage.py refresh --process candidates``) it identifies the
    candidates of every published profile first."""
    started = run.started_at or timezone.now()
    if run.trigger == JobRun.Trigger.SCHEDULE:
        result = identification.IdentificationResult()
    else:
        jobs.report_progress(run, 5, "Identifying candidates")
        result = identification.identify()
    # Attention Required for want of a user returns to Ready once a person matches the seat.
    resolved = sweeps.resolve_attention()
    jobs.report_progress(run, 70, "Expiring unanswered notifications")
    expired = sweeps.expire_awaiting_user()
    jobs.report_progress(run, 85, "Starting Ready candidates")
    advanced = sweeps.advance_ready(before=started)
    requeued = sweeps.requeue_stranded()
    run.warnings = [*run.warnings, *result.warnings]
    if requeued:
        run.warnings.append(f"Queued again {len(requeued)} reclaim(s) whose task was lost.")
    jobs.add_counts(
        run,
        created=result.raised,
        removed=result.closed,
        updated=len(expired.done) + len(advanced.done) + len(resolved),
    )
    jobs.report_progress(
        run,
        99,
        f"{result.raised} raised, {result.closed} closed, {len(expired.done)} expired, "
        f"{len(advanced.done)} started",
    )


def run_reclaim_job(run: JobRun) -> None:
    """The RECLAIM job: reclaim, in this process, every unclaimed Awaiting Revocation candidate
    of profiles with reclaiming on (of ``run.profile`` when set). A safety net for lost tasks
    and the way to reclaim from the command line; the loop is over candidates, one API call
    each."""
    qs = ReclamationCandidate.objects.filter(
        state=ReclamationCandidate.State.AWAITING_REVOCATION, profile__reclaim_enabled=True
    ).filter(transitions.unclaimed())
    if run.profile_id:
        qs = qs.filter(profile_id=run.profile_id)
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    outcomes: dict[str, int] = {}
    for index, candidate_id in enumerate(ids, start=1):
        try:
            outcome = reclaiming.reclaim(candidate_id, final_attempt=False)
        except reclaiming.TransientReclaimError as exc:
            outcome = "retry_later"
            run.warnings.append(f"Candidate {candidate_id}: {exc} (retried by the next run)")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        jobs.report_progress(run, 100 * index // len(ids), f"{index} of {len(ids)} candidates")
    jobs.add_counts(
        run,
        fetched=len(ids),
        removed=outcomes.get(reclaiming.Outcome.COMPLETE, 0),
        updated=len(ids) - outcomes.get(reclaiming.Outcome.COMPLETE, 0),
    )


def register() -> None:
    jobkinds.register(
        JobKind.CANDIDATES,
        JobKind.CANDIDATES.label,
        run_identification_job,
        scope=jobkinds.GLOBAL,
    )
    jobkinds.register(
        JobKind.RECLAIM, JobKind.RECLAIM.label, run_reclaim_job, scope=jobkinds.GLOBAL
    )
    jobkinds.register(
        JobKind.PROFILE_CANDIDATES,
        JobKind.PROFILE_CANDIDATES.label,
        run_profile_identification_job,
        scope=jobkinds.PROFILE,
    )
    extensions.register_refresh_step(JobKind.PROFILE_CANDIDATES)
    jobkinds.register_sender(
        RECLAIM_CANDIDATE, lambda candidate_id: tasks.reclaim_candidate.delay(candidate_id)
    )
    # Daily: the sweep for workflow deadlines (each profile identifies its own candidates).
    jobkinds.register_beat(
        "identify-reclamation-candidates",
        "sam_saas.tasks.enqueue_global_job",
        crontab(hour=6, minute=30),
        args=(JobKind.CANDIDATES.value,),
    )
