"""The rule preview (counts, seats and savings per threshold, creating nothing) and the
potential/freed savings of profiles and rules."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services.preview import preview
from reclamation.services.rules import ensure_rule
from reclamation.services.savings import render_savings, savings_for
from sam_saas.models import Entitlement
from tests import factories

from .conftest import candidate, days_ago, make_profile, seat

State = ReclamationCandidate.State


@pytest.mark.django_db
def test_it_previews_candidates_seats_and_savings_per_threshold_without_creating_anything(
    profile,
):
    identifier = factories.SubscriptionIdentifierFactory()
    Entitlement.objects.create(
        software_model=identifier.software_model,
        purchased_rights=10,
        unit_cost=Decimal("10"),
        period=Entitlement.Period.MONTHLY,
        start_date=dt.date(2020, 1, 1),
    )
    priced = {"identifier": identifier, "software_model": identifier.software_model}
    for days in (35, 65, 95):
        seat(profile, last_activity_at=days_ago(days), **priced)
    already = seat(profile, last_activity_at=days_ago(125), **priced)
    candidate(profile, subscription=already)
    seat(profile, last_activity_at=days_ago(1), person=factories.PersonFactory(active=False))
    rule = ReclamationRule(profile=profile, name="draft", inactivity_days=45)
    before = ReclamationCandidate.objects.count()

    with CaptureQueriesContext(connection) as queries:
        result = preview(rule)

    rows = {row.days: row for row in result.rows}
    assert list(rows) == [30, 45, 60, 90, 120]
    assert rows[45].is_rule_threshold and not rows[60].is_rule_threshold
    assert {d: (r.candidates, r.seats) for d, r in rows.items()} == {
        30: (4, 5),
        45: (3, 4),
        60: (3, 4),
        90: (2, 3),
        120: (1, 2),
    }
    assert rows[30].savings == {"USD": Decimal("480")}  # 4 priced seats × 10 × 12
    assert rows[120].savings == {"USD": Decimal("120")} and rows[120].unknown_cost == 1
    assert len(queries) <= 4
    assert ReclamationCandidate.objects.count() == before
    assert not ReclamationRule.objects.filter(name="draft").exists()


@pytest.mark.django_db
def test_it_previews_only_leavers_and_invitations_before_any_activity_pull(fake):
    profile = make_profile(activity_pulled=False)
    seat(profile, last_activity_at=None)

    result = preview(ReclamationRule(profile=profile, name="r"))

    assert all(row.seats == 0 for row in result.rows)
    assert "No successful activity pull" in result.message


@pytest.mark.django_db
def test_it_sums_potential_and_freed_savings_and_counts_unknown_costs(profile, fake):
    other = make_profile()
    candidate(profile, potential_savings=Decimal("120"))
    candidate(profile, state=State.ATTENTION_REQUIRED, potential_savings=Decimal("60"))
    candidate(profile, savings_known=False, potential_savings=0)
    candidate(profile, state=State.CLOSED_COMPLETE, potential_savings=Decimal("120"))
    candidate(profile, state=State.CLOSED_SKIPPED, potential_savings=Decimal("999"))
    candidate(other, potential_savings=Decimal("5"))

    by_profile = savings_for(profile=profile)
    by_rule = savings_for(rule=ensure_rule(profile))

    for savings in (by_profile, by_rule):
        assert savings.potential.count == 3 and savings.potential.unknown == 1
        assert savings.potential.by_currency == {"USD": Decimal("180")}
        assert savings.freed.count == 1 and savings.freed.by_currency == {"USD": Decimal("120")}
    assert "seat of unknown cost" in by_profile.potential.display
    assert "save money only once the purchased seat count is lowered" in by_profile.note
    assert savings_for().potential.by_currency == {"USD": Decimal("185")}
    assert "180.00 USD" in render_savings(profile=profile)
