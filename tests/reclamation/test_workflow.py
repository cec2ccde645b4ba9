"""The candidate states and their transitions: approve, reject, reclaim now, close by hand,
the daily moves, and the event row each transition leaves."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from reclamation.models import ReclamationCandidate
from reclamation.services import sweeps, transitions, workflow
from reclamation.services.rules import ensure_rule
from sam_saas.models import SoftwareSubscription
from tests import factories

from .conftest import candidate, make_profile

State = ReclamationCandidate.State
Sub = SoftwareSubscription


def state_of(c):
    c.refresh_from_db()
    return c.state


def notifying(profile, days=7):
    rule = ensure_rule(profile)
    rule.notify_user = True
    rule.days_before_reclaim = days
    rule.save()
    return rule


@pytest.mark.django_db
def test_it_moves_only_candidates_in_the_expected_states_and_writes_one_event_each(profile):
    user = factories.UserFactory()
    waiting = candidate(profile)
    closed = candidate(profile, state=State.CLOSED_SKIPPED)

    moved = transitions.transition(
        [waiting.pk, closed.pk], [State.AWAITING_APPROVAL], State.READY, user, "why"
    )
    again = transitions.transition([waiting.pk], [State.AWAITING_APPROVAL], State.READY, user)

    assert moved == [waiting.pk] and again == []
    event = waiting.events.get()
    assert (event.actor, event.actor_label) == (user, user.username)
    assert (event.from_state, event.to_state, event.note) == (
        State.AWAITING_APPROVAL,
        State.READY,
        "why",
    )
    assert not closed.events.exists()


@pytest.mark.django_db
def test_it_approves_to_awaiting_revocation_and_reclaims_the_seat(
    profile, fake, django_capture_on_commit_callbacks
):
    manager = factories.UserFactory()
    c = candidate(profile)

    with django_capture_on_commit_callbacks(execute=True):
        result = workflow.approve([c.pk], manager)

    assert result.done == [c.pk] and result.queued == [c.pk]
    assert fake.calls == [c.subscription_id]
    assert state_of(c) == State.CLOSED_COMPLETE
    assert Sub.objects.get(pk=c.subscription_id).status == Sub.Status.RECLAIMED
    trail = list(c.events.values_list("from_state", "to_state", "actor_label"))
    assert trail == [
        (State.AWAITING_APPROVAL, State.AWAITING_REVOCATION, manager.username),
        (State.AWAITING_REVOCATION, State.CLOSED_COMPLETE, "reclaim task"),
    ]


@pytest.mark.django_db
def test_it_reclaims_once_when_approved_twice(profile, fake, django_capture_on_commit_callbacks):
    c = candidate(profile)
    first, second = factories.UserFactory(), factories.UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk], first)
        again = workflow.approve([c.pk], second)

    assert again.done == [] and "Awaiting Revocation" in again.skipped[c.pk]
    assert fake.calls == [c.subscription_id]


@pytest.mark.django_db
def test_it_snapshots_the_rule_so_editing_it_later_does_not_change_approval(
    profile, fake, django_capture_on_commit_callbacks
):
    c = candidate(profile)  # raised while the rule did not notify
    notifying(profile)

    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([c.pk], None)

    assert state_of(c) == State.CLOSED_COMPLETE
    assert mail.outbox == []


@pytest.mark.django_db
def test_it_approves_to_awaiting_user_and_emails_the_person_when_the_rule_notifies(
    profile, fake, django_capture_on_commit_callbacks
):
    notifying(profile, days=5)
    c = candidate(profile)

    with django_capture_on_commit_callbacks(execute=True):
        result = workflow.approve([c.pk], factories.UserFactory())

    assert result.notified == [c.pk]
    c.refresh_from_db()
    assert c.state == State.AWAITING_USER
    assert c.respond_by - c.notified_at == dt.timedelta(days=5)
    assert fake.calls == []
    (message,) = mail.outbox
    assert message.to == [c.person.email]
    assert "I still need it" in message.body and "Release it" in message.body


@pytest.mark.django_db
def test_it_rejects_only_with_a_reason(profile):
    c = candidate(profile)

    with pytest.raises(ValueError):
        workflow.reject([c.pk], None, "  ")
    result = workflow.reject([c.pk], factories.UserFactory(), "Needed for the Q3 launch")

    assert result.done == [c.pk]
    assert state_of(c) == State.CLOSED_SKIPPED
    assert c.events.get().note == "Rejected: Needed for the Q3 launch"


@pytest.mark.django_db
def test_it_waits_for_removal_by_hand_when_reclaiming_is_off(
    fake, django_capture_on_commit_callbacks
):
    profile = make_profile(reclaim_enabled=False)
    c = candidate(profile)

    with django_capture_on_commit_callbacks(execute=True):
        result = workflow.approve([c.pk], None)

    assert result.manual == [c.pk] and fake.calls == []
    c.refresh_from_db()
    assert c.state == State.AWAITING_REVOCATION
    assert "remove the seat in" in c.message and "then close" in c.message

    done = workflow.close_complete([c.pk], factories.UserFactory())

    assert done.done == [c.pk]
    assert state_of(c) == State.CLOSED_COMPLETE
    assert Sub.objects.get(pk=c.subscription_id).status == Sub.Status.RECLAIMED
    assert fake.calls == []


@pytest.mark.django_db
def test_it_reclaims_ready_candidates_now(profile, fake, django_capture_on_commit_callbacks):
    ready = candidate(profile, state=State.READY)
    waiting = candidate(profile)

    with django_capture_on_commit_callbacks(execute=True):
        result = workflow.reclaim_now([ready.pk, waiting.pk], factories.UserFactory())

    assert result.done == [ready.pk]
    assert "Awaiting Approval" in result.skipped[waiting.pk]
    assert state_of(ready) == State.CLOSED_COMPLETE
    assert fake.calls == [ready.subscription_id]


@pytest.mark.django_db
def test_it_closes_skipped_from_any_open_state(profile):
    cs = [candidate(profile, state=s) for s in ReclamationCandidate.OPEN_STATES]
    done = candidate(profile, state=State.CLOSED_COMPLETE)

    result = workflow.close_skipped([c.pk for c in [*cs, done]], None, "Kept for audit")

    assert sorted(result.done) == sorted(c.pk for c in cs)
    assert list(result.skipped) == [done.pk]
    assert all(state_of(c) == State.CLOSED_SKIPPED for c in cs)


@pytest.mark.django_db
def test_it_starts_ready_candidates_raised_by_an_earlier_run(
    profile, fake, django_capture_on_commit_callbacks
):
    old = candidate(profile, state=State.READY, created_at=timezone.now() - dt.timedelta(days=1))
    new = candidate(profile, state=State.READY)

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.advance_ready(before=timezone.now() - dt.timedelta(hours=1))

    assert result.done == [old.pk]
    assert state_of(old) == State.CLOSED_COMPLETE
    assert state_of(new) == State.READY


@pytest.mark.django_db
def test_it_reclaims_when_the_user_does_not_answer_in_time(
    profile, fake, django_capture_on_commit_callbacks
):
    notifying(profile, days=7)
    late = candidate(profile)
    on_time = candidate(profile)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve([late.pk, on_time.pk], None)
    ReclamationCandidate.objects.filter(pk=late.pk).update(
        respond_by=timezone.now() - dt.timedelta(minutes=1)
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = sweeps.expire_awaiting_user()

    assert result.done == [late.pk]
    assert state_of(late) == State.CLOSED_COMPLETE
    assert state_of(on_time) == State.AWAITING_USER
    assert fake.calls == [late.subscription_id]


@pytest.mark.django_db
def test_it_leaves_a_candidate_alone_while_its_seat_is_being_removed(profile):
    c = candidate(profile, state=State.AWAITING_REVOCATION)
    ReclamationCandidate.objects.filter(pk=c.pk).update(reclaim_started_at=timezone.now())

    result = workflow.close_skipped([c.pk], None)

    assert result.done == [] and "being removed" in result.skipped[c.pk]
    assert state_of(c) == State.AWAITING_REVOCATION
