"""What the profile admin's buttons do, as service functions (the admin only reports)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..connectors import ConnectorError
from ..models import IntegrationProfile, JobRun
from . import jobs
from .connections import validate_profile_connection


@dataclass
class ActionReport:
    done: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def queue_refresh(profiles, kind: str = JobRun.Kind.DOWNLOAD) -> ActionReport:
    """Queue a refresh of each profile, skipping those with one already queued or running."""
    report = ActionReport()
    for profile in profiles:
        if kind == JobRun.Kind.ACTIVITY and not profile.activity_enabled:
            report.skipped.append(f"{profile}: pulling activity is switched off")
            continue
        try:
            run = jobs.enqueue(profile, kind, JobRun.Trigger.MANUAL)
        except jobs.JobAlreadyOpen:
            report.skipped.append(f"{profile}: a run is already queued or running")
            continue
        run.refresh_from_db(fields=["status", "hint"])
        if run.hint == jobs.BROKER_HINT:
            report.skipped.append(f"{profile}: {jobs.BROKER_HINT}")
        else:
            report.done.append(str(profile))
    return report


def validate_profiles(profiles) -> ActionReport:
    report = ActionReport()
    for profile in profiles:
        try:
            check = validate_profile_connection(profile)
        except ConnectorError as exc:
            report.skipped.append(f"{profile}: {exc} {exc.hint}".strip())
        else:
            text = f"{profile}: {check.organization_name} on plan {check.plan}"
            if check.warnings:
                text += " — " + " ".join(check.warnings)
            report.done.append(text)
    return report


def open_runs(profile: IntegrationProfile):
    return profile.job_runs.filter(status__in=JobRun.OPEN_STATUSES)
