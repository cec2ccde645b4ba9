"""Job results are true when they end: the final message comes from the final counters, and
"Failed jobs (24 h)" counts the profile and kind pairs whose latest run failed."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from calendly_integration import download
from sam_saas.models import JobRun
from sam_saas.services import jobs
from tests import factories
from tests.reports.test_dashboard import _tile, _tile_value

pytestmark = pytest.mark.django_db


def test_a_finished_download_says_what_it_fetched_in_all(sandbox, make_pat_profile, monkeypatch):
    org = sandbox.state.add_organization(name="Big Inc", members=262, plan="teams", seed=4)
    profile = make_pat_profile(name="Big", token=org.admin_token)
    monkeypatch.setattr(download, "PROGRESS_EVERY_SECONDS", 0)  # report every page
    reported = []
    original = jobs.report_progress

    def spy(run, percent, message=""):
        reported.append(message)
        original(run, percent, message)

    monkeypatch.setattr(jobs, "report_progress", spy)
    run = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)

    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert any("so far" in m for m in reported)  # it did report part-way
    assert run.fetched >= 262
    assert "so far" not in run.progress_message
    assert f"fetched {run.fetched:,}" in run.progress_message
    assert f"created {run.created:,}" in run.progress_message
    assert run.progress_message == run.final_message() and run.progress == 100


def test_a_manual_activity_refresh_reports_its_final_counts(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Act Inc", members=20, plan="enterprise", seed=8)
    profile = make_pat_profile(name="Act", token=org.admin_token)
    jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL)
    run = jobs.run_now(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.MANUAL)
    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert run.fetched > 0
    assert run.progress_message == run.final_message()
    assert f"fetched {run.fetched:,}" in run.progress_message


def test_failed_jobs_count_pairs_whose_latest_run_failed(admin_client):
    now = timezone.now()
    a, b = factories.IntegrationProfileFactory(), factories.IntegrationProfileFactory()

    def finished(profile, kind, status, minutes_ago):
        return factories.JobRunFactory(
            profile=profile,
            kind=kind,
            status=status,
            finished_at=now - dt.timedelta(minutes=minutes_ago),
        )

    failed, ok = JobRun.Status.FAILED, JobRun.Status.SUCCEEDED
    finished(a, JobRun.Kind.DOWNLOAD, failed, 60)
    finished(a, JobRun.Kind.DOWNLOAD, ok, 30)  # a successful rerun clears it
    finished(a, JobRun.Kind.ACTIVITY, failed, 50)
    finished(a, JobRun.Kind.ACTIVITY, failed, 20)  # one pair, failing twice: counted once
    finished(b, JobRun.Kind.DOWNLOAD, failed, 10)
    finished(None, JobRun.Kind.RECONCILE, failed, 40)  # a global job is a pair too
    finished(None, JobRun.Kind.RECONCILE, failed, 5)
    finished(b, JobRun.Kind.ACTIVITY, failed, 60 * 30)  # older than 24 hours

    since = now - dt.timedelta(hours=24)
    assert JobRun.objects.latest_failed(since=since).count() == 3
    assert JobRun.objects.latest_failed().count() == 4

    page = admin_client.get(reverse("sam_dashboard")).content.decode()
    assert _tile_value(page, "failed_jobs") == "3"
    assert "?failing=24h" in _tile(page, "failed_jobs")
    listed = admin_client.get(
        reverse("admin:sam_saas_jobrun_changelist"), {"failing": "24h"}
    ).context["cl"]
    assert listed.result_count == 3
