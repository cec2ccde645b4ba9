"""ServiceNow's candidate workflow over real HTTP to the fake Calendly and a real database:
the user's "I still need it" going to their manager (decline keeps the seat, approve removes
it), a user without a manager going to the SAM approvers, Attention Required returning to
Ready by itself, the vanished-subscription rules, and a candidate proposed by hand."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services import reclaiming
from sam_saas.models import JobRun, KeepDecision, Person, SoftwareSubscription
from sam_saas.services import jobs
from tests import factories

pytestmark = pytest.mark.django_db

State = ReclamationCandidate.State
J = ReclamationCandidate.Justification
Sub = SoftwareSubscription
CHANGELIST = "admin:reclamation_reclamationcandidate_changelist"
LINK = re.compile(r"https?://\S+?(/reclaim/answer/\S+/)")
BOSS = "boss@directory.example"


def run(profile, kind):
    result = jobs.run_now(profile, kind, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)
    return result


def refresh_and_identify(profile):
    run(profile, JobRun.Kind.DOWNLOAD)
    run(profile, JobRun.Kind.ACTIVITY)
    run(None, JobKind.CANDIDATES)


def deletes(sandbox):
    return [p for (m, p, _s) in sandbox.state.request_log if m == "DELETE"]


@pytest.fixture
def connected(sandbox, make_pat_profile):
    """An Enterprise organization whose members are all in the directory, reporting to one
    manager (who holds no seat), under a rule that notifies users and waits 5 days."""
    org = sandbox.state.add_organization(name="Workflow Inc", members=40, plan="enterprise", seed=9)
    boss = Person.objects.create(email=BOSS, name="Bea Boss")
    for member in org.members:
        Person.objects.create(
            email=member.user.email, name=member.user.name, department="Sales", manager=boss
        )
    profile = make_pat_profile(name="Workflow", token=org.admin_token)
    profile.reclaim_enabled = True
    profile.analyze_activity_from = timezone.localdate() - dt.timedelta(days=365)
    profile.save()
    run(profile, JobRun.Kind.DOWNLOAD)
    ReclamationRule.objects.filter(profile=profile).update(notify_user=True, days_before_reclaim=5)
    run(profile, JobRun.Kind.ACTIVITY)
    run(None, JobKind.CANDIDATES)
    return org, profile


def stale_members(profile):
    return ReclamationCandidate.objects.filter(
        profile=profile,
        state=State.AWAITING_APPROVAL,
        seat_kind="member",
        justification__in=[J.LOW_USAGE, J.NEVER_USED],
    ).order_by("pk")


def approve_in_admin(client, candidate, capture):
    with capture(execute=True):
        response = client.post(
            reverse(CHANGELIST),
            {"action": "approve", "_selected_action": [candidate.pk], "apply": "yes"},
        )
    assert response.status_code == 302
    candidate.refresh_from_db()


def links_to(address):
    message = next(m for m in reversed(mail.outbox) if address.lower() in m.to[0].lower())
    return message, LINK.findall(message.body)


def user_keeps(client, candidate, capture):
    _message, links = links_to(candidate.user_principal_name)
    anonymous = Client()
    keep = next(p for p in links if "I still need it" in anonymous.get(p).content.decode())
    with capture(execute=True):
        assert anonymous.post(keep).status_code == 200
    candidate.refresh_from_db()


def test_the_users_keep_goes_to_the_manager_who_declines(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    target = stale_members(profile).first()
    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    assert target.state == State.AWAITING_USER
    user_keeps(admin_client, target, django_capture_on_commit_callbacks)

    assert (target.state, target.user_response) == (State.AWAITING_APPROVAL, "keep")
    assert target.manager_email == BOSS and BOSS in target.message
    message, links = links_to(BOSS)
    assert target.user_principal_name in message.body and "5 days" in message.body
    assert len(links) == 2
    anonymous = Client()
    pages = {p: anonymous.get(p) for p in links}
    assert all(r.status_code == 200 for r in pages.values())
    decline = next(p for p, r in pages.items() if "Decline" in r.content.decode())
    target.refresh_from_db()
    assert target.state == State.AWAITING_APPROVAL  # a GET (a mail scanner) changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        done = anonymous.post(decline)
    assert done.status_code == 200 and "The seat is kept" in done.content.decode()
    target.refresh_from_db()
    assert target.state == State.CLOSED_CANCELED
    event = target.events.last()
    assert event.to_state == State.CLOSED_CANCELED and BOSS in event.actor_label
    seat = Sub.objects.get(pk=target.subscription_id)
    assert seat.status == Sub.Status.ACTIVE and deletes(sandbox) == []
    assert seat.keep_decision == KeepDecision.DECLINED_BY_MANAGER and seat.keep_decided_by == BOSS
    # Single use: the other link and the same link again are refused.
    assert all(anonymous.post(p).status_code == 409 for p in links)
    # Kept means not proposed again by the next refresh.
    refresh_and_identify(profile)
    assert not ReclamationCandidate.objects.filter(
        subscription_id=seat.pk, state__in=ReclamationCandidate.OPEN_STATES
    ).exists()


def test_the_manager_approves_and_the_seat_is_removed_at_calendly(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    target = stale_members(profile).first()
    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    user_keeps(admin_client, target, django_capture_on_commit_callbacks)
    _message, links = links_to(BOSS)
    anonymous = Client()
    approve = next(p for p in links if "Approve the removal" in anonymous.get(p).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        assert anonymous.post(approve).status_code == 200

    target.refresh_from_db()
    assert target.state == State.CLOSED_COMPLETE, (target.message, target.hint)
    seat = Sub.objects.get(pk=target.subscription_id)
    assert seat.status == Sub.Status.RECLAIMED
    assert deletes(sandbox) == [
        f"/organization_memberships/{seat.external_seat_id.rsplit('/', 1)[-1]}"
    ]
    states = list(target.events.values_list("to_state", flat=True))
    assert states == [
        State.AWAITING_USER,
        State.AWAITING_APPROVAL,
        State.AWAITING_REVOCATION,
        State.CLOSED_COMPLETE,
    ]
    assert anonymous.post(approve).status_code == 409


def test_a_user_without_a_manager_goes_to_the_sam_approvers(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    target = stale_members(profile).first()
    Person.objects.filter(pk=target.person_id).update(manager=None)
    approver = factories.UserFactory(groups=["SAM approver"], email="approver@it.example")
    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    sent_before = len(mail.outbox)
    user_keeps(admin_client, target, django_capture_on_commit_callbacks)

    assert target.state == State.AWAITING_APPROVAL and target.manager_email == ""
    assert "No manager on record" in target.message
    new = mail.outbox[sent_before:]
    assert [m.to for m in new] == [[approver.email]]
    assert not LINK.search(new[0].body)  # the approvers decide in the admin, logged in
    assert f"/reclamationcandidate/{target.pk}/change/" in new[0].body

    client = Client()
    client.force_login(approver)
    approve_in_admin(client, target, django_capture_on_commit_callbacks)
    assert target.state == State.CLOSED_COMPLETE, (target.message, target.hint)
    assert len(deletes(sandbox)) == 1


def test_attention_required_returns_to_ready_once_the_seat_has_a_user(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    target = stale_members(profile).first()
    # The seat holder is not in the directory (yet).
    Sub.objects.filter(pk=target.subscription_id).update(person=None)
    ReclamationCandidate.objects.filter(pk=target.pk).update(person=None)
    email = target.user_principal_name
    Person.objects.filter(email__iexact=email).update(email="someone-else@directory.example")

    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    assert target.state == State.ATTENTION_REQUIRED
    assert target.attention_cause == ReclamationCandidate.AttentionCause.NO_USER
    assert "no person" in target.message.lower() and target.hint

    # "Retry" while still without a person: skipped, and says why.
    retried = admin_client.post(
        reverse(CHANGELIST),
        {"action": "retry", "_selected_action": [target.pk], "apply": "yes"},
        follow=True,
    )
    assert "still no person" in retried.content.decode()
    target.refresh_from_db()
    assert target.state == State.ATTENTION_REQUIRED

    # The directory learns the person; the next download matches the seat: Ready by itself.
    Person.objects.filter(email="someone-else@directory.example").update(email=email)
    run(profile, JobRun.Kind.DOWNLOAD)
    target.refresh_from_db()
    assert target.state == State.READY and target.attention_cause == ""
    assert target.person_id is not None and target.department == "Sales"
    assert target.events.last().actor_label == "attention resolved"

    # The daily run starts it again: the user is now asked.
    ReclamationCandidate.objects.filter(pk=target.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2)
    )
    with django_capture_on_commit_callbacks(execute=True):
        run(None, JobKind.CANDIDATES)
    target.refresh_from_db()
    assert target.state == State.AWAITING_USER
    assert links_to(email)[1]


def test_a_failed_reclaim_needs_attention_and_succeeds_on_retry(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    ReclamationRule.objects.filter(profile=profile).update(notify_user=False)
    target = stale_members(profile).first()
    ReclamationCandidate.objects.filter(pk=target.pk).update(
        rule_snapshot={**target.rule_snapshot, "notify_user": False}
    )
    sandbox.state.faults.fail_every = 1  # Calendly answers 500 to everything
    with django_capture_on_commit_callbacks(execute=False):  # the task runs below, by hand
        admin_client.post(
            reverse(CHANGELIST),
            {"action": "approve", "_selected_action": [target.pk], "apply": "yes"},
        )
    target.refresh_from_db()
    assert target.state == State.AWAITING_REVOCATION
    assert reclaiming.reclaim(target.pk) == reclaiming.Outcome.ATTENTION
    target.refresh_from_db()
    assert target.state == State.ATTENTION_REQUIRED
    assert target.attention_cause == ReclamationCandidate.AttentionCause.RECLAIM_FAILED
    assert "Retry" in target.hint

    sandbox.state.faults.fail_every = None
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse(CHANGELIST),
            {"action": "retry", "_selected_action": [target.pk], "apply": "yes"},
        )
    target.refresh_from_db()
    assert target.state == State.CLOSED_COMPLETE, (target.message, target.hint)
    assert len(deletes(sandbox)) == 1
    assert Sub.objects.get(pk=target.subscription_id).status == Sub.Status.RECLAIMED


def test_a_vanished_subscription_closes_complete_when_awaiting_revocation_else_skipped(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    profile.reclaim_enabled = False  # approved seats wait in Awaiting Revocation
    profile.save()
    ReclamationRule.objects.filter(profile=profile).update(notify_user=False)
    revoking, waiting = list(stale_members(profile)[:2])
    ReclamationCandidate.objects.filter(pk=revoking.pk).update(
        rule_snapshot={**revoking.rule_snapshot, "notify_user": False}
    )
    approve_in_admin(admin_client, revoking, django_capture_on_commit_callbacks)
    assert revoking.state == State.AWAITING_REVOCATION and waiting.state == State.AWAITING_APPROVAL
    for c in (revoking, waiting):
        membership = c.subscription.external_seat_id.rsplit("/", 1)[-1]
        sandbox.state.remove_member(org, membership)

    run(profile, JobRun.Kind.DOWNLOAD)

    revoking.refresh_from_db()
    waiting.refresh_from_db()
    assert revoking.state == State.CLOSED_COMPLETE
    assert waiting.state == State.CLOSED_SKIPPED
    assert "no longer exists" in revoking.events.last().note
    assert deletes(sandbox) == []


def test_a_candidate_proposed_by_hand_follows_the_same_workflow(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks
):
    org, profile = connected
    ReclamationRule.objects.filter(profile=profile).update(notify_user=False)
    # A recently active seat no rule flags, and the owner's, which cannot be proposed.
    busy = (
        Sub.objects.filter(profile=profile, kind="member", role="user")
        .exclude(reclamation_candidates__isnull=False)
        .first()
    )
    owner = Sub.objects.get(profile=profile, role="owner")
    changelist = reverse("admin:sam_saas_softwaresubscription_changelist")
    picked = {"action": "propose_for_reclamation", "_selected_action": [busy.pk, owner.pk]}

    page = admin_client.post(changelist, picked).content.decode()
    assert "Propose for reclamation" in page and "Justification" in page
    assert "Awaiting Approval" in page and "owner cannot be removed" in page
    missing = admin_client.post(changelist, {**picked, "apply": "yes", "justification": " "})
    assert "A justification is required" in missing.content.decode()
    assert not ReclamationCandidate.objects.filter(subscription=busy).exists()

    response = admin_client.post(
        changelist, {**picked, "apply": "yes", "justification": "Moved to the partner team"}
    )
    manual = ReclamationCandidate.objects.get(subscription=busy)
    assert response.status_code == 302 and response.url.endswith(f"/{manual.pk}/change/")
    assert not ReclamationCandidate.objects.filter(subscription=owner).exists()
    assert (manual.state, manual.justification) == (State.AWAITING_APPROVAL, J.MANUAL)
    assert manual.proposed_reason == "Moved to the partner team"
    assert manual.rule.profile == profile and manual.department == "Sales"
    event = manual.events.get()
    assert (event.from_state, event.to_state) == ("", State.AWAITING_APPROVAL)
    assert event.actor is not None and "Moved to the partner team" in event.note
    page = admin_client.get(response.url).content.decode()
    assert "Proposed by hand" in page and "Moved to the partner team" in page

    # A second proposal of the same seat is refused: it has an open candidate.
    again = admin_client.post(
        changelist, {**picked, "apply": "yes", "justification": "Again"}, follow=True
    )
    assert "already has an open candidate" in again.content.decode()

    # Same workflow: approval, then removed at Calendly.
    ReclamationCandidate.objects.filter(pk=manual.pk).update(
        rule_snapshot={**manual.rule_snapshot, "notify_user": False}
    )
    approve_in_admin(admin_client, manual, django_capture_on_commit_callbacks)
    assert manual.state == State.CLOSED_COMPLETE, (manual.message, manual.hint)
    assert len(deletes(sandbox)) == 1


def test_only_those_who_may_change_candidates_can_propose(connected):
    _org, profile = connected
    seat = Sub.objects.filter(profile=profile, role="user").first()
    changelist = reverse("admin:sam_saas_softwaresubscription_changelist")
    for role in ("SAM viewer", "SAM approver"):
        client = Client()
        client.force_login(factories.UserFactory(groups=[role]))
        page = client.get(changelist).content.decode()
        assert "propose_for_reclamation" not in page
        client.post(
            changelist,
            {
                "action": "propose_for_reclamation",
                "_selected_action": [seat.pk],
                "apply": "yes",
                "justification": "forged",
            },
        )
    manager = Client()
    manager.force_login(factories.UserFactory(groups=["SAM manager"]))
    assert "propose_for_reclamation" in manager.get(changelist).content.decode()
    assert not ReclamationCandidate.objects.filter(proposed_reason="forged").exists()


# -- the candidate page ------------------------------------------------------------------------

FORM = re.compile(r"<form method=\"post\"([^>]*)>(.*?)</form>", re.S)
INPUT = re.compile(r"<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")


def page_forms(html):
    """The forms of a page: {button id or submit value: (action url, hidden fields)}."""
    forms = {}
    for attrs, body in FORM.findall(html):
        url = re.search(r'action="([^"]+)"', attrs)
        fields = {}
        for name, value in INPUT.findall(body):
            fields.setdefault(name, []).append(value)
        button = re.search(r'id="(action-[a-z_]+)"', body) or re.search(
            r'type="submit" class="default" value="([^"]+)"', body
        )
        if button:
            forms[button.group(1)] = (url.group(1) if url else None, fields)
    return forms


def press(client, url, fields, **extra):
    return client.post(url, {**fields, **extra})


PAGE_ACTIONS = {
    # action: (state it starts from, state after, reason typed on the confirmation page)
    "approve": (State.AWAITING_APPROVAL, State.CLOSED_COMPLETE, ""),
    "reject": (State.AWAITING_APPROVAL, State.CLOSED_SKIPPED, "Needed for the audit"),
    "reclaim_now": (State.READY, State.CLOSED_COMPLETE, ""),
    "retry": (State.ATTENTION_REQUIRED, State.CLOSED_COMPLETE, ""),
    "close_complete": (State.AWAITING_REVOCATION, State.CLOSED_COMPLETE, "Removed in Calendly"),
    "close_skipped": (State.READY, State.CLOSED_SKIPPED, "Kept for the launch"),
    "exclude_user": (State.AWAITING_APPROVAL, State.CLOSED_SKIPPED, "Board member"),
}


@pytest.mark.parametrize("name", list(PAGE_ACTIONS))
def test_each_button_on_the_candidate_page_goes_through_its_confirmation_page(
    sandbox, connected, admin_client, django_capture_on_commit_callbacks, name
):
    org, profile = connected
    before, after, reason = PAGE_ACTIONS[name]
    target = stale_members(profile).first()
    ReclamationCandidate.objects.filter(pk=target.pk).update(
        state=before,
        rule_snapshot={**target.rule_snapshot, "notify_user": False},
        attention_cause="reclaim_failed" if before == State.ATTENTION_REQUIRED else "",
    )
    page_url = reverse("admin:reclamation_reclamationcandidate_change", args=[target.pk])

    forms = page_forms(admin_client.get(page_url).content.decode())
    url, fields = forms[f"action-{name}"]
    confirm = press(admin_client, url, fields)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and "What will happen" in html
    assert f'href="{page_url}"' in html  # "No, take me back" returns to the candidate
    target.refresh_from_db()
    assert target.state == before  # nothing happens before confirming

    submit_url, submit_fields = next(iter(page_forms(html).values()))
    if reason:
        if name in ("reject", "exclude_user"):
            refused = press(admin_client, submit_url or url, submit_fields, reason="")
            assert "A reason is required" in refused.content.decode()
        submit_fields = {**submit_fields, "reason": reason}
    with django_capture_on_commit_callbacks(execute=True):
        done = press(admin_client, submit_url or url, submit_fields)

    target.refresh_from_db()
    assert target.state == after, (target.message, target.hint)
    assert done.status_code == 302
    if name == "exclude_user":
        from sam_saas.models import SubscriptionUserExclusionRule

        rule = SubscriptionUserExclusionRule.objects.get(email_pattern=target.user_principal_name)
        assert rule.reason == reason and rule.exclude_from_reclamation
        assert done.url == reverse(
            "admin:sam_saas_subscriptionuserexclusionrule_change", args=[rule.pk]
        )
        assert reason in target.message
        assert Sub.objects.get(pk=target.subscription_id).excluded_from_reclamation
    else:
        assert done.url == page_url
    if reason:
        assert reason in target.events.last().note


def test_the_candidate_page_offers_only_what_applies_and_shows_the_evidence(
    connected, admin_client
):
    _org, profile = connected
    target = stale_members(profile).first()
    page_url = reverse("admin:reclamation_reclamationcandidate_change", args=[target.pk])
    html = admin_client.get(page_url).content.decode()

    buttons = set(page_forms(html))
    assert buttons >= {"action-approve", "action-reject", "action-close_skipped"}
    assert "action-exclude_user" in buttons
    assert not buttons & {"action-reclaim_now", "action-retry", "action-close_complete"}
    # The back link is not "Close" (Closed is a state).
    assert "Back to the candidates" in html and ">Close<" not in html
    # The evidence an approver needs.
    assert "Bea Boss" in html and "Sales" in html
    assert "last-activity threshold (days): 60" in html
    seat = target.subscription
    if target.last_activity_at is None:
        created = f"{seat.external_created_at:%Y-%m-%d}"
        assert f"never active since the seat was created at Calendly on {created}" in html
    else:
        assert target.last_activity_source in html
    assert "history" in html.lower()

    for role, expected in (
        ("SAM approver", {"action-approve", "action-reject"}),
        ("SAM viewer", set()),
    ):
        client = Client()
        client.force_login(factories.UserFactory(groups=[role]))
        assert set(page_forms(client.get(page_url).content.decode())) - {"Save"} == expected


def test_a_never_active_seat_says_since_when_it_exists_at_calendly(connected, admin_client):
    _org, profile = connected
    target = stale_members(profile).first()
    ReclamationCandidate.objects.filter(pk=target.pk).update(last_activity_at=None)
    seat = target.subscription
    html = admin_client.get(
        reverse("admin:reclamation_reclamationcandidate_change", args=[target.pk])
    ).content.decode()
    created = f"{seat.external_created_at:%Y-%m-%d}"
    assert f"never active since the seat was created at Calendly on {created}" in html


def test_a_people_import_returns_attention_required_to_ready_at_once(
    connected, admin_client, django_capture_on_commit_callbacks
):
    from sam_saas.services.people_import import import_people

    _org, profile = connected
    target = stale_members(profile).first()
    email = target.user_principal_name
    Person.objects.filter(email__iexact=email).delete()  # not in the directory
    ReclamationCandidate.objects.filter(pk=target.pk).update(person=None)
    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    assert target.state == State.ATTENTION_REQUIRED

    header = "email,name,department,cost_center,manager_email,active\n"
    import_people(f"{header}{email},Back Again,Finance,CC-9,{BOSS},yes\n".encode())

    target.refresh_from_db()
    assert target.state == State.READY, target.message
    assert (target.user_name, target.department, target.cost_center) == (
        "Back Again",
        "Finance",
        "CC-9",
    )


def test_manager_links_work_only_for_a_kept_candidate_and_expire(
    connected, admin_client, django_capture_on_commit_callbacks, monkeypatch
):
    from reclamation.services import notifications

    _org, profile = connected
    target = stale_members(profile).first()
    approve_in_admin(admin_client, target, django_capture_on_commit_callbacks)
    # A forged "approve" for a candidate still waiting for its user: signed, but the candidate
    # is not in the manager's step, so it is refused.
    forged = notifications.answer_url(target, "approve", 5)
    assert Client().post(urlsplit_path(forged)).status_code == 409
    user_keeps(admin_client, target, django_capture_on_commit_callbacks)
    _message, links = links_to(BOSS)

    # Past the rule's days the manager's links are dead; the candidate waits for the approvers.
    real_time = notifications.signing.time.time
    monkeypatch.setattr(notifications.signing.time, "time", lambda: real_time() + 6 * 86400)
    assert all(Client().post(p).status_code == 410 for p in links)
    target.refresh_from_db()
    assert target.state == State.AWAITING_APPROVAL


def urlsplit_path(url):
    from urllib.parse import urlsplit

    return urlsplit(url).path
