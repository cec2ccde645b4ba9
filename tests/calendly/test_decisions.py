"""Decisions persist: a rejected candidate, or a seat its user chose to keep, is not proposed
again by the next download and identification; "Propose again now", a changed threshold or
the end of the "propose again after" period bring it back. Real HTTP to the fake Calendly,
real database."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services import decisions
from sam_saas.models import JobRun, KeepDecision, Person, SoftwareSubscription
from sam_saas.services import jobs

pytestmark = pytest.mark.django_db

State = ReclamationCandidate.State
J = ReclamationCandidate.Justification
CHANGELIST = "admin:reclamation_reclamationcandidate_changelist"


def run(profile, kind):
    result = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)
    return result


def refresh_and_identify(profile):
    run(profile, JobRun.Kind.DOWNLOAD)
    run(profile, JobRun.Kind.ACTIVITY)
    run(None, JobKind.CANDIDATES)


@pytest.fixture
def connected(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(
        name="Decisions Inc", members=40, plan="enterprise", seed=5
    )
    for member in org.members:
        Person.objects.create(email=member.user.email, name=member.user.name)
    profile = make_pat_profile(name="Decisions", token=org.admin_token)
    profile.analyze_activity_from = timezone.localdate() - dt.timedelta(days=365)
    profile.save()
    refresh_and_identify(profile)
    return org, profile


def open_candidate_of(subscription_id):
    return ReclamationCandidate.objects.filter(
        subscription_id=subscription_id, state__in=ReclamationCandidate.OPEN_STATES
    ).first()


def a_stale_member(profile):
    return (
        ReclamationCandidate.objects.filter(
            profile=profile,
            state=State.AWAITING_APPROVAL,
            seat_kind="member",
            justification__in=[J.LOW_USAGE, J.NEVER_USED],
        )
        .order_by("pk")
        .first()
    )


def reject_in_admin(client, candidate, reason="Needed for the Q1 launch"):
    response = client.post(
        reverse(CHANGELIST),
        {"action": "reject", "_selected_action": [candidate.pk], "apply": "yes", "reason": reason},
    )
    assert response.status_code in (200, 302)
    candidate.refresh_from_db()
    assert candidate.state == State.CLOSED_SKIPPED, candidate.message


def test_a_rejected_seat_is_not_raised_again_by_download_and_identification(
    connected, admin_client, superuser
):
    _org, profile = connected
    target = a_stale_member(profile)
    assert target is not None
    raised_before = ReclamationCandidate.objects.filter(profile=profile).count()
    reject_in_admin(admin_client, target)

    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    assert seat.keep_decision == KeepDecision.REJECTED
    assert seat.keep_decided_by == superuser.username
    assert seat.keep_reason == "Needed for the Q1 launch"
    assert seat.keep_until.date() == (seat.keep_decided_at + dt.timedelta(days=90)).date()
    assert seat.keep_terms.startswith(f"{target.justification}:")

    refresh_and_identify(profile)
    assert open_candidate_of(seat.pk) is None
    # Only the rejected seat is held back: no other candidate was lost or doubled.
    assert ReclamationCandidate.objects.filter(profile=profile).count() == raised_before
    seat.refresh_from_db()
    assert seat.keep_decision == KeepDecision.REJECTED  # the download kept the decision


def test_a_seat_kept_by_its_user_is_not_raised_again(connected, django_capture_on_commit_callbacks):
    _org, profile = connected
    ReclamationRule.objects.filter(profile=profile).update(notify_user=True)
    # Raised under the old settings: raise it again under the notifying rule.
    ReclamationCandidate.objects.filter(profile=profile).delete()
    run(None, JobKind.CANDIDATES)
    target = a_stale_member(profile)
    from reclamation.services import workflow

    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([target.pk], None)
    message = next(m for m in mail.outbox if target.user_principal_name.lower() in m.to[0].lower())
    links = [urlsplit(u).path for u in re.findall(r"http\S+/reclaim/answer/\S+/", message.body)]
    anonymous = Client()
    keep = next(p for p in links if "I still need it" in anonymous.get(p).content.decode())
    assert anonymous.post(keep).status_code == 200
    target.refresh_from_db()
    # ServiceNow: the keep goes to the manager (here none on record: the SAM approvers).
    assert target.state == State.AWAITING_APPROVAL

    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    assert seat.keep_decision == KeepDecision.KEPT_BY_USER
    assert seat.keep_decided_by == seat.user_principal_name  # the user answered, by e-mail

    from reclamation.services import workflow as wf

    declined = wf.reject([target.pk], None, "The user still needs it")
    assert declined.done == [target.pk]
    target.refresh_from_db()
    assert target.state == State.CLOSED_CANCELED
    seat.refresh_from_db()
    assert seat.keep_decision == KeepDecision.DECLINED_BY_MANAGER

    refresh_and_identify(profile)
    assert open_candidate_of(seat.pk) is None


def test_propose_again_now_raises_the_seat_at_once(connected, admin_client):
    _org, profile = connected
    target = a_stale_member(profile)
    reject_in_admin(admin_client, target)

    result = decisions.propose_again_now([target.subscription_id], actor=None)
    assert result.lifted == [target.subscription_id]
    assert result.raised == 1
    again = open_candidate_of(target.subscription_id)
    assert again is not None and again.justification == target.justification
    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    assert seat.keep_decision == "" and seat.keep_until is None
    assert "Propose again now" in target.events.last().note


def test_a_changed_threshold_or_an_expired_period_proposes_the_seat_again(connected, admin_client):
    _org, profile = connected
    rule = ReclamationRule.objects.get(profile=profile)
    low = (
        ReclamationCandidate.objects.filter(profile=profile, justification=J.LOW_USAGE)
        .order_by("pk")
        .first()
    )
    never = (
        ReclamationCandidate.objects.filter(profile=profile, justification=J.NEVER_USED)
        .order_by("pk")
        .first()
    )
    assert low is not None and never is not None, "the seeded organization has both kinds"
    reject_in_admin(admin_client, low)
    reject_in_admin(admin_client, never)

    # A threshold of another justification leaves both decisions standing.
    ReclamationRule.objects.filter(pk=rule.pk).update(invitation_days=rule.invitation_days + 1)
    run(None, JobKind.CANDIDATES)
    assert open_candidate_of(low.subscription_id) is None
    assert open_candidate_of(never.subscription_id) is None

    # Lowering the low-usage threshold re-opens the low-usage decision only.
    ReclamationRule.objects.filter(pk=rule.pk).update(inactivity_days=rule.inactivity_days - 1)
    run(None, JobKind.CANDIDATES)
    assert open_candidate_of(low.subscription_id) is not None
    assert open_candidate_of(never.subscription_id) is None

    # The "propose again after" period passing re-opens the other.
    SoftwareSubscription.objects.filter(pk=never.subscription_id).update(
        keep_until=timezone.now() - dt.timedelta(minutes=1)
    )
    run(None, JobKind.CANDIDATES)
    assert open_candidate_of(never.subscription_id) is not None


def test_the_rules_period_sets_how_long_a_decision_holds(connected, admin_client):
    _org, profile = connected
    ReclamationRule.objects.filter(profile=profile).update(propose_again_after_days=14)
    target = a_stale_member(profile)
    reject_in_admin(admin_client, target)
    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    assert seat.keep_until - seat.keep_decided_at == dt.timedelta(days=14)


def test_the_decision_shows_on_the_subscription_and_candidate_pages(connected, admin_client):
    _org, profile = connected
    target = a_stale_member(profile)
    reject_in_admin(admin_client, target, reason="Board member")
    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    until = f"{seat.keep_until:%Y-%m-%d}"
    expected = f"Rejected by a SAM manager on {seat.keep_decided_at:%Y-%m-%d}"

    page = admin_client.get(
        reverse("admin:sam_saas_softwaresubscription_change", args=[seat.pk])
    ).content.decode()
    assert expected in page and f"not proposed again before {until}" in page
    assert "Board member" in page
    page = admin_client.get(
        reverse("admin:reclamation_reclamationcandidate_change", args=[target.pk])
    ).content.decode()
    assert expected in page and f"not proposed again before {until}" in page


def test_propose_again_now_on_the_subscription_list_raises_the_seat(connected, admin_client):
    _org, profile = connected
    target = a_stale_member(profile)
    reject_in_admin(admin_client, target)
    response = admin_client.post(
        reverse("admin:sam_saas_softwaresubscription_changelist"),
        {"action": "propose_again_now", "_selected_action": [target.subscription_id]},
        follow=True,
    )
    text = response.content.decode()
    assert "Decision to keep lifted on 1 seat(s)." in text
    assert "1 raised as reclamation candidate(s) again." in text
    assert open_candidate_of(target.subscription_id) is not None


def test_propose_again_now_on_the_candidate_list_raises_the_seat(connected, admin_client):
    _org, profile = connected
    target = a_stale_member(profile)
    reject_in_admin(admin_client, target)
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "propose_again_now", "_selected_action": [target.pk]},
        follow=True,
    )
    assert "1 raised as candidate(s) again" in response.content.decode()
    assert open_candidate_of(target.subscription_id) is not None
