"""What the profile admin's buttons do, as service functions (the admin only reports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..models import JobRun
from . import jobs, lifecycle


@dataclass
class ActionReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # A done or skipped line → the job run it queued (or found open), for the message's link.
    runs: dict[str, int] = field(default_factory=dict)


def queue_refresh(profiles, kind: str = JobRun.Kind.DOWNLOAD) -> ActionReport:
    """Queue a refresh of each profile, skipping those with one already queued or running."""
    report = ActionReport()
    for profile in profiles:
        if kind == JobRun.Kind.ACTIVITY and not profile.activity_enabled:
            report.skipped.append(f"{profile}: pulling activity is switched off")
            continue
        try:
            run = jobs.enqueue(profile, kind, JobRun.Trigger.MANUAL)
        except jobs.JobAlreadyOpen as exc:
            line = f"{profile}: a run is already queued or running"
            report.skipped.append(line)
            if getattr(exc, "existing", None) is not None:
                report.runs[line] = exc.existing.pk
            continue
        run.refresh_from_db(fields=["status", "hint"])
        if run.hint == jobs.BROKER_HINT:
            report.skipped.append(f"{profile}: {jobs.BROKER_HINT}")
        else:
            report.done.append(str(profile))
            report.runs[str(profile)] = run.pk
    return report


def validate_profiles(profiles, actor=None) -> ActionReport:
    """Run the publish gate's checks on each profile (``lifecycle.validate``)."""
    report = ActionReport()
    for profile in profiles:
        validation = lifecycle.validate(profile, actor=actor)
        if validation.passed:
            profile.refresh_from_db(fields=["organization_name", "organization_plan"])
            report.done.append(
                f"{profile}: {profile.organization_name} on plan {profile.organization_plan}, "
                f"{len(validation.checks)} checks passed"
            )
        else:
            failed = "; ".join(
                f"{check['label']}: {check['detail']} {check['hint']}".strip()
                for check in validation.failed_checks
            )
            report.skipped.append(f"{profile}: {failed}")
    return report


def publish_profiles(profiles) -> ActionReport:
    report = ActionReport()
    for profile in profiles:
        try:
            lifecycle.publish(profile)
        except lifecycle.PublishRefused as exc:
            report.skipped.append(f"{profile}: {exc}")
        else:
            report.done.append(str(profile))
    return report
