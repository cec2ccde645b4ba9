"""Job runs: one open run per profile and kind, claimed once, with the outcome recorded."""

import pytest
from django.db import IntegrityError, transaction

from sam_saas import jobkinds
from sam_saas.connectors import ConnectorError
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun
from sam_saas.services import jobs
from tests.helpers import replace_handler

pytestmark = pytest.mark.django_db


@pytest.fixture
def profile():
    alias = ConnectionAlias.objects.create(name="jobs-alias")
    return IntegrationProfile.objects.create(name="Jobs", alias=alias)


def test_it_allows_one_open_run_per_profile_and_kind(profile):
    jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL)
    with pytest.raises(jobs.JobAlreadyOpen):
        jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    jobs.create_run(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.MANUAL)  # other kind: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        JobRun.objects.create(
            profile=profile, kind=JobRun.Kind.DOWNLOAD, status=JobRun.Status.RUNNING
        )


def test_it_allows_one_open_global_run_per_kind():
    jobs.create_run(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)
    with pytest.raises(jobs.JobAlreadyOpen):
        jobs.create_run(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)


def test_it_allows_a_new_run_once_the_last_finished(profile):
    run = jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL)
    jobs.finish(run, JobRun.Status.SUCCEEDED)
    assert jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL).pk != run.pk


def test_it_claims_a_queued_run_once(profile):
    run = jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.MANUAL)
    assert jobs.claim(run.pk) is not None
    assert jobs.claim(run.pk) is None
    assert jobs.claim(run.pk, redelivered=True) is not None  # a redelivered task takes over


def test_it_records_a_connector_failure_with_its_hint(profile, monkeypatch):
    def fail(run):
        jobs.add_counts(run, fetched=200, api_calls=3)
        raise ConnectorError("Calendly answered 500 three times", hint="Retry later.")

    replace_handler(monkeypatch, JobRun.Kind.DOWNLOAD, fail)
    run = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    assert run.status == JobRun.Status.FAILED
    assert (run.error_class, run.hint) == ("ConnectorError", "Retry later.")
    assert "500" in run.error_message
    assert (run.fetched, run.api_calls) == (200, 3)
    assert run.finished_at is not None


def test_it_records_an_unexpected_failure_with_a_generic_hint(profile, monkeypatch):
    replace_handler(monkeypatch, JobRun.Kind.DOWNLOAD, lambda run: 1 / 0)
    run = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    assert run.status == JobRun.Status.FAILED
    assert run.error_class == "ZeroDivisionError"
    assert "worker log" in run.hint


def test_it_fails_a_queued_run_whose_kind_no_installed_app_handles(monkeypatch):
    # A run queued while its app was installed, executed after the app was removed: a
    # failure that says so, never a silent success.
    run = jobs.create_run(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)
    monkeypatch.delitem(jobkinds._kinds, JobRun.Kind.RECONCILE)
    jobs.execute(run.pk)
    run.refresh_from_db()
    assert run.status == JobRun.Status.FAILED
    assert run.error_class == "NoHandler"
    assert run.error_message == "No app handles job kind 'reconcile'."
    assert "INSTALLED_APPS" in run.hint


def test_it_refuses_to_queue_a_kind_that_no_installed_app_handles():
    with pytest.raises(jobkinds.NoHandler, match="No app handles job kind 'archive'"):
        jobs.enqueue(None, "archive", JobRun.Trigger.MANUAL)
    assert not JobRun.objects.exists()


def test_it_labels_a_run_of_an_uninstalled_kind_by_its_value(monkeypatch):
    run = jobs.create_run(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)
    assert run.get_kind_display() == "Reconcile"
    monkeypatch.delitem(jobkinds._kinds, JobRun.Kind.RECONCILE)
    assert JobRun.objects.get(pk=run.pk).get_kind_display() == "reconcile"
