"""The profile list's columns and the profile page's related lists; child aliases on a parent
alias page. Open candidates and the rule's review flag come from the reclamation app through
the core's extension registry."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reclamation.models import ReclamationCandidate, ReclamationRule
from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:sam_saas_integrationprofile_changelist")
State = ReclamationCandidate.State


def busy_profile(**kwargs):
    profile = factories.IntegrationProfileFactory(**kwargs)
    for _ in range(3):
        factories.SoftwareSubscriptionFactory(profile=profile)
    factories.SoftwareSubscriptionFactory(
        profile=profile, status=SoftwareSubscription.Status.REMOVED
    )
    done = timezone.now() - dt.timedelta(hours=5)
    factories.JobRunFactory(profile=profile, finished_at=done - dt.timedelta(days=1))
    factories.JobRunFactory(profile=profile, finished_at=done)
    factories.JobRunFactory(profile=profile, failed=True, finished_at=timezone.now())
    factories.JobRunFactory(profile=profile, kind="activity", finished_at=timezone.now())
    seat = factories.SoftwareSubscriptionFactory(profile=profile)
    factories.ReclamationCandidateFactory(subscription=seat)
    factories.ReclamationCandidateFactory(
        subscription=factories.SoftwareSubscriptionFactory(profile=profile), state=State.READY
    )
    factories.ReclamationCandidateFactory(
        subscription=factories.SoftwareSubscriptionFactory(
            profile=profile, status=SoftwareSubscription.Status.RECLAIMED
        ),
        state=State.CLOSED_COMPLETE,
    )
    return profile, done


def row_of(page, profile):
    for result in page.context["cl"].result_list:
        if result.pk == profile.pk:
            return result
    raise AssertionError(f"{profile} is not listed")


def test_the_list_shows_connection_download_seats_candidates_and_rule(admin_client):
    profile, done = busy_profile()
    bare = factories.IntegrationProfileFactory(
        alias=factories.ConnectionAliasFactory(connection_status="reconnect_required")
    )
    page = admin_client.get(CHANGELIST)
    html = page.content.decode()
    for header in (
        "connection status",
        "last successful download",
        "seats held",
        "open candidates",
        "rule",
    ):
        assert header in html.lower()
    row = row_of(page, profile)
    assert row.seats_held == 5  # active ones; the removed and the reclaimed seat hold none
    assert row.last_download_at == done  # the failed download and the activity pull do not count
    assert row.open_candidates == 2
    assert row.rule_needs_review is True
    assert "needs review" in html
    bare_row = row_of(page, bare)
    assert bare_row.seats_held == 0 and bare_row.open_candidates == 0
    assert bare_row.last_download_at is None and bare_row.rule_needs_review is None
    assert "no rule yet" in html and "Reconnect required" in html

    ReclamationRule.objects.filter(profile=profile).update(needs_review=False)
    assert "reviewed" in admin_client.get(CHANGELIST).content.decode()


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def light_profile():
    """Every column has something to show: a seat, a download, a candidate and its rule."""
    seat = factories.SoftwareSubscriptionFactory()
    factories.JobRunFactory(profile=seat.profile)
    factories.ReclamationCandidateFactory(subscription=seat)


def test_the_list_runs_the_same_queries_for_5_and_50_profiles(admin_client):
    for _ in range(5):
        light_profile()
    five = count_queries(admin_client, CHANGELIST)
    for _ in range(45):
        light_profile()
    assert IntegrationProfile.objects.count() == 50
    assert count_queries(admin_client, CHANGELIST) == five


def test_the_list_sorts_by_the_figures(admin_client):
    big, _ = busy_profile(name="big")
    small = factories.IntegrationProfileFactory(name="small")
    page = admin_client.get(CHANGELIST)
    columns = [getattr(c, "__name__", c) for c in page.context["cl"].list_display]
    for name in ("seats_held", "open_candidates"):
        index = columns.index(name)
        listed = [
            p.name
            for p in admin_client.get(CHANGELIST, {"o": f"-{index}"}).context["cl"].result_list
        ]
        assert listed.index(big.name) < listed.index(small.name), name


def related(admin_client, profile):
    html = admin_client.get(
        reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk])
    ).content.decode()
    start = html.index('<ul id="related-lists">')
    return html[start : html.index("</ul>", start)]


def follow_count(admin_client, url):
    page = admin_client.get(url.replace("&amp;", "&"))
    assert page.status_code == 200, url
    assert "?e=1" not in getattr(page, "url", ""), url
    return page.context["cl"].result_count


def test_the_profile_page_links_its_related_lists_with_counts(admin_client):
    import re

    profile, _ = busy_profile()
    other, _ = busy_profile()
    unknown = factories.SubscriptionIdentifierFactory(software_model=None)
    factories.SoftwareSubscriptionFactory(profile=profile, identifier=unknown, software_model=None)
    factories.SoftwareSubscriptionFactory(profile=profile, without_user=True)
    factories.SubscriptionIdentifierExclusionRuleFactory(profile=profile)
    factories.SubscriptionIdentifierExclusionRuleFactory(profile=other)
    factories.SubscriptionIdentifierExclusionRuleFactory(profile=None)
    factories.SubscriptionUserExclusionRuleFactory()

    block = related(admin_client, profile)
    links = {
        label: (url, int(count))
        for url, label, count in re.findall(r'<a href="([^"]+)">([^<]+)</a> \((\d+)\)', block)
    }
    seats = list(SoftwareSubscription.objects.filter(profile=profile))
    expected = {
        "Software models": len({s.software_model_id for s in seats} - {None}),
        "Software subscriptions": 9,
        "Subscriptions without user": 1,
        "Unrecognized subscription identifiers": 1,
        "Subscription identifier exclusion rules": 1,
        "Subscription user exclusion rules": 1,
        "Reclamation candidates": 3,
        "— Awaiting Approval": 1,
        "— Ready": 1,
        "— Closed Complete": 1,
        "— Attention Required": 0,
        "Job results": 4,
    }
    for label, count in expected.items():
        url, shown = links[label]
        assert shown == count, label
        assert follow_count(admin_client, url) == count, label
    assert "plus 1 for every profile" in block
    assert "Reclamation rule “" in block and "needs review" in block
    assert JobRun.objects.count() == 8


def test_a_parent_alias_page_lists_its_child_aliases(admin_client):
    parent = factories.ConnectionAliasFactory(name="Calendly app")
    first = factories.ConnectionAliasFactory(name="Acme child", parent=parent, client_secret="")
    factories.ConnectionAliasFactory(
        name="Initech child", parent=parent, client_secret="", connection_status="not_connected"
    )
    factories.IntegrationProfileFactory(name="Acme", alias=first)
    html = admin_client.get(
        reverse("admin:sam_saas_connectionalias_change", args=[parent.pk])
    ).content.decode()
    assert "2 child aliases" in html
    block = html[html.index('<ul id="child-aliases">') :]
    assert block.index("Acme child") < block.index("Initech child")
    assert "profile Acme" in block
    child_page = admin_client.get(
        reverse("admin:sam_saas_connectionalias_change", args=[first.pk])
    ).content.decode()
    assert 'id="child-aliases"' not in child_page
