"""The job-kind registry: apps register kinds, task senders and beat entries from ready()."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config.celery import app
from sam_saas import jobkinds
from sam_saas.models import JobRun


def test_it_holds_the_kinds_each_app_registered_with_their_scope():
    kinds = {kind.value: kind for kind in jobkinds.registered()}
    assert {value: kind.scope for value, kind in kinds.items()} == {
        "download": jobkinds.PROFILE,
        "activity": jobkinds.PROFILE,
        "validate": jobkinds.PROFILE,
        "reconcile": jobkinds.GLOBAL,
        # Recorded by every saved people import (admin upload, manage.py import_people).
        "people_import": jobkinds.GLOBAL,
        # Per profile; a run without a profile re-judges every profile's seats.
        "apply_rules": jobkinds.PROFILE,
        # Registered by the reclamation app, not listed by the core.
        "candidates": jobkinds.GLOBAL,
        "reclaim": jobkinds.GLOBAL,
        # The last step of each profile's daily refresh.
        "profile_candidates": jobkinds.PROFILE,
    }
    assert kinds["candidates"].handler.__module__ == "reclamation.jobs"
    assert not hasattr(JobRun.Kind, "CANDIDATES")


def test_it_gives_the_job_run_field_the_registry_as_choices(monkeypatch):
    field = JobRun._meta.get_field("kind")
    assert ("candidates", "Identify reclamation candidates") in field.choices
    monkeypatch.setitem(
        jobkinds._kinds, "archive", jobkinds.JobKind("archive", "Archive", lambda run: None)
    )
    # Read at use, so a kind registered later shows up without a migration.
    assert ("archive", "Archive") in JobRun._meta.get_field("kind").choices


def test_it_builds_the_beat_schedule_from_the_apps_entries():
    schedule = app.conf.beat_schedule
    assert sorted(schedule) == [
        "dispatch-due-refreshes",
        "identify-reclamation-candidates",
        "prune-job-runs",
        "reconcile",
    ]
    assert schedule["identify-reclamation-candidates"]["args"] == ("candidates",)
    app.loader.import_default_modules()
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry  # every entry names a real task
        for kind in entry.get("args", ()):
            assert jobkinds.get(kind).is_global


def test_it_says_which_task_no_app_sends():
    with pytest.raises(jobkinds.NoSender, match="'nobody.sends_this'"):
        jobkinds.send("nobody.sends_this", 1)


@pytest.mark.django_db
def test_it_offers_every_registered_kind_to_manage_py_refresh():
    with pytest.raises(CommandError, match="invalid choice: 'archive'") as error:
        call_command("refresh", "--process", "archive")
    for kind in ("download", "validate", "reconcile", "candidates", "reclaim"):
        assert kind in str(error.value)
