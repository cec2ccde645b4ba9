"""Money rules of reclamation: a seat excluded from cost saves nothing; one price per seat for
the candidate's saving and the position's true-up; a never-active seat is stale only past
the threshold; a new user exclusion rule excludes from cost and reclamation by default."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services.identification import identify
from reclamation.services.preview import preview
from reclamation.services.rules import ensure_rule
from reclamation.services.savings import savings_for
from sam_saas import money
from sam_saas.models import Entitlement, SoftwareSubscription, SubscriptionUserExclusionRule
from sam_saas.services import positions
from tests import factories

from .conftest import candidate, days_ago, seat

J = ReclamationCandidate.Justification
pytestmark = pytest.mark.django_db


@pytest.fixture
def priced(profile):
    identifier = factories.SubscriptionIdentifierFactory()
    Entitlement.objects.create(
        software_model=identifier.software_model,
        purchased_rights=10,
        unit_cost=Decimal("10"),
        period=Entitlement.Period.MONTHLY,
        start_date=dt.date(2020, 1, 1),
    )
    return {"identifier": identifier, "software_model": identifier.software_model}


def test_a_seat_excluded_from_cost_carries_no_potential_saving(profile, priced):
    counted = seat(profile, last_activity_at=days_ago(100), **priced)
    excluded = seat(
        profile,
        last_activity_at=days_ago(100),
        excluded_from_cost=True,
        cost_exclusion_reason="Paid by the partner",
        **priced,
    )

    identify()

    by_seat = {c.subscription_id: c for c in ReclamationCandidate.objects.all()}
    assert (by_seat[counted.pk].potential_savings, by_seat[counted.pk].currency) == (
        Decimal("120.00"),
        "USD",
    )
    # A known zero, not an unknown cost.
    assert by_seat[excluded.pk].potential_savings == 0 and by_seat[excluded.pk].savings_known
    potential = savings_for(profile=profile).potential
    assert potential.by_currency == {"USD": Decimal("120.00")} and potential.unknown == 0
    totals = positions.compute().candidates_total
    assert totals.potential.by_currency == {"USD": Decimal("120.00")} and totals.unknown == 0
    row = next(r for r in preview(profile.reclamation_rule).rows if r.is_rule_threshold)
    assert (row.seats, row.savings, row.unknown_cost) == (2, {"USD": Decimal("120")}, 0)


def test_a_seat_excluded_from_cost_after_its_candidate_was_raised_saves_nothing(profile, priced):
    one, two = (seat(profile, last_activity_at=days_ago(100), **priced) for _ in range(2))
    identify()

    SoftwareSubscription.objects.filter(pk=two.pk).update(excluded_from_cost=True)

    assert savings_for(profile=profile).potential.by_currency == {"USD": Decimal("120.00")}
    totals = positions.compute().get(priced["software_model"].pk).candidates
    assert totals.open == 2 and totals.potential.by_currency == {"USD": Decimal("120.00")}
    assert one.pk != two.pk


def test_a_candidate_and_the_true_up_price_a_seat_by_the_same_entitlement(profile):
    model = factories.SoftwareModelFactory()
    today = dt.date.today()
    # A shared contract that started later, and the profile's own older one: the profile's
    # own contract prices its seats, for the candidate and for the position alike.
    Entitlement.objects.create(
        software_model=model, purchased_rights=1, unit_cost=Decimal("30"), start_date=today
    )
    Entitlement.objects.create(
        software_model=model,
        profile=profile,
        purchased_rights=1,
        unit_cost=Decimal("20"),
        start_date=today - dt.timedelta(days=100),
    )
    for _ in range(3):
        seat(profile, software_model=model, last_activity_at=days_ago(100))

    identify()

    assert money.MONTHLY == Entitlement.Period.MONTHLY  # the money module reads periods
    candidate_prices = set(ReclamationCandidate.objects.values_list("potential_savings", flat=True))
    position = positions.compute().get(model.pk, profile.pk)
    assert candidate_prices == {Decimal("20.00")}
    assert position.unit == money.Cost(Decimal("20"), "USD")
    assert position.shortfall == 2 and position.shortfall_cost == money.Cost(Decimal("40"), "USD")


def test_a_never_active_seat_becomes_a_candidate_once_it_is_stale(profile):
    rule = ensure_rule(profile)
    ReclamationRule.objects.filter(pk=rule.pk).update(inactivity_days=60, grace_days=30)
    young = seat(profile, last_activity_at=None, external_created_at=days_ago(45))
    old = seat(profile, last_activity_at=None, external_created_at=days_ago(61))

    identify()

    assert dict(ReclamationCandidate.objects.values_list("subscription_id", "justification")) == {
        old.pk: J.NEVER_USED
    }
    stale = set(SoftwareSubscription.objects.stale().values_list("pk", flat=True))
    assert old.pk in stale and young.pk not in stale


def test_a_new_user_exclusion_rule_excludes_from_cost_and_reclamation(admin_client):
    rule = SubscriptionUserExclusionRule(email_pattern="*@partner.example", reason="Partner")
    assert rule.exclude_from_cost and rule.exclude_from_reclamation

    page = admin_client.get(
        reverse("admin:sam_saas_subscriptionuserexclusionrule_add")
    ).content.decode()
    for name in ("exclude_from_cost", "exclude_from_reclamation"):
        field = next(t for t in page.split("<input") if f'name="{name}"' in t)
        assert "checked" in field


def test_the_stale_comparison_counts_a_seat_once_whatever_its_closed_candidates(profile):
    """The comparison joins each stale seat to its open candidate (one at most): closed
    candidates of the same seat neither add rows nor make it a candidate."""
    from reclamation.figures import stale_differences

    ensure_rule(profile)
    matched, other, closed_only = (seat(profile, last_activity_at=days_ago(400)) for _ in "abc")
    for subscription, justification, state in [
        (matched, J.LOW_USAGE, "closed_canceled"),
        (matched, J.LEAVER, "closed_skipped"),
        (matched, J.LOW_USAGE, "awaiting_approval"),
        (other, J.LOW_USAGE, "closed_canceled"),
        (other, J.LEAVER, "awaiting_approval"),
        (closed_only, J.LOW_USAGE, "closed_complete"),
    ]:
        candidate(profile, subscription=subscription, justification=justification, state=state)

    comparison = stale_differences(SoftwareSubscription.objects.stale(), timezone.now())

    assert (comparison.stale, comparison.matching) == (3, 1)
    reasons = dict((why, n) for n, why in comparison.seats_not_candidates)
    assert reasons.pop("raised for another reason (leaver or stale invitation)") == 1
    assert sum(reasons.values()) == 1
