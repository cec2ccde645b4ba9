"""The beat dispatcher picks due profiles, and only those, and queues each exactly once."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun
from sam_saas.services import dispatch
from tests.helpers import replace_handler

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def no_real_download(monkeypatch):
    """The dispatcher's job is to queue; what a download does is tested elsewhere."""
    ran = []
    replace_handler(monkeypatch, JobRun.Kind.DOWNLOAD, lambda run: ran.append(run.pk))
    return ran


def make_profile(name, *, status="published", next_at=None):
    alias = ConnectionAlias.objects.create(name=f"alias-{name}")
    profile = IntegrationProfile.objects.create(name=name, alias=alias, status=status)
    if next_at is not None:
        IntegrationProfile.objects.filter(pk=profile.pk).update(next_refresh_at=next_at)
        profile.refresh_from_db()
    return profile


def test_it_queues_due_published_profiles_only(django_capture_on_commit_callbacks):
    due = make_profile("due", next_at=NOW - dt.timedelta(minutes=5))
    exactly_now = make_profile("exactly-now", next_at=NOW)
    make_profile("later", next_at=NOW + dt.timedelta(minutes=1))
    make_profile("draft", status="draft", next_at=NOW - dt.timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=False):
        result = dispatch.dispatch_due_refreshes(now=NOW)

    assert sorted(result.queued) == sorted([due.pk, exactly_now.pk])
    runs = JobRun.objects.filter(kind=JobRun.Kind.DOWNLOAD)
    assert {r.profile_id for r in runs} == {due.pk, exactly_now.pk}
    assert all(r.trigger == JobRun.Trigger.SCHEDULE for r in runs)


def test_it_advances_the_next_refresh_so_the_next_tick_queues_nothing(
    django_capture_on_commit_callbacks,
):
    profile = make_profile("daily", next_at=NOW - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=False):
        first = dispatch.dispatch_due_refreshes(now=NOW)
        second = dispatch.dispatch_due_refreshes(now=NOW + dt.timedelta(minutes=15))
    profile.refresh_from_db()
    assert first.queued == [profile.pk]
    assert second.queued == []
    assert profile.next_refresh_at > NOW
    assert profile.next_refresh_at - NOW <= dt.timedelta(days=1)


def test_it_does_not_queue_a_second_run_while_one_is_open(django_capture_on_commit_callbacks):
    profile = make_profile("busy", next_at=NOW - dt.timedelta(minutes=1))
    JobRun.objects.create(profile=profile, kind=JobRun.Kind.DOWNLOAD, status=JobRun.Status.RUNNING)
    with django_capture_on_commit_callbacks(execute=False):
        result = dispatch.dispatch_due_refreshes(now=NOW)
    assert result.queued == []
    assert result.skipped == [profile.pk]
    assert JobRun.objects.filter(profile=profile).count() == 1


def test_it_runs_the_queued_download_when_the_transaction_commits(
    django_capture_on_commit_callbacks, no_real_download
):
    profile = make_profile("inline", next_at=NOW - dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.dispatch_due_refreshes(now=NOW)
    run = JobRun.objects.get(profile=profile)
    assert no_real_download == [run.pk]
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.started_at and run.finished_at


def test_it_does_not_pick_a_profile_whose_time_is_tomorrow_in_its_zone():
    # 02:00 in Sydney on 28 Nov is 15:00 UTC on 27 Nov: not due at 12:00 UTC.
    alias = ConnectionAlias.objects.create(name="syd")
    profile = IntegrationProfile.objects.create(
        name="sydney",
        alias=alias,
        status="published",
        refresh_time=dt.time(2, 0),
        refresh_timezone="Australia/Sydney",
    )
    profile.next_refresh_at = profile.compute_next_refresh(after=NOW)
    IntegrationProfile.objects.filter(pk=profile.pk).update(next_refresh_at=profile.next_refresh_at)
    assert profile.next_refresh_at == dt.datetime(2026, 11, 27, 15, 0, tzinfo=dt.UTC)
    assert list(dispatch.due_profiles(NOW)) == []
    assert list(dispatch.due_profiles(profile.next_refresh_at)) == [profile]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_queues_once_when_two_dispatchers_race():
    profile = make_profile("race", next_at=timezone.now() - dt.timedelta(minutes=1))
    barrier = threading.Barrier(2)
    results = []

    def dispatcher():
        try:
            barrier.wait()
            results.append(dispatch.dispatch_due_refreshes())
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r.queued) for r in results) == 1
    assert JobRun.objects.filter(profile=profile, kind=JobRun.Kind.DOWNLOAD).count() == 1
