"""Candidate identification: which seats become candidates, what a candidate records, and the
set-based closing of candidates whose premise broke."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from reclamation.kinds import JobKind
from reclamation.models import OPEN_STATES, ReclamationCandidate, ReclamationRule
from reclamation.services import identification, premises, seat_costs
from reclamation.services.identification import identify
from reclamation.services.rules import ensure_rule
from sam_saas import tasks as sam_tasks
from sam_saas.models import Entitlement, IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.services import jobs
from tests import factories

from .conftest import candidate, days_ago, make_profile, seat

State = ReclamationCandidate.State
J = ReclamationCandidate.Justification
Sub = SoftwareSubscription


def justifications():
    return dict(
        ReclamationCandidate.objects.values_list(
            "subscription__user_principal_name", "justification"
        )
    )


@pytest.mark.django_db
def test_it_raises_one_candidate_per_stale_seat_with_its_justification(profile):
    stale = seat(profile, last_activity_at=days_ago(61))
    seat(profile, last_activity_at=days_ago(59))
    never = seat(profile, last_activity_at=None)
    leaver = seat(
        profile, last_activity_at=days_ago(1), person=factories.PersonFactory(active=False)
    )
    invitation = seat(
        profile,
        kind=Sub.Kind.INVITATION,
        status=Sub.Status.PENDING,
        last_activity_at=None,
        external_created_at=days_ago(31),
    )
    seat(
        profile,
        kind=Sub.Kind.INVITATION,
        status=Sub.Status.PENDING,
        last_activity_at=None,
        external_created_at=days_ago(20),
        first_seen_at=days_ago(40),
    )

    result = identify()

    assert result.raised == 4
    assert justifications() == {
        stale.user_principal_name: J.LOW_USAGE,
        never.user_principal_name: J.NEVER_USED,
        leaver.user_principal_name: J.LEAVER,
        invitation.user_principal_name: J.STALE_INVITATION,
    }
    assert set(ReclamationCandidate.objects.values_list("state", flat=True)) == {
        State.AWAITING_APPROVAL
    }


@pytest.mark.django_db
def test_it_never_raises_the_owner_excluded_seats_or_seats_in_their_grace_period(profile):
    seat(profile, role="owner", last_activity_at=None)
    seat(
        profile,
        last_activity_at=None,
        excluded_from_reclamation=True,
        reclamation_exclusion_reason="The connection's own account",
    )
    seat(profile, last_activity_at=None, external_created_at=days_ago(29))
    seat(profile, last_activity_at=None, external_created_at=None, first_seen_at=days_ago(5))
    seat(profile, status=Sub.Status.REMOVED, last_activity_at=None)
    seat(profile, status=Sub.Status.RECLAIMED, last_activity_at=None)
    seat(
        profile,
        last_activity_at=None,
        person=factories.PersonFactory(active=False),
        external_created_at=days_ago(10),
    )

    assert identify().raised == 0


@pytest.mark.django_db
def test_it_keeps_at_most_one_open_candidate_per_subscription(profile):
    subscription = seat(profile, last_activity_at=days_ago(100))

    assert identify().raised == 1
    assert identify().raised == 0
    existing = ReclamationCandidate.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ReclamationCandidateFactory(subscription=subscription)

    # Once closed, the seat may be raised again.
    ReclamationCandidate.objects.filter(pk=existing.pk).update(state=State.CLOSED_SKIPPED)
    assert identify().raised == 1


@pytest.mark.django_db
def test_it_stores_justification_rule_snapshot_evidence_and_savings(profile):
    model = factories.SoftwareModelFactory()
    identifier = factories.SubscriptionIdentifierFactory(software_model=model)
    factories_entitlement = Entitlement.objects.create(
        software_model=model,
        purchased_rights=10,
        unit_cost=Decimal("12.50"),
        currency="EUR",
        period=Entitlement.Period.MONTHLY,
        start_date=dt.date(2020, 1, 1),
    )
    priced = seat(
        profile,
        identifier=identifier,
        software_model=model,
        last_activity_at=days_ago(70),
        last_activity_source="activity log",
        last_activity_evidence="https://api.calendly.com/activity_log_entries/E1",
    )
    unpriced = seat(profile, last_activity_at=days_ago(80))
    rule = ensure_rule(profile)
    rule.inactivity_days = 65
    rule.save()

    identify()

    c = ReclamationCandidate.objects.get(subscription=priced)
    assert c.rule == rule and c.rule_name == rule.name and c.profile_name == profile.name
    assert c.rule_snapshot["inactivity_days"] == 65
    assert c.rule_snapshot["require_approval"] is True
    assert c.last_activity_at == priced.last_activity_at
    assert c.last_activity_source == "activity log"
    assert c.last_activity_evidence.endswith("/E1")
    assert c.user_principal_name == priced.user_principal_name
    assert c.user_name == priced.person.name and c.department == priced.person.department
    assert (c.potential_savings, c.currency, c.savings_known) == (Decimal("150.00"), "EUR", True)
    assert factories_entitlement.annual_unit_cost == Decimal("150.00")

    other = ReclamationCandidate.objects.get(subscription=unpriced)
    assert (other.potential_savings, other.savings_known) == (Decimal("0"), False)
    assert "no activity for more than 65 days" in identification.explain(c)


@pytest.mark.django_db
def test_it_raises_seats_without_a_software_model_with_savings_unknown(profile):
    """An unrecognized identifier leaves the seat without a model: with entitlements in
    force, ``model IN (priced models)`` is NULL for it, which once failed the whole run."""
    model = factories.SoftwareModelFactory()
    Entitlement.objects.create(
        software_model=model,
        purchased_rights=5,
        unit_cost=Decimal("10"),
        start_date=dt.date(2020, 1, 1),
    )
    unmodelled = seat(profile, software_model=None, identifier=None, last_activity_at=days_ago(90))

    identify()

    c = ReclamationCandidate.objects.get(subscription=unmodelled)
    assert (c.potential_savings, c.currency, c.savings_known) == (Decimal("0"), "", False)


@pytest.mark.django_db
def test_it_prefers_the_profiles_own_entitlement(profile):
    model = factories.SoftwareModelFactory()
    common = {"software_model": model, "purchased_rights": 5, "start_date": dt.date(2020, 1, 1)}
    Entitlement.objects.create(unit_cost=Decimal("100"), **common)
    Entitlement.objects.create(unit_cost=Decimal("80"), profile=profile, **common)
    Entitlement.objects.create(
        unit_cost=Decimal("1"), end_date=dt.date(2020, 12, 31), profile=profile, **common
    )

    costs = seat_costs.entitlement_costs(profile.pk)

    assert costs[model.pk].annual == Decimal("80")


@pytest.mark.django_db
def test_it_starts_candidates_as_ready_when_the_rule_requires_no_approval(profile):
    rule = ensure_rule(profile)
    rule.require_approval = False
    rule.save()
    seat(profile, last_activity_at=days_ago(90))

    identify()

    assert ReclamationCandidate.objects.get().state == State.READY


@pytest.mark.django_db
def test_it_uses_activity_only_once_a_pull_succeeded(fake):
    profile = make_profile(activity_pulled=False)
    seat(profile, last_activity_at=None)
    seat(profile, last_activity_at=None, person=factories.PersonFactory(active=False))

    result = identify()

    assert result.raised == 1
    assert ReclamationCandidate.objects.get().justification == J.LEAVER
    assert "no successful activity pull" in result.warnings[0]


@pytest.mark.django_db
def test_it_ignores_inactive_rules_and_unpublished_profiles(fake):
    inactive = make_profile()
    rule = ensure_rule(inactive)
    rule.active = False
    rule.save()
    seat(inactive, last_activity_at=None)
    draft = make_profile(status=IntegrationProfile.Status.DRAFT)
    seat(draft, last_activity_at=None)

    assert identify().raised == 0
    assert not ReclamationRule.objects.filter(profile=draft).exists()


@pytest.mark.django_db
def test_it_auto_creates_one_reviewable_rule_per_profile_with_the_defaults(profile):
    identify()
    rule = ReclamationRule.objects.get(profile=profile)

    assert ensure_rule(profile) == rule
    assert rule.name == profile.name and rule.active and rule.needs_review
    assert (rule.inactivity_days, rule.grace_days, rule.invitation_days) == (60, 30, 30)
    assert rule.include_never_active and rule.reclaim_leavers and rule.require_approval
    assert not rule.notify_user and rule.days_before_reclaim == 7


@pytest.mark.django_db
def test_it_closes_open_candidates_whose_seat_vanished_at_the_vendor(profile, fake):
    """ServiceNow's rule: Awaiting Revocation with its subscription gone → Closed Complete;
    any other open state → Closed Skipped."""
    revoking = candidate(profile, state=State.AWAITING_REVOCATION)
    waiting = {
        s: candidate(profile, state=s) for s in OPEN_STATES if s != State.AWAITING_REVOCATION
    }
    kept = candidate(profile)
    gone = [revoking, *waiting.values()]
    Sub.objects.filter(pk__in=[c.subscription_id for c in gone]).update(status=Sub.Status.REMOVED)

    closed = premises.close_vanished(profile)

    assert closed == sorted(c.pk for c in gone)
    revoking.refresh_from_db()
    assert revoking.state == State.CLOSED_COMPLETE and revoking.closed_at
    event = revoking.events.get()
    assert (event.from_state, event.to_state) == (State.AWAITING_REVOCATION, State.CLOSED_COMPLETE)
    for state, c in waiting.items():
        c.refresh_from_db()
        assert c.state == State.CLOSED_SKIPPED, state
        assert c.events.get().from_state == state
    kept.refresh_from_db()
    assert kept.state == State.AWAITING_APPROVAL


@pytest.mark.django_db
def test_a_candidate_whose_seat_row_is_gone_counts_as_vanished(profile):
    """The candidate's link to its seat has no database constraint (identification would pay
    a foreign-key check per new candidate), so a seat row deleted behind Django's back leaves
    a dangling id: that candidate closes like one whose seat the vendor removed."""
    gone, kept = candidate(profile), candidate(profile)
    Sub.objects.filter(pk=gone.subscription_id)._raw_delete(connection.alias)

    assert premises.close_vanished(profile) == [gone.pk]
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert gone.state == State.CLOSED_SKIPPED
    assert kept.state == State.AWAITING_APPROVAL


@pytest.mark.django_db
def test_it_cancels_open_candidates_whose_activity_resumed(profile):
    resumed = candidate(profile)
    never = candidate(profile, subscription=seat(profile, last_activity_at=None))
    quiet = candidate(profile)
    closed = candidate(profile, state=State.CLOSED_COMPLETE)
    Sub.objects.filter(pk__in=[resumed.subscription_id, never.subscription_id]).update(
        last_activity_at=days_ago(0)
    )
    Sub.objects.filter(pk=closed.subscription_id).update(last_activity_at=days_ago(0))

    result = identify()

    states = dict(ReclamationCandidate.objects.values_list("pk", "state"))
    assert result.canceled == 2
    assert states[resumed.pk] == states[never.pk] == State.CLOSED_CANCELED
    assert states[quiet.pk] == State.AWAITING_APPROVAL
    assert states[closed.pk] == State.CLOSED_COMPLETE
    assert "Activity resumed" in resumed.events.get().note


@pytest.mark.django_db
def test_it_closes_open_candidates_of_seats_excluded_since(profile):
    c = candidate(profile)
    Sub.objects.filter(pk=c.subscription_id).update(excluded_from_reclamation=True)

    identify()

    c.refresh_from_db()
    assert c.state == State.CLOSED_SKIPPED


@pytest.mark.django_db
def test_it_identifies_with_a_constant_number_of_queries(fake):
    def queries_for(count):
        profile = make_profile()
        ensure_rule(profile)
        for _ in range(count):
            seat(profile, last_activity_at=days_ago(90))
        with CaptureQueriesContext(connection) as queries:
            result = identify(profiles=[profile])
        assert result.raised == count
        return len(queries)

    assert queries_for(3) == queries_for(30)


@pytest.mark.django_db
def test_it_runs_from_refresh_process_candidates(profile, capsys):
    seat(profile, last_activity_at=days_ago(90))

    call_command("refresh", "--process", "candidates")

    run = JobRun.objects.get(kind=JobKind.CANDIDATES)
    assert run.status == JobRun.Status.SUCCEEDED and run.created == 1
    assert ReclamationCandidate.objects.count() == 1


@pytest.mark.django_db
def test_the_daily_beat_task_only_sweeps_deadlines(profile, django_capture_on_commit_callbacks):
    """Each profile identifies its own candidates at the end of its refresh; the global daily
    run only moves the workflow on."""
    seat(profile, last_activity_at=days_ago(90))

    with django_capture_on_commit_callbacks(execute=True):
        sam_tasks.enqueue_global_job(JobKind.CANDIDATES)

    run = JobRun.objects.get(kind=JobKind.CANDIDATES)
    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert run.trigger == JobRun.Trigger.SCHEDULE and run.created == 0
    assert not ReclamationCandidate.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue(profile, JobKind.PROFILE_CANDIDATES, JobRun.Trigger.SCHEDULE)
    run = JobRun.objects.get(kind=JobKind.PROFILE_CANDIDATES)
    assert run.status == JobRun.Status.SUCCEEDED and run.created == 1
    assert ReclamationCandidate.objects.filter(profile=profile).count() == 1


@pytest.mark.django_db
def test_it_closes_open_candidates_when_the_profile_is_removed_and_keeps_its_rule(profile):
    open_one = candidate(profile, state=State.AWAITING_REVOCATION)
    done = candidate(profile, state=State.CLOSED_COMPLETE)
    rule = ensure_rule(profile)

    profile.delete()

    open_one.refresh_from_db()
    done.refresh_from_db()
    rule.refresh_from_db()
    assert open_one.state == State.CLOSED_SKIPPED
    assert open_one.subscription_id is None and open_one.profile_id is None
    assert open_one.profile_name and open_one.user_principal_name
    assert "was removed" in open_one.events.get().note
    assert done.state == State.CLOSED_COMPLETE
    assert rule.profile_id is None
