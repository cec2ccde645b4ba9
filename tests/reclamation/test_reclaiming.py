"""Removing seats through the connector: every outcome and error path, the final activity
check, and exactly-once removal under retries, double delivery and concurrency."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from reclamation import tasks
from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from reclamation.services import identification, reclaiming, workflow
from reclamation.services.reclaiming import Outcome
from sam_saas.connectors import ConnectorError, ReclaimOutcome
from sam_saas.models import JobRun, SoftwareSubscription
from sam_saas.services import jobs

from .conftest import candidate, days_ago, make_profile

State = ReclamationCandidate.State
Sub = SoftwareSubscription


def revoking(profile, **kwargs):
    return candidate(profile, state=State.AWAITING_REVOCATION, **kwargs)


def reload(c):
    c.refresh_from_db()
    return c


@pytest.mark.django_db
def test_it_closes_complete_with_a_note_when_the_seat_is_already_gone(profile, fake):
    c = revoking(profile)
    fake.outcomes = [ReclaimOutcome(ReclaimOutcome.Result.ALREADY_GONE, "404 Not Found")]

    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.COMPLETE

    c = reload(c)
    assert c.state == State.CLOSED_COMPLETE and c.reclaim_started_at is None
    assert "Already removed" in c.events.last().note
    assert Sub.objects.get(pk=c.subscription_id).status == Sub.Status.RECLAIMED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("Permission Denied: the organization owner cannot be removed.", "Owners stay."),
        ("You cannot perform this action for an organization with SCIM enabled.", "Use SCIM."),
        ("Invitation Already Accepted", "Close skipped; the invitation became a member."),
        ("Insufficient scope", "Reconnect with organizations:write."),
    ],
)
def test_it_requires_attention_without_retrying_when_the_vendor_refuses(
    profile, fake, message, hint
):
    c = revoking(profile)
    fake.outcomes = [ReclaimOutcome(ReclaimOutcome.Result.REFUSED, message, hint)]

    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.ATTENTION

    c = reload(c)
    assert (c.state, c.message, c.hint) == (State.ATTENTION_REQUIRED, message, hint)
    assert len(fake.calls) == 1
    assert Sub.objects.get(pk=c.subscription_id).status == Sub.Status.ACTIVE


@pytest.mark.django_db
def test_it_requires_attention_on_a_permanent_connector_error(profile, fake):
    c = revoking(profile)
    fake.outcomes = [ConnectorError("401 Unauthorized", hint="Reconnect the alias.")]

    tasks.reclaim_candidate.delay(c.pk)

    c = reload(c)
    assert (c.state, c.hint) == (State.ATTENTION_REQUIRED, "Reconnect the alias.")
    assert len(fake.calls) == 1


@pytest.mark.django_db
def test_it_retries_transient_errors_with_backoff_then_removes_the_seat(
    profile, fake, worker_semantics
):
    c = revoking(profile)
    fake.outcomes = [
        ConnectorError("503 Service Unavailable", retryable=True),
        ConnectorError("Read timed out", retryable=True),
    ]

    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.COMPLETE

    assert len(fake.calls) == 3
    c = reload(c)
    assert c.state == State.CLOSED_COMPLETE
    notes = list(c.events.values_list("note", flat=True))
    assert sum("will retry" in n for n in notes) == 2
    task = tasks.reclaim_candidate
    assert task.retry_backoff and task.retry_jitter and task.acks_late
    assert reclaiming.TransientReclaimError in task.autoretry_for


@pytest.mark.django_db
def test_it_requires_attention_once_retries_are_exhausted(profile, fake, worker_semantics):
    c = revoking(profile)
    attempts = tasks.reclaim_candidate.max_retries + 1
    fake.outcomes = [ConnectorError("429 Too Many Requests", retryable=True)] * attempts

    tasks.reclaim_candidate.delay(c.pk)

    assert len(fake.calls) == attempts
    c = reload(c)
    assert c.state == State.ATTENTION_REQUIRED
    assert c.message.startswith("Gave up after repeated transient failures")


@pytest.mark.django_db
def test_it_cancels_without_removing_when_the_final_check_finds_activity(profile, fake):
    c = revoking(profile)
    used = timezone.now() - dt.timedelta(hours=2)
    fake.activity[c.subscription_id] = used

    assert reclaiming.reclaim(c.pk) == Outcome.CANCELED

    assert fake.calls == [] and fake.activity_checks == [c.subscription_id]
    assert reload(c).state == State.CLOSED_CANCELED
    assert Sub.objects.get(pk=c.subscription_id).last_activity_at == used


@pytest.mark.django_db
def test_it_removes_the_seat_when_the_final_check_finds_nothing_new(profile, fake):
    c = revoking(profile)
    fake.activity[c.subscription_id] = c.last_activity_at

    assert reclaiming.reclaim(c.pk) == Outcome.COMPLETE
    assert fake.calls == [c.subscription_id]


@pytest.mark.django_db
def test_it_requires_attention_when_the_final_check_fails(profile, fake):
    c = revoking(profile)
    fake.activity_error = ConnectorError("403 Please upgrade to Enterprise.", hint="Plan.")

    assert reclaiming.reclaim(c.pk) == Outcome.ATTENTION
    assert fake.calls == []


@pytest.mark.django_db
def test_it_cancels_when_activity_resumes_between_approval_and_reclaim(
    profile, fake, django_capture_on_commit_callbacks
):
    c = candidate(profile)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        workflow.approve([c.pk], None)
    assert reload(c).state == State.AWAITING_REVOCATION

    # The daily refresh learns of new activity before the queued task runs.
    Sub.objects.filter(pk=c.subscription_id).update(last_activity_at=days_ago(0))
    identification.identify()
    for callback in queued:
        callback()

    assert reload(c).state == State.CLOSED_CANCELED
    assert fake.calls == []


@pytest.mark.django_db
def test_it_closes_complete_when_the_seat_vanished_before_the_task_ran(profile, fake):
    c = revoking(profile)
    Sub.objects.filter(pk=c.subscription_id).update(status=Sub.Status.REMOVED)

    assert reclaiming.reclaim(c.pk) == Outcome.COMPLETE
    assert reload(c).state == State.CLOSED_COMPLETE and fake.calls == []


@pytest.mark.django_db
def test_it_leaves_the_seat_for_removal_by_hand_when_reclaiming_was_turned_off(fake):
    profile = make_profile(reclaim_enabled=False)
    c = revoking(profile)

    assert reclaiming.reclaim(c.pk) == Outcome.MANUAL

    c = reload(c)
    assert c.state == State.AWAITING_REVOCATION and c.reclaim_started_at is None
    assert "then close" in c.message and fake.calls == []


@pytest.mark.django_db
def test_it_does_nothing_for_a_candidate_claimed_by_another_task(profile, fake):
    c = revoking(profile)
    assert reclaiming.claim(c.pk)

    assert reclaiming.reclaim(c.pk) == Outcome.NOT_CLAIMED
    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.NOT_CLAIMED
    assert fake.calls == []


@pytest.mark.django_db
def test_it_takes_over_the_claim_of_a_dead_worker(profile, fake):
    c = revoking(profile)
    stale = timezone.now() - reclaiming.transitions.CLAIM_LEASE - dt.timedelta(minutes=1)
    ReclamationCandidate.objects.filter(pk=c.pk).update(reclaim_started_at=stale)

    assert reclaiming.reclaim(c.pk) == Outcome.COMPLETE
    assert fake.calls == [c.subscription_id]


@pytest.mark.django_db
def test_it_does_nothing_when_a_retried_task_finds_the_seat_already_reclaimed(profile, fake):
    c = revoking(profile)

    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.COMPLETE
    assert tasks.reclaim_candidate.delay(c.pk).get() == Outcome.NOT_CLAIMED
    assert len(fake.calls) == 1


@pytest.mark.django_db
def test_it_reclaims_pending_candidates_in_the_reclaim_job(fake):
    on = make_profile()
    off = make_profile(reclaim_enabled=False)
    first, second = revoking(on), revoking(on)
    manual = revoking(off)
    fake.outcomes = [ReclaimOutcome(ReclaimOutcome.Result.REMOVED)]

    run = jobs.run_now(None, JobKind.RECLAIM, JobRun.Trigger.COMMAND)

    assert run.status == JobRun.Status.SUCCEEDED and run.removed == 2
    assert reload(first).state == reload(second).state == State.CLOSED_COMPLETE
    assert reload(manual).state == State.AWAITING_REVOCATION


# -- PostgreSQL: real concurrency ----------------------------------------------------------------


def _in_threads(target, count=2):
    """Run ``target`` in ``count`` threads released together; each thread has its own
    database connection (closed at the end). Returns what each returned."""
    barrier = threading.Barrier(count)
    results, errors = [None] * count, []

    def run(index):
        try:
            barrier.wait()
            results[index] = target()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_reclaims_once_when_two_admins_approve_at_the_same_time(fake):
    profile = make_profile()
    c = candidate(profile)
    fake.delay = 0.2

    results = _in_threads(lambda: workflow.approve([c.pk], None))

    assert sorted(len(r.done) for r in results) == [0, 1]
    assert fake.calls == [c.subscription_id]
    assert reload(c).state == State.CLOSED_COMPLETE
    assert connection.vendor == "postgresql"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_reclaims_once_when_two_workers_run_the_same_task(fake):
    profile = make_profile()
    c = revoking(profile)
    fake.delay = 0.2

    results = _in_threads(lambda: reclaiming.reclaim(c.pk), count=4)

    assert sorted(results).count(Outcome.COMPLETE) == 1
    assert results.count(Outcome.NOT_CLAIMED) == 3
    assert fake.calls == [c.subscription_id]
