"""The saved rule's page shows the preview the jobs stored (bounded: no aggregate over the
profile's seats on each view), with when it was computed; "Preview" of typed settings, and a
rule whose settings changed since, run the live preview. Both are the same function."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate, ReclamationRule
from reclamation.services.preview import preview
from reclamation.services.rules import ensure_rule
from reclamation.services.stored_preview import RULE_PREVIEW, saved_rule_preview
from reclamation.services.transitions import transition
from sam_saas.models import Entitlement, JobRun, StoredFigures
from tests import factories

from .conftest import candidate, days_ago, seat

State = ReclamationCandidate.State
pytestmark = pytest.mark.django_db


def figures_of(result):
    return [
        (r.days, r.is_rule_threshold, r.candidates, r.seats, r.stale, r.savings, r.unknown_cost)
        for r in result.rows
    ]


def priced_seats(profile, days_list):
    identifier = factories.SubscriptionIdentifierFactory()
    Entitlement.objects.create(
        software_model=identifier.software_model,
        purchased_rights=10,
        unit_cost=Decimal("10"),
        period=Entitlement.Period.MONTHLY,
        start_date=dt.date(2020, 1, 1),
    )
    priced = {"identifier": identifier, "software_model": identifier.software_model}
    return [seat(profile, last_activity_at=days_ago(d), **priced) for d in days_list]


def rule_page(client, rule) -> str:
    url = reverse("admin:reclamation_reclamationrule_change", args=[rule.pk])
    return client.get(url).content.decode()


def test_the_stored_preview_shows_the_same_figures_as_the_live_one(profile):
    rule = ensure_rule(profile)
    already = priced_seats(profile, (35, 65, 95, 125))[-1]
    candidate(profile, subscription=already)
    seat(profile, last_activity_at=days_ago(1), person=factories.PersonFactory(active=False))

    stored = saved_rule_preview(rule)
    again = saved_rule_preview(rule)  # now read from what the first one stored

    live = preview(rule)
    assert stored.computed_at is not None and again.computed_at == stored.computed_at
    assert figures_of(again) == figures_of(live)
    assert any(r.candidates for r in live.rows) and any(r.savings for r in live.rows)
    assert StoredFigures.objects.filter(group=RULE_PREVIEW, profile=profile).count() == 1
    assert again.comparison.as_json() == live.comparison.as_json()


def test_the_rule_page_says_when_its_figures_were_computed_and_preview_counts_now(
    admin_client, profile
):
    rule = ensure_rule(profile)
    seat(profile, last_activity_at=days_ago(95))
    rule_page(admin_client, rule)  # stores the figures
    seat(profile, last_activity_at=days_ago(95))  # no job ran since: not in the stored ones

    page = rule_page(admin_client, rule)
    posted = admin_client.post(
        reverse("admin:reclamation_reclamationrule_change", args=[rule.pk]),
        {
            **{
                f: getattr(rule, f)
                for f in (
                    "name",
                    "inactivity_days",
                    "grace_days",
                    "invitation_days",
                    "days_before_reclaim",
                    "propose_again_after_days",
                )
            },
            "profile": profile.pk,
            "active": "on",
            "include_never_active": "on",
            "reclaim_leavers": "on",
            "_preview": "1",
        },
    ).content.decode()

    assert 'id="preview-computed-at"' in page
    assert "<td>60 days (this rule)</td>\n          <td>1</td>" in page
    assert 'id="preview-computed-at"' not in posted  # the live preview
    assert "<td>60 days (this rule)</td>\n          <td>2</td>" in posted


def test_it_previews_live_when_the_rule_changed_since_the_figures_were_computed(profile):
    rule = ensure_rule(profile)
    for days in (35, 65, 95):
        seat(profile, last_activity_at=days_ago(days))
    saved_rule_preview(rule)
    # Changed without its signals (so nothing refreshed): the stored figures are of 60 days.
    ReclamationRule.objects.filter(pk=rule.pk).update(inactivity_days=30)
    rule.refresh_from_db()

    result = saved_rule_preview(rule)

    assert result.computed_at is None
    assert figures_of(result) == figures_of(preview(rule))
    assert next(r for r in result.rows if r.is_rule_threshold).days == 30


def test_identification_refreshes_the_stored_preview(
    admin_client, profile, django_capture_on_commit_callbacks
):
    rule = ensure_rule(profile)
    seat(profile, last_activity_at=days_ago(95))
    before = saved_rule_preview(rule)
    assert next(r for r in before.rows if r.is_rule_threshold).candidates == 1

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("admin:reclamation_reclamationcandidate_identify"))

    assert JobRun.objects.get(kind=JobKind.CANDIDATES).status == JobRun.Status.SUCCEEDED
    after = saved_rule_preview(rule)
    assert after.computed_at > before.computed_at
    row = next(r for r in after.rows if r.is_rule_threshold)
    assert (row.candidates, row.seats) == (0, 1)  # raised: flagged, no longer new
    assert figures_of(after) == figures_of(preview(rule))


def test_a_candidate_moved_or_an_entitlement_changed_drops_the_stored_preview(
    profile, django_capture_on_commit_callbacks
):
    rule = ensure_rule(profile)
    c = candidate(profile, subscription=seat(profile, last_activity_at=days_ago(95)))
    saved_rule_preview(rule)
    stored = StoredFigures.objects.filter(group=RULE_PREVIEW, profile=profile)
    assert stored.exists()

    with django_capture_on_commit_callbacks(execute=True):
        transition([c.pk], [State.AWAITING_APPROVAL], State.CLOSED_SKIPPED, None, "skipped")
    assert not stored.exists()
    fresh = saved_rule_preview(rule)
    assert next(r for r in fresh.rows if r.is_rule_threshold).candidates == 1

    with django_capture_on_commit_callbacks(execute=True):
        priced_seats(profile, ())
    assert not stored.exists()


def test_the_rule_page_costs_the_same_queries_at_5_and_50_seats(admin_client, profile):
    rule = ensure_rule(profile)

    def count(n):
        for days in range(n):
            seat(profile, last_activity_at=days_ago(30 + days * 3))
        rule_page(admin_client, rule)  # stores the figures once (as a job would)
        with CaptureQueriesContext(connection) as queries:
            page = rule_page(admin_client, rule)
        assert 'id="preview-computed-at"' in page
        StoredFigures.objects.all().delete()
        return len(queries)

    assert count(5) == count(45)  # 5 seats, then 50
