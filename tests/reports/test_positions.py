"""Licence-position arithmetic against hand-computed cases, and reconciliation."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from reclamation.models import ReclamationCandidate
from sam_saas import money
from sam_saas.models import Entitlement, JobRun, LicencePositionSnapshot, SoftwareSubscription
from sam_saas.services import jobs, positions
from tests import factories

from .conftest import seats

pytestmark = pytest.mark.django_db
Status = LicencePositionSnapshot.Status


def test_it_computes_a_shortfall_and_its_true_up_cost(model, profile):
    factories.EntitlementFactory(software_model=model, purchased_rights=10, unit_cost="120.00")
    seats(12, model=model, profile=profile)
    seats(
        1,
        model=model,
        profile=profile,
        kind=SoftwareSubscription.Kind.INVITATION,
        status=SoftwareSubscription.Status.PENDING,
    )

    position = positions.compute().get(model.pk)

    assert (position.purchased, position.seats.assigned, position.seats.pending) == (10, 12, 1)
    assert (position.available, position.shortfall) == (0, 3)
    assert position.shortfall_cost == money.Cost(Decimal("360.00"), "USD")
    assert position.status == Status.UNDER_LICENSED


def test_it_computes_over_licensed_seats_from_a_monthly_price(model, profile):
    factories.EntitlementFactory(
        software_model=model, purchased_rights=25, unit_cost="10.00", period="monthly"
    )
    seats(20, model=model, profile=profile)

    position = positions.compute().get(model.pk)

    assert (position.available, position.shortfall) == (5, 0)
    assert position.status == Status.OVER_LICENSED
    assert position.unit == money.Cost(Decimal("120.00"), "USD")
    assert position.over_licensed_cost == money.Cost(Decimal("600.00"), "USD")
    assert position.spend == {"USD": Decimal("3000.00")}


def test_it_stops_counting_an_expired_entitlement(model, profile):
    today = timezone.localdate()
    factories.EntitlementFactory(
        software_model=model,
        purchased_rights=50,
        start_date=today - dt.timedelta(days=400),
        end_date=today - dt.timedelta(days=1),
    )
    factories.EntitlementFactory(
        software_model=model, purchased_rights=7, start_date=today + dt.timedelta(days=1)
    )
    factories.EntitlementFactory(
        software_model=model, purchased_rights=10, unit_cost="100.00", end_date=today
    )
    seats(8, model=model, profile=profile)

    result = positions.compute()
    position = result.get(model.pk)

    assert position.purchased == 10  # only the entitlement in force today
    assert position.available == 2
    assert result.annual_spend() == {"USD": Decimal("1000.00")}


def test_it_never_adds_mixed_currencies(profile):
    usd_model, eur_model, mixed = factories.SoftwareModelFactory.create_batch(3)
    factories.EntitlementFactory(software_model=usd_model, purchased_rights=10, unit_cost="120")
    factories.EntitlementFactory(
        software_model=eur_model, purchased_rights=5, unit_cost="100", currency="EUR"
    )
    factories.EntitlementFactory(
        software_model=mixed,
        purchased_rights=4,
        unit_cost="50",
        currency="GBP",
        start_date=timezone.localdate() - dt.timedelta(days=60),
    )
    factories.EntitlementFactory(software_model=mixed, purchased_rights=6, unit_cost="10")
    seats(12, model=mixed, profile=profile)

    result = positions.compute()

    assert result.annual_spend() == {
        "USD": Decimal("1260.00"),
        "EUR": Decimal("500.00"),
        "GBP": Decimal("200.00"),
    }
    position = result.get(mixed.pk)
    assert position.purchased == 10 and position.shortfall == 2
    # The true-up is priced at the latest entitlement's unit cost, in its currency.
    assert position.shortfall_cost == money.Cost(Decimal("20.00"), "USD")
    rows = {row.currency: row for row in position.snapshot_rows(result.on)}
    assert set(rows) == {"GBP", "USD"}
    assert rows["GBP"].annual_spend == Decimal("200.00")
    assert rows["USD"].annual_spend == Decimal("60.00")
    assert rows["GBP"].shortfall_cost == 0 and rows["USD"].shortfall_cost == Decimal("20.00")
    assert rows["GBP"].purchased == rows["USD"].purchased == 10  # seats repeat on each row
    assert money.display(result.annual_spend()) == ("500.00 EUR, 200.00 GBP, 1,260.00 USD")


def test_it_leaves_excluded_and_removed_seats_out_of_the_position(model, profile):
    factories.EntitlementFactory(software_model=model, purchased_rights=5)
    seats(3, model=model, profile=profile)
    seats(2, model=model, profile=profile, excluded_from_cost=True)
    seats(4, model=model, profile=profile, status=SoftwareSubscription.Status.REMOVED)
    seats(
        1,
        model=model,
        profile=profile,
        kind=SoftwareSubscription.Kind.INVITATION,
        status=SoftwareSubscription.Status.PENDING,
        excluded_from_cost=True,
    )

    position = positions.compute().get(model.pk)

    assert (position.seats.assigned, position.seats.pending, position.seats.excluded) == (3, 0, 3)
    assert (position.available, position.shortfall) == (2, 0)


def test_it_counts_stale_seats_past_each_profile_rule_threshold(model):
    strict, lenient = factories.IntegrationProfileFactory.create_batch(2)
    factories.ReclamationRuleFactory(profile=strict, inactivity_days=30)
    old = timezone.now() - dt.timedelta(days=400)
    for profile in (strict, lenient):
        seats(1, model=model, profile=profile, days_inactive=10)
        seats(1, model=model, profile=profile, days_inactive=45)
        seats(1, model=model, profile=profile, days_inactive=100)
        seats(1, model=model, profile=profile, last_activity_at=None, external_created_at=old)
        seats(
            1,
            model=model,
            profile=profile,
            last_activity_at=None,
            external_created_at=timezone.now() - dt.timedelta(days=3),
        )
        seats(1, model=model, profile=profile, days_inactive=100, excluded_from_cost=True)

    result = positions.compute()

    assert result.get(model.pk, strict.pk).seats.stale == 3  # 45, 100 days and never (old)
    assert result.get(model.pk, lenient.pk).seats.stale == 2  # 100 days and never (old)
    assert result.get(model.pk).seats.stale == 5
    buckets = result.seats_by_profile[strict.pk].buckets
    assert buckets == {"0-30": 1, "30-60": 1, "60-90": 0, "90-120": 2, "120+": 0, "never": 2}


def test_it_judges_a_profile_covered_by_a_shared_entitlement_across_all_profiles(model):
    first, second, own = factories.IntegrationProfileFactory.create_batch(3)
    factories.EntitlementFactory(software_model=model, profile=None, purchased_rights=10)
    factories.EntitlementFactory(software_model=model, profile=own, purchased_rights=2)
    seats(6, model=model, profile=first)
    seats(5, model=model, profile=second)
    seats(3, model=model, profile=own)

    result = positions.compute()

    assert result.get(model.pk, first.pk).status == Status.SHARED
    assert result.get(model.pk, first.pk).shortfall == 0
    assert result.get(model.pk, own.pk).shortfall == 1
    overall = result.get(model.pk)
    assert (overall.purchased, overall.in_use, overall.shortfall) == (12, 14, 2)


def test_it_counts_potential_savings_and_freed_seats_per_currency(model, profile):
    factories.EntitlementFactory(software_model=model, purchased_rights=10)
    subscription = seats(1, model=model, profile=profile)[0]
    factories.ReclamationCandidateFactory(subscription=subscription, potential_savings="120")
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0],
        potential_savings="0",
        currency="",
        savings_known=False,
    )
    closed = ReclamationCandidate.State.CLOSED_COMPLETE
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0],
        state=closed,
        closed_at=timezone.now(),
        potential_savings="90",
        currency="EUR",
    )
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0],
        state=closed,
        closed_at=positions.year_start(timezone.now()) - dt.timedelta(days=1),
    )

    totals = positions.compute().get(model.pk).candidates

    assert (totals.open, totals.unknown, totals.open_in_use) == (2, 1, 2)
    assert totals.potential.by_currency == {"USD": Decimal("120.00")}
    assert (totals.freed, totals.freed_value.by_currency) == (1, {"EUR": Decimal("90.00")})


def test_it_stores_a_dated_snapshot_per_model_profile_and_currency(model, profile):
    factories.EntitlementFactory(software_model=model, profile=profile, purchased_rights=10)
    seats(4, model=model, profile=profile)

    run = jobs.run_now(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)
    again = jobs.run_now(None, JobRun.Kind.RECONCILE, JobRun.Trigger.SCHEDULE)

    assert run.status == again.status == JobRun.Status.SUCCEEDED
    assert (run.created, again.created, again.removed) == (2, 2, 2)
    rows = LicencePositionSnapshot.objects.order_by(F("profile_id").asc(nulls_first=True))
    assert [(r.profile_id, r.currency, r.purchased, r.assigned, r.available) for r in rows] == [
        (None, "USD", 10, 4, 6),
        (profile.pk, "USD", 10, 4, 6),
    ]
    assert {r.date for r in rows} == {timezone.localdate()}
    assert rows[0].annual_spend == Decimal("1200.00")


def test_it_stores_an_unlicensed_position_without_a_currency(model, profile):
    seats(3, model=model, profile=profile)

    written, _ = positions.reconcile()

    assert written == 2
    row = LicencePositionSnapshot.objects.get(profile=None)
    assert (row.currency, row.status, row.shortfall, row.shortfall_cost) == (
        "",
        Status.UNLICENSED,
        3,
        None,
    )


def test_it_runs_reconciliation_from_the_refresh_command(model, profile, capsys):
    factories.EntitlementFactory(software_model=model, purchased_rights=3)

    call_command("refresh", "--process", "reconcile")

    assert "Reconcile · all profiles: SUCCEEDED" in capsys.readouterr().out
    assert LicencePositionSnapshot.objects.filter(software_model=model).count() == 1


def test_it_reconciles_now_from_the_admin(admin_client, model, django_capture_on_commit_callbacks):
    entitlement = factories.EntitlementFactory(software_model=model)

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:sam_saas_entitlement_changelist"),
            {"action": "reconcile_now", "_selected_action": [entitlement.pk]},
            follow=True,
        )
    with django_capture_on_commit_callbacks(execute=True):
        button = admin_client.post(reverse("admin:sam_saas_licencepositionsnapshot_reconcile"))

    assert "Reconciliation queued" in response.content.decode()
    assert button.status_code == 302
    runs = JobRun.objects.filter(kind=JobRun.Kind.RECONCILE, trigger=JobRun.Trigger.MANUAL)
    assert list(runs.values_list("status", flat=True)) == ["succeeded", "succeeded"]
    assert LicencePositionSnapshot.objects.filter(software_model=model).exists()


def test_it_lets_only_managers_reconcile_from_the_positions_list(client, model):
    viewer = factories.UserFactory(groups=["SAM viewer"])
    client.force_login(viewer)

    page = client.get(reverse("admin:sam_saas_licencepositionsnapshot_changelist"))
    posted = client.post(reverse("admin:sam_saas_licencepositionsnapshot_reconcile"))

    assert page.status_code == 200 and 'id="reconcile-now"' not in page.content.decode()
    assert posted.status_code == 403


def test_only_published_profiles_count_in_the_position(model, profile):
    factories.EntitlementFactory(software_model=model, purchased_rights=5, unit_cost="100")
    seats(4, model=model, profile=profile)
    draft = factories.IntegrationProfileFactory(status="draft")
    seats(9, model=model, profile=draft, days_inactive=200)
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=draft)[0], profile=draft
    )

    result = positions.compute()

    position = result.get(model.pk)
    assert (position.seats.assigned, position.shortfall, position.candidates.open) == (4, 0, 0)
    assert result.get(model.pk, draft.pk) is None and draft.pk not in result.seats_by_profile
    assert result.stale == 0


def test_in_force_is_one_definition_for_rows_and_querysets(model):
    today = timezone.localdate()
    cases = [
        (today - dt.timedelta(days=10), None),
        (today, today),
        (today + dt.timedelta(days=1), None),
        (today - dt.timedelta(days=30), today - dt.timedelta(days=1)),
    ]
    entitlements = [
        factories.EntitlementFactory(software_model=model, start_date=start, end_date=end)
        for start, end in cases
    ]
    in_force = set(Entitlement.objects.in_force().values_list("pk", flat=True))

    assert {e.pk for e in entitlements if e.is_in_force()} == in_force
    assert len(in_force) == 2
