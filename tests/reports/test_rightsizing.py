"""Renewal right-sizing: seats in use + pending − open candidates, plus headroom."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from sam_saas.models import SoftwareSubscription
from sam_saas.services import rightsizing
from tests import factories

from .conftest import seats

pytestmark = pytest.mark.django_db


def _ending_in(days):
    return timezone.localdate() + dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("in_use", "candidates", "headroom", "continuing", "expected"),
    [
        (22, 4, Decimal("10"), 0, 20),  # 18 × 1.10 = 19.8 → 20
        (20, 0, Decimal("10"), 0, 22),  # exactly 22
        (21, 0, Decimal("10"), 0, 24),  # 23.1 → 24: always round up
        (5, 0, Decimal("0"), 0, 5),
        (3, 5, Decimal("10"), 0, 0),  # never negative
        (30, 0, Decimal("10"), 10, 23),  # 33 − 10 rights that continue
        (10, 0, Decimal("10"), 50, 0),
    ],
)
def test_it_computes_the_recommended_seat_count(in_use, candidates, headroom, continuing, expected):
    assert rightsizing.recommend_seats(in_use, candidates, headroom, continuing) == expected


def test_it_recommends_seats_for_an_entitlement_ending_within_90_days(model, profile):
    entitlement = factories.EntitlementFactory(
        software_model=model, purchased_rights=30, unit_cost="120.00", end_date=_ending_in(60)
    )
    factories.EntitlementFactory(software_model=model, end_date=_ending_in(120))
    assigned = seats(20, model=model, profile=profile)
    seats(
        2,
        model=model,
        profile=profile,
        kind=SoftwareSubscription.Kind.INVITATION,
        status=SoftwareSubscription.Status.PENDING,
    )
    seats(3, model=model, profile=profile, excluded_from_cost=True)
    for subscription in assigned[:4]:
        factories.ReclamationCandidateFactory(subscription=subscription)

    found = rightsizing.recommendations(headroom_percent=Decimal("10"))

    assert [r.entitlement.pk for r in found] == [entitlement.pk]
    recommendation = found[0]
    # The other entitlement (25 rights) runs on after this one ends.
    assert (recommendation.in_use, recommendation.pending) == (20, 2)
    assert recommendation.open_candidates == 4
    assert recommendation.continuing_rights == 25
    assert recommendation.recommended == 0  # 18 × 1.1 → 20, all covered by the 25 that stay
    assert recommendation.days_left == 60


def test_it_shows_the_saving_implied_by_the_recommendation(model, profile):
    factories.EntitlementFactory(
        software_model=model,
        profile=profile,
        purchased_rights=30,
        unit_cost="10.00",
        period="monthly",
        end_date=_ending_in(30),
    )
    assigned = seats(20, model=model, profile=profile)
    seats(
        2,
        model=model,
        profile=profile,
        kind=SoftwareSubscription.Kind.INVITATION,
        status=SoftwareSubscription.Status.PENDING,
    )
    for subscription in assigned[:4]:
        factories.ReclamationCandidateFactory(subscription=subscription)

    (recommendation,) = rightsizing.recommendations()  # default headroom: 10 %

    assert recommendation.headroom_percent == Decimal("10")
    assert recommendation.recommended == 20
    assert recommendation.change == -10
    assert recommendation.saving == Decimal("1200.00")
    assert recommendation.saving_display == "1,200.00 USD"


def test_it_prices_a_true_up_when_seats_exceed_the_rights(model, profile):
    factories.EntitlementFactory(
        software_model=model, purchased_rights=10, unit_cost="100", end_date=_ending_in(10)
    )
    seats(15, model=model, profile=profile)

    (recommendation,) = rightsizing.recommendations(headroom_percent=Decimal("0"))

    assert recommendation.recommended == 15
    assert recommendation.saving == Decimal("-500")


def test_it_leaves_out_entitlements_ending_later_or_never(model, profile):
    factories.EntitlementFactory(software_model=model, end_date=_ending_in(91))
    factories.EntitlementFactory(software_model=model, end_date=None)
    factories.EntitlementFactory(
        software_model=model,
        start_date=timezone.localdate() - dt.timedelta(days=400),
        end_date=timezone.localdate() - dt.timedelta(days=1),
    )

    assert rightsizing.recommendations() == []
