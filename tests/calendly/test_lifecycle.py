"""The whole reclamation lifecycle over real HTTP against the fake Calendly: download,
activity, candidates, approval in the admin, the user's answer through the signed link,
the reclaim, and the seat gone at the vendor."""

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
from sam_saas.models import JobRun, Person, SoftwareSubscription
from sam_saas.services import jobs

pytestmark = pytest.mark.django_db

State = ReclamationCandidate.State
J = ReclamationCandidate.Justification


def run(profile, kind):
    result = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)
    return result


@pytest.fixture
def connected(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(
        name="Lifecycle Inc", members=60, plan="enterprise", seed=21
    )
    # Everybody is in the directory; one seat holder has left the company.
    users = [m.user for m in org.members]
    for user in users:
        Person.objects.create(email=user.email, name=user.name, department="Sales")
    leaver_user = next(m.user for m in org.members if m.role == "user")
    Person.objects.filter(email=leaver_user.email).update(active=False)
    profile = make_pat_profile(name="Lifecycle", token=org.admin_token)
    profile.reclaim_enabled = True
    profile.analyze_activity_from = timezone.localdate() - dt.timedelta(days=365)
    profile.save()
    return org, profile, leaver_user


def test_a_stale_seat_goes_from_download_to_removed_at_calendly(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile, leaver_user = connected
    run(profile, JobRun.Kind.DOWNLOAD)
    rule = ReclamationRule.objects.get(profile=profile)  # auto-created on the first download
    assert rule.name == profile.name and rule.active and rule.needs_review
    ReclamationRule.objects.filter(pk=rule.pk).update(notify_user=True)
    run(profile, JobRun.Kind.ACTIVITY)
    run(None, JobKind.CANDIDATES)

    candidates = ReclamationCandidate.objects.filter(profile=profile)
    justifications = set(candidates.values_list("justification", flat=True))
    assert {J.LEAVER, J.STALE_INVITATION} <= justifications
    assert justifications & {J.LOW_USAGE, J.NEVER_USED}
    leaver = candidates.get(subscription__external_user_id=leaver_user.uri)
    assert leaver.justification == J.LEAVER
    never_candidates = {
        c.subscription.user_principal_name for c in candidates.select_related("subscription")
    }
    owner_seat = SoftwareSubscription.objects.get(profile=profile, role="owner")
    assert owner_seat.user_principal_name not in never_candidates
    assert set(candidates.values_list("state", flat=True)) == {State.AWAITING_APPROVAL}

    # Approve a low-usage (or never-used) member in the admin, through the confirmation page.
    stale = candidates.filter(justification__in=[J.LOW_USAGE, J.NEVER_USED], seat_kind="member")
    target = stale.select_related("subscription").first()
    changelist = reverse("admin:reclamation_reclamationcandidate_changelist")
    confirm = admin_client.post(
        changelist, {"action": "approve", "_selected_action": [target.pk]}
    ).content.decode()
    assert (
        "The paid seat stays billed until you lower the seat count in Calendly Billing" in confirm
    )
    assert target.user_principal_name in confirm
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            changelist, {"action": "approve", "_selected_action": [target.pk], "apply": "yes"}
        )
    target.refresh_from_db()
    assert target.state == State.AWAITING_USER

    # The user answers "Release it" through the signed link in the e-mail (no login).
    message = next(m for m in mail.outbox if target.user_principal_name.lower() in m.to[0].lower())
    links = [urlsplit(u).path for u in re.findall(r"http\S+/reclaim/answer/\S+/", message.body)]
    assert len(links) == 2
    anonymous = Client()
    path = next(p for p in links if "Release it" in anonymous.get(p).content.decode())
    assert anonymous.get(path).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answered = anonymous.post(path)
    assert answered.status_code == 200

    target.refresh_from_db()
    assert target.state == State.CLOSED_COMPLETE, (target.message, target.hint)
    seat = SoftwareSubscription.objects.get(pk=target.subscription_id)
    assert seat.status == SoftwareSubscription.Status.RECLAIMED
    assert not any(m.uri == seat.external_seat_id for m in org.members)
    deletes = [p for (m, p, s) in sandbox.state.request_log if m == "DELETE"]
    assert deletes == [f"/organization_memberships/{seat.external_seat_id.rsplit('/', 1)[-1]}"]
    # The same link again is refused.
    assert anonymous.post(path).status_code >= 400
    events = list(target.events.values_list("from_state", "to_state"))
    assert (State.AWAITING_APPROVAL, State.AWAITING_USER) in events
    assert events[-1][1] == State.CLOSED_COMPLETE


def test_calendly_refusing_the_owner_removal_needs_attention_and_is_not_retried(
    sandbox, connected, django_capture_on_commit_callbacks
):
    org, profile, _ = connected
    run(profile, JobRun.Kind.DOWNLOAD)
    run(profile, JobRun.Kind.ACTIVITY)
    owner_seat = SoftwareSubscription.objects.get(profile=profile, role="owner")
    from reclamation.services import reclaiming

    candidate = ReclamationCandidate.objects.create(
        subscription=owner_seat,
        profile=profile,
        user_principal_name=owner_seat.user_principal_name,
        justification=J.LOW_USAGE,
        state=State.AWAITING_REVOCATION,
        provider="calendly",
        last_activity_at=timezone.now(),  # nothing newer: the final check lets it through
    )
    reclaiming.reclaim(candidate.pk)
    candidate.refresh_from_db()
    assert candidate.state == State.ATTENTION_REQUIRED
    assert "owner" in candidate.message.lower()
    assert len([1 for (m, _p, s) in sandbox.state.request_log if m == "DELETE"]) == 1


def test_a_revoked_invitation_and_an_already_removed_member_close_complete(sandbox, connected):
    org, profile, _ = connected
    run(profile, JobRun.Kind.DOWNLOAD)
    from reclamation.services import reclaiming

    invitation = SoftwareSubscription.objects.filter(profile=profile, kind="invitation").first()
    member = SoftwareSubscription.objects.filter(profile=profile, role="user").first()
    sandbox.state.remove_member(org, member.external_seat_id)  # someone removed it by hand
    made = [
        ReclamationCandidate.objects.create(
            subscription=sub,
            profile=profile,
            user_principal_name=sub.user_principal_name,
            justification=J.STALE_INVITATION if sub.kind == "invitation" else J.LOW_USAGE,
            state=State.AWAITING_REVOCATION,
            provider="calendly",
            seat_kind=sub.kind,
            last_activity_at=timezone.now(),
        )
        for sub in (invitation, member)
    ]
    for candidate in made:
        reclaiming.reclaim(candidate.pk)
        candidate.refresh_from_db()
        assert candidate.state == State.CLOSED_COMPLETE, candidate.message
    assert "already" in made[1].message.lower() or "404" in made[1].message
    assert invitation.external_seat_id.rsplit("/", 1)[-1] not in {
        i.uuid for i in org.invitations.values() if i.status == "pending"
    }
