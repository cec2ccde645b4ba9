"""The history cannot be rewritten, and each group does what its page says.

Candidate events and job runs are read-only for every role in the admin, superusers included;
old job runs leave only through ``prune_job_runs``; seats from the vendor cannot be deleted by
hand; the integrator sets up connections but cannot approve."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from reclamation.models import CandidateEvent, ReclamationCandidate, ReclamationRule
from sam_saas import permissions
from sam_saas.models import (
    ConnectionAlias,
    IntegrationProfile,
    JobRun,
    SoftwareSubscription,
)
from sam_saas.services import retention
from tests import factories

from .conftest import client_for

pytestmark = pytest.mark.django_db

EVERY_ROLE = ["superuser", "SAM manager", "SAM approver", "SAM integrator", "SAM viewer"]


@pytest.fixture
def history():
    run = factories.JobRunFactory()
    candidate = factories.ReclamationCandidateFactory()
    event = factories.CandidateEventFactory(candidate=candidate)
    return run, candidate, event


@pytest.mark.parametrize("role", EVERY_ROLE)
def test_job_runs_and_candidate_events_are_read_only_for_every_role(role, history):
    run, candidate, event = history
    client = client_for(role)

    page = client.get(reverse("admin:sam_saas_jobrun_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "deletelink" not in html
    assert client.post(reverse("admin:sam_saas_jobrun_delete", args=[run.pk])).status_code == 403
    listing = client.get(reverse("admin:sam_saas_jobrun_changelist"))
    assert "delete_selected" not in listing.content.decode()
    client.post(
        reverse("admin:sam_saas_jobrun_changelist"),
        {"action": "delete_selected", "_selected_action": [run.pk], "post": "yes"},
    )

    url = reverse("admin:reclamation_reclamationcandidate_change", args=[candidate.pk])
    html = client.get(url).content.decode()
    assert 'name="_save"' not in html
    assert "DELETE" not in html  # no delete checkbox on the event rows
    delete = reverse("admin:reclamation_reclamationcandidate_delete", args=[candidate.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    listing = client.get(reverse("admin:reclamation_reclamationcandidate_changelist"))
    assert "delete_selected" not in listing.content.decode()

    assert JobRun.objects.filter(pk=run.pk).exists()
    assert ReclamationCandidate.objects.filter(pk=candidate.pk).exists()
    assert CandidateEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("role", ["superuser", "SAM manager"])
def test_seats_from_the_vendor_cannot_be_deleted_by_hand(role):
    seat = factories.SoftwareSubscriptionFactory()
    client = client_for(role)
    delete = reverse("admin:sam_saas_softwaresubscription_delete", args=[seat.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    listing = client.get(reverse("admin:sam_saas_softwaresubscription_changelist"))
    assert "delete_selected" not in listing.content.decode()
    assert SoftwareSubscription.objects.filter(pk=seat.pk).exists()


def test_the_integrator_creates_and_edits_profiles_and_aliases():
    client = client_for("SAM integrator")
    response = client.post(
        reverse("admin:sam_saas_connectionalias_add"),
        {
            "name": "Initech PAT",
            "provider": "calendly",
            "auth_type": ConnectionAlias.AuthType.PERSONAL_TOKEN,
            "access_token": "secret-pat",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alias = ConnectionAlias.objects.get(name="Initech PAT")
    response = client.post(
        reverse("admin:sam_saas_integrationprofile_add"),
        {
            "name": "Initech",
            "provider": "calendly",
            "alias": alias.pk,
            "activity_enabled": "on",
            "reclaim_enabled": "on",
            "analyze_activity_from": timezone.localdate().isoformat(),
            "refresh_time": "02:00",
            "refresh_timezone": "Europe/Paris",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    profile = IntegrationProfile.objects.get(name="Initech")
    assert profile.status == IntegrationProfile.Status.DRAFT
    change = reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk])
    assert 'id="validate-profile"' in client.get(change).content.decode()
    # Nothing else: no deleting profiles, no software models, no rules.
    delete = reverse("admin:sam_saas_integrationprofile_delete", args=[profile.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:sam_saas_softwaremodel_add")).status_code == 403
    assert (
        client.get(reverse("admin:sam_saas_subscriptionuserexclusionrule_add")).status_code == 403
    )


def test_the_integrator_cannot_approve_or_change_a_rule():
    candidate = factories.ReclamationCandidateFactory(
        state=ReclamationCandidate.State.AWAITING_APPROVAL
    )
    client = client_for("SAM integrator")
    changelist = reverse("admin:reclamation_reclamationcandidate_changelist")
    html = client.get(changelist).content.decode()
    assert 'value="approve"' not in html and 'value="reject"' not in html
    client.post(
        changelist, {"action": "approve", "_selected_action": [candidate.pk], "post": "yes"}
    )
    candidate.refresh_from_db()
    assert candidate.state == ReclamationCandidate.State.AWAITING_APPROVAL
    rule = ReclamationRule.objects.get(pk=candidate.rule_id)
    change = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])
    assert client.post(change, {"name": "hijacked"}).status_code == 403
    user = factories.UserFactory(groups=["SAM integrator"])
    assert not user.has_perm("reclamation.approve_reclamationcandidate")
    assert user.has_perm("sam_saas.change_integrationprofile")
    assert not user.has_perm("sam_saas.delete_integrationprofile")


@pytest.mark.parametrize(
    "name, words",
    [
        (permissions.MANAGER, "approves, rejects and reclaims candidates"),
        (permissions.APPROVER, "Approves and rejects reclamation candidates"),
        (permissions.INTEGRATOR, "Cannot approve"),
        (permissions.VIEWER, "Sees everything, changes nothing."),
    ],
)
def test_each_group_page_describes_what_it_may_do(admin_client, name, words):
    group = Group.objects.get(name=name)
    html = admin_client.get(reverse("admin:auth_group_change", args=[group.pk])).content.decode()
    assert words in html
    assert "Nobody, superusers included, edits or deletes job results" in html
    assert words in admin_client.get(reverse("admin:auth_group_changelist")).content.decode()


def test_the_demo_login_is_a_sam_manager_not_a_superuser(settings, django_user_model):
    settings.DEBUG = True
    call_command("demo_setup")
    demo = django_user_model.objects.get(username="demo")
    assert not demo.is_superuser and demo.is_staff
    assert list(demo.groups.values_list("name", flat=True)) == [permissions.MANAGER]
    assert demo.has_perm("reclamation.approve_reclamationcandidate")
    run = factories.JobRunFactory()
    from django.test import Client

    client = Client()
    client.force_login(demo)
    assert client.post(reverse("admin:sam_saas_jobrun_delete", args=[run.pk])).status_code == 403


# -- retention ---------------------------------------------------------------------------------


def old_run(profile, kind, days, status=JobRun.Status.SUCCEEDED):
    at = timezone.now() - dt.timedelta(days=days)
    return factories.JobRunFactory(
        profile=profile, kind=kind, status=status, queued_at=at, finished_at=at
    )


def test_prune_removes_old_finished_runs_but_keeps_the_newest_of_each_kind():
    profile = factories.IntegrationProfileFactory()
    gone = [old_run(profile, "download", 400), old_run(profile, "download", 300)]
    newest_download = old_run(profile, "download", 200)
    only_activity = old_run(profile, "activity", 500)
    recent = old_run(profile, "download", 3)
    old_global = old_run(None, "reconcile", 400)
    newest_global = old_run(None, "reconcile", 250)
    stuck = factories.JobRunFactory(
        profile=profile,
        kind="validate",
        status=JobRun.Status.RUNNING,
        queued_at=timezone.now() - dt.timedelta(days=900),
    )
    assert retention.prune_job_runs(180) == 4
    left = set(JobRun.objects.values_list("pk", flat=True))
    assert not left & {run.pk for run in [*gone, old_global]}
    # The newest download older than the cut-off goes too: a newer one (3 days) supersedes it.
    assert newest_download.pk not in left
    assert {only_activity.pk, recent.pk, newest_global.pk, stuck.pk} <= left


def test_the_prune_command_and_its_beat_entry(settings, capsys):
    profile = factories.IntegrationProfileFactory()
    old_run(profile, "download", 100)
    old_run(profile, "download", 1)
    call_command("prune_job_runs", "--older-than", "30")
    assert "Removed 1 job runs older than 30 days." in capsys.readouterr().out
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("prune_job_runs", "--older-than", "0")

    from config.celery import app

    entry = app.conf.beat_schedule["prune-job-runs"]
    assert entry["task"] == "sam_saas.tasks.prune_job_runs"
    old_run(profile, "download", 50)
    old_run(profile, "download", 40)
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "JOB_RUN_RETENTION_DAYS": 0}
    assert retention.prune_by_setting() is None
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "JOB_RUN_RETENTION_DAYS": 45}
    from sam_saas.tasks import prune_job_runs

    assert prune_job_runs() == 1
