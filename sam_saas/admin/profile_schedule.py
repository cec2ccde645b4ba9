"""The profile page's scheduled jobs: each kind of the daily refresh chain (download →
activity → the steps apps register) with its next run time, its last run and that run's
result."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join

from .. import extensions, jobkinds
from ..models import JobRun


def chain(profile) -> list[str]:
    kinds = [JobRun.Kind.DOWNLOAD]
    if profile.activity_enabled:
        kinds.append(JobRun.Kind.ACTIVITY)
    return [str(kind) for kind in [*kinds, *extensions.registry.refresh_steps]]


def _label(kind: str) -> str:
    try:
        return jobkinds.get(kind).label
    except jobkinds.NoHandler:
        return kind


def rows(profile) -> list[dict]:
    kinds = chain(profile)
    result = []
    for index, kind in enumerate(kinds):
        if index == 0:
            if profile.is_published and profile.next_refresh_at:
                zone = profile.refresh_timezone
                next_run = f"{profile.next_refresh_at:%Y-%m-%d %H:%M} UTC (daily at "
                next_run += f"{profile.refresh_time:%H:%M} {zone})"
            else:
                next_run = f"not scheduled: the profile is {profile.get_status_display()}"
        else:
            next_run = f"after “{_label(kinds[index - 1])}” succeeds"
        last = (
            JobRun.objects.filter(profile=profile, kind=kind).order_by("-queued_at", "-id").first()
        )
        result.append({"kind": kind, "label": _label(kind), "next": next_run, "last": last})
    return result


def _last(run: JobRun | None):
    if run is None:
        return "never ran"
    when = run.finished_at or run.started_at or run.queued_at
    text = format_html(
        '<a href="{}">{}</a> {} ({})',
        reverse("admin:sam_saas_jobrun_change", args=[run.pk]),
        run.get_status_display(),
        f"{when:%Y-%m-%d %H:%M}",
        run.get_trigger_display(),
    )
    if run.status == JobRun.Status.FAILED:
        text = format_html("{}: {} {}", text, run.error_message[:200], run.hint)
    return text


def render(profile):
    body = format_html_join(
        "",
        '<tr data-kind="{}"><td>{}</td><td>{}</td><td>{}</td></tr>',
        ((row["kind"], row["label"], row["next"], _last(row["last"])) for row in rows(profile)),
    )
    return format_html(
        '<table id="scheduled-jobs"><thead><tr><th>Job</th><th>Next run</th>'
        "<th>Last run and result</th></tr></thead><tbody>{}</tbody></table>"
        "<p>Each step starts only when the one before succeeded, so candidates come from the "
        "same day's data. A global daily sweep moves workflow deadlines on.</p>",
        body,
    )
