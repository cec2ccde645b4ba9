"""The admin for SAM managers: the permission matrix (including forged POSTs), confirmation
pages, the worklist without N+1 queries, the rule preview and savings."""

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services.rules import ensure_rule
from sam_saas.models import JobRun
from tests import factories

from .conftest import candidate, client_for, days_ago, make_profile, seat

State = ReclamationCandidate.State
CHANGELIST = "admin:reclamation_reclamationcandidate_changelist"
ROLES = ["superuser", "SAM manager", "SAM approver", "SAM viewer", None]
MANAGERS = {"superuser", "SAM manager"}
APPROVERS = MANAGERS | {"SAM approver"}

# action: (state before, state after, roles allowed)
ACTIONS = {
    "approve": (State.AWAITING_APPROVAL, State.AWAITING_REVOCATION, APPROVERS),
    "reject": (State.AWAITING_APPROVAL, State.CLOSED_SKIPPED, APPROVERS),
    "reclaim_now": (State.READY, State.AWAITING_REVOCATION, MANAGERS),
    "close_skipped": (State.AWAITING_REVOCATION, State.CLOSED_SKIPPED, MANAGERS),
    "close_complete": (State.AWAITING_REVOCATION, State.CLOSED_COMPLETE, MANAGERS),
}


@pytest.fixture
def manual_profile(fake):
    """Reclaiming off: actions stop in Awaiting Revocation, so states are easy to assert."""
    return make_profile(reclaim_enabled=False)


def post_action(client, name, candidates, **extra):
    data = {"action": name, "_selected_action": [c.pk for c in candidates], **extra}
    return client.post(reverse(CHANGELIST), data)


def state_of(c):
    c.refresh_from_db()
    return c.state


def rule_form(rule, **changes):
    data = {
        "name": rule.name,
        "profile": rule.profile_id,
        "inactivity_days": rule.inactivity_days,
        "grace_days": rule.grace_days,
        "invitation_days": rule.invitation_days,
        "days_before_reclaim": rule.days_before_reclaim,
        "propose_again_after_days": rule.propose_again_after_days,
    }
    for flag in (
        "active",
        "include_never_active",
        "reclaim_leavers",
        "require_approval",
        "notify_user",
    ):
        if getattr(rule, flag):
            data[flag] = "on"
    data.update(changes)
    return data


# -- the permission matrix -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("name", list(ACTIONS))
def test_it_enforces_the_permission_matrix_on_every_action(manual_profile, role, name):
    before, after, allowed = ACTIONS[name]
    c = candidate(manual_profile, state=before)
    client = client_for(role)

    confirm = post_action(client, name, [c])
    applied = post_action(client, name, [c], apply="yes", reason="Audited by finance")

    if role in allowed:
        assert confirm.status_code == 200
        assert "What will happen" in confirm.content.decode()
        assert applied.status_code == 302
        assert state_of(c) == after
        event = c.events.get()
        assert event.actor.username == event.actor_label and event.to_state == after
    else:
        # A forged POST (the action is not offered to this role) changes nothing.
        assert "What will happen" not in confirm.content.decode()
        assert state_of(c) == before
        assert not c.events.exists()
        if role is None:
            assert applied.status_code == 302 and "/login/" in applied.url


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
def test_it_enforces_the_permission_matrix_on_the_custom_views(
    manual_profile, role, django_capture_on_commit_callbacks
):
    rule = ensure_rule(manual_profile)
    c = candidate(manual_profile)
    client = client_for(role)
    rule_url = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])

    with django_capture_on_commit_callbacks(execute=True):
        identify = client.post(reverse("admin:reclamation_reclamationcandidate_identify"))
    preview = client.post(rule_url, rule_form(rule, inactivity_days=30, _preview="1"))
    save = client.post(rule_url, rule_form(rule, inactivity_days=30))
    worklist = client.get(reverse(CHANGELIST))
    page = client.get(reverse("admin:reclamation_reclamationcandidate_change", args=[c.pk]))
    edit = client.post(
        reverse("admin:reclamation_reclamationcandidate_change", args=[c.pk]),
        {"state": State.CLOSED_COMPLETE},
    )
    delete = client.post(
        reverse("admin:reclamation_reclamationcandidate_delete", args=[c.pk]), {"post": "yes"}
    )

    rule.refresh_from_db()
    runs = JobRun.objects.filter(kind=JobKind.CANDIDATES).count()
    if role is None:
        for response in (identify, preview, save, worklist, page, edit, delete):
            assert response.status_code == 302 and "/login/" in response.url
        assert runs == 0 and rule.inactivity_days == 60
        return
    assert worklist.status_code == page.status_code == 200
    assert edit.status_code == 403  # a candidate changes only through actions
    if role in MANAGERS:
        assert identify.status_code == 302 and runs == 1
        assert preview.status_code == 200 and 'id="rule-preview"' in preview.content.decode()
        assert save.status_code == 302 and rule.inactivity_days == 30
    else:
        assert identify.status_code == 403 and runs == 0
        assert preview.status_code == 403
        assert save.status_code == 403 and rule.inactivity_days == 60
    # The audit trail stays, for superusers too.
    assert delete.status_code == 403
    assert ReclamationCandidate.objects.filter(pk=c.pk).exists()


@pytest.mark.django_db
def test_it_gives_the_groups_their_reclamation_permissions():
    from django.contrib.auth.models import Group

    def codenames(group):
        return set(
            Group.objects.get(name=group)
            .permissions.filter(content_type__app_label="reclamation")
            .values_list("codename", flat=True)
        )

    assert {
        "approve_reclamationcandidate",
        "change_reclamationcandidate",
        "change_reclamationrule",
        "delete_reclamationrule",
    } <= codenames("SAM manager")
    assert codenames("SAM approver") == {
        "approve_reclamationcandidate",
        "view_reclamationcandidate",
        "view_reclamationrule",
        "view_candidateevent",
    }
    assert codenames("SAM viewer") == {
        "view_reclamationcandidate",
        "view_reclamationrule",
        "view_candidateevent",
    }
    # The integrator sets up connections and sees candidates, but decides nothing.
    assert codenames("SAM integrator") == codenames("SAM viewer")


# -- confirmation pages --------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_shows_each_candidate_and_what_will_happen_before_acting(admin_client, profile):
    waiting = candidate(profile)
    done = candidate(profile, state=State.CLOSED_COMPLETE)

    page = post_action(admin_client, "approve", [waiting, done]).content.decode()

    assert waiting.user_principal_name in page and done.user_principal_name in page
    assert "Removes the user from the fake organization; the fake bill stays." in page
    assert "Skipped: it is Closed Complete" in page
    assert state_of(waiting) == State.AWAITING_APPROVAL


@pytest.mark.django_db
def test_it_reports_what_was_done_and_what_was_skipped_and_why(admin_client, manual_profile):
    waiting = candidate(manual_profile)
    done = candidate(manual_profile, state=State.CLOSED_COMPLETE)

    response = post_action(admin_client, "approve", [waiting, done], apply="yes")

    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("1 candidate(s) done" in t and "remove by hand" in t for t in texts)
    assert any(
        "1 candidate(s) skipped" in t and done.user_principal_name in t and "Closed Complete" in t
        for t in texts
    )


@pytest.mark.django_db
def test_it_requires_a_reason_to_reject(admin_client, profile):
    c = candidate(profile)

    response = post_action(admin_client, "reject", [c], apply="yes", reason=" ")

    assert response.status_code == 200
    assert "A reason is required." in response.content.decode()
    assert state_of(c) == State.AWAITING_APPROVAL


# -- the worklist --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_lists_the_worklist_without_n_plus_1_queries(admin_client, fake):
    def render(count):
        profile = make_profile()
        for _ in range(count):
            candidate(profile)
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(reverse(CHANGELIST), {"state__exact": "awaiting_approval"})
        assert response.status_code == 200
        return len(queries)

    admin_client.get(reverse(CHANGELIST))  # warm the per-process caches
    assert render(5) == render(45)


@pytest.mark.django_db
def test_it_shows_the_worklist_columns(admin_client, profile):
    c = candidate(
        profile,
        subscription=seat(
            profile, last_activity_at=days_ago(75), last_activity_source="activity log"
        ),
        savings_known=False,
    )

    html = admin_client.get(reverse(CHANGELIST)).content.decode()

    for text in (
        c.user_name,
        c.department,
        profile.name,
        "Low usage",
        ">75 d<",  # compact: the date and its source are on the candidate's page
        "unknown",
        "Awaiting Approval",
    ):
        assert text in html, text
    assert "column-last_activity" not in html and "column-user_principal_name" not in html


@pytest.mark.django_db
def test_it_filters_the_worklist(admin_client, fake):
    first, second = make_profile(), make_profile()
    a = candidate(first, justification="leaver")
    b = candidate(second, state=State.READY)
    url = reverse(CHANGELIST)

    def listed(**params):
        html = admin_client.get(url, params).content.decode()
        return {c.user_principal_name for c in (a, b) if c.user_principal_name in html}

    assert listed(state__exact="ready") == {b.user_principal_name}
    assert listed(justification__exact="leaver") == {a.user_principal_name}
    assert listed(profile__id__exact=first.pk) == {a.user_principal_name}
    assert listed(rule__id__exact=b.rule_id) == {b.user_principal_name}
    assert listed(department=a.department) >= {a.user_principal_name}


@pytest.mark.django_db
def test_it_shows_the_candidate_history_and_evidence(admin_client, manual_profile):
    c = candidate(manual_profile)
    post_action(admin_client, "approve", [c], apply="yes", reason="Confirmed with the manager")

    html = admin_client.get(
        reverse("admin:reclamation_reclamationcandidate_change", args=[c.pk])
    ).content.decode()

    assert "Awaiting Approval" in html and "Awaiting Revocation" in html
    assert "Approved. Confirmed with the manager" in html
    assert "then close" in html  # the removal-by-hand instruction
    assert "Raised by rule" in html


@pytest.mark.django_db
def test_it_queues_identification_from_the_admin(
    admin_client, profile, django_capture_on_commit_callbacks
):
    seat(profile, last_activity_at=days_ago(90))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("admin:reclamation_reclamationcandidate_identify"))

    run = JobRun.objects.get(kind=JobKind.CANDIDATES)
    assert response.url == reverse("admin:sam_saas_jobrun_change", args=[run.pk])
    assert run.trigger == JobRun.Trigger.MANUAL and run.status == JobRun.Status.SUCCEEDED
    assert ReclamationCandidate.objects.count() == 1
    assert (
        admin_client.get(reverse("admin:reclamation_reclamationcandidate_identify")).status_code
        == 405
    )


# -- rules -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_previews_a_rule_without_saving_or_creating_anything(admin_client, profile):
    rule = ensure_rule(profile)
    for days in (35, 65, 95, 125):
        seat(profile, last_activity_at=days_ago(days))
    url = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])

    response = admin_client.post(url, rule_form(rule, inactivity_days=45, _preview="1"))

    html = response.content.decode()
    assert response.status_code == 200 and "(not saved)" in html
    assert "45 days (this rule)" in html
    assert 'value="45"' in html  # the form keeps what was typed
    rule.refresh_from_db()
    assert rule.inactivity_days == 60
    assert not ReclamationCandidate.objects.exists()


@pytest.mark.django_db
def test_it_marks_a_rule_reviewed_when_saved_and_can_deactivate_it(admin_client, profile):
    rule = ensure_rule(profile)
    url = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])

    admin_client.post(url, rule_form(rule))
    admin_client.post(
        reverse("admin:reclamation_reclamationrule_changelist"),
        {"action": "deactivate", "_selected_action": [rule.pk]},
    )

    rule.refresh_from_db()
    assert not rule.needs_review and not rule.active


@pytest.mark.django_db
def test_it_shows_savings_and_the_billing_note_on_the_rule_page(admin_client, profile):
    rule = ensure_rule(profile)
    candidate(profile, potential_savings=100)
    candidate(profile, state=State.CLOSED_COMPLETE, potential_savings=40)

    html = admin_client.get(
        reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])
    ).content.decode()

    assert "100.00 USD" in html and "40.00 USD" in html
    assert "save money only once the purchased seat count is lowered" in html
    assert ReclamationRule.objects.count() == 1


@pytest.mark.django_db
def test_it_lets_an_approver_approve_but_not_reclaim_now(manual_profile):
    approver = client_for("SAM approver")
    ready = candidate(manual_profile, state=State.READY)
    waiting = candidate(manual_profile)

    post_action(approver, "reclaim_now", [ready], apply="yes")
    post_action(approver, "approve", [waiting], apply="yes")

    assert state_of(ready) == State.READY
    assert state_of(waiting) == State.AWAITING_REVOCATION
    assert factories.UserFactory._meta.model.objects.filter(groups__name="SAM approver").exists()
