"""Each profile's daily refresh over the fake Calendly: download → activity → identification
of that profile's candidates, each step queued only when the one before succeeded; the
profile page shows each kind with its next run, its last run and the result."""

import pytest
from django.urls import reverse

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from sam_saas.models import JobRun
from sam_saas.services import dispatch, jobs

pytestmark = pytest.mark.django_db


def kinds_in_order(profile):
    return list(
        JobRun.objects.filter(profile=profile)
        .order_by("queued_at", "id")
        .values_list("kind", "status", "trigger")
    )


def test_the_daily_refresh_chains_download_activity_and_the_profiles_identification(
    sandbox, make_pat_profile, django_capture_on_commit_callbacks
):
    profile = make_pat_profile()
    other = make_pat_profile(name="Other", token=sandbox.state.default_org.owner_token)
    from django.utils import timezone

    type(profile).objects.filter(pk=profile.pk).update(next_refresh_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        result = dispatch.dispatch_due_refreshes()
    assert result.queued == [profile.pk]
    assert kinds_in_order(profile) == [
        ("download", "succeeded", "schedule"),
        ("activity", "succeeded", "schedule"),
        (JobKind.PROFILE_CANDIDATES, "succeeded", "schedule"),
    ]
    download, activity, identification = JobRun.objects.filter(profile=profile).order_by("id")
    assert download.finished_at <= activity.started_at
    assert activity.finished_at <= identification.started_at
    assert identification.created == ReclamationCandidate.objects.filter(profile=profile).count()
    assert identification.created > 0
    # The other profile was not due: nothing ran for it, and no global identification ran.
    assert not JobRun.objects.filter(profile=other).exists()
    assert not JobRun.objects.filter(kind=JobKind.CANDIDATES).exists()


def test_without_activity_identification_follows_the_download(
    make_pat_profile, django_capture_on_commit_callbacks
):
    profile = make_pat_profile()
    profile.activity_enabled = False
    profile.save()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    assert [k for k, _, _ in kinds_in_order(profile)] == ["download", JobKind.PROFILE_CANDIDATES]


def test_a_failed_step_stops_the_chain(
    sandbox, make_pat_profile, django_capture_on_commit_callbacks
):
    profile = make_pat_profile()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
        sandbox.state.faults.fail_every = 1  # Calendly is down once the download is queued
    statuses = kinds_in_order(profile)
    sandbox.state.faults.fail_every = None
    assert statuses[0][:2] == ("download", "failed")
    assert len(statuses) == 1  # no activity pull, no identification on stale data


def test_a_manual_download_does_not_chain(make_pat_profile, django_capture_on_commit_callbacks):
    profile = make_pat_profile()
    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL)
    assert [k for k, _, _ in kinds_in_order(profile)] == ["download"]


def test_the_profile_page_shows_each_scheduled_kind_with_next_and_last_run(
    admin_client, make_pat_profile, django_capture_on_commit_callbacks
):
    profile = make_pat_profile()
    url = reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk])
    html = admin_client.get(url).content.decode()
    table = html[html.index('<table id="scheduled-jobs">') :]
    for kind in ("download", "activity", JobKind.PROFILE_CANDIDATES):
        assert f'data-kind="{kind}"' in table
    assert table.count("never ran") == 3
    assert f"daily at 02:00 {profile.refresh_timezone}" in table
    assert "after “Refresh subscriptions” succeeds" in table

    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    html = admin_client.get(url).content.decode()
    table = html[html.index('<table id="scheduled-jobs">') :]
    assert "never ran" not in table and table.count("Succeeded") >= 3

    profile.status = "draft"
    profile.save()
    html = admin_client.get(url).content.decode()
    assert "not scheduled: the profile is Draft" in html


@pytest.mark.django_db(transaction=True)
def test_each_step_starts_after_the_step_before_is_recorded_finished(make_pat_profile):
    """Outside a test transaction the next step is handed over as soon as it is queued, as a
    worker takes it: queued from inside the download's handler, the activity pull started
    before the download's end was recorded (a flaky worker test caught it by 1.4 ms)."""
    profile = make_pat_profile()
    jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    download, activity, identification = JobRun.objects.filter(profile=profile).order_by("id")
    assert [download.kind, activity.kind, identification.kind] == [
        "download",
        "activity",
        JobKind.PROFILE_CANDIDATES,
    ]
    assert {download.status, activity.status, identification.status} == {"succeeded"}
    assert download.finished_at <= activity.started_at
    assert activity.finished_at <= identification.started_at


def test_a_follow_up_outside_a_job_runs_at_once():
    ran = []
    jobs.after_success(lambda: ran.append(True))
    assert ran == [True]
