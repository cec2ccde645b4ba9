"""The overview dashboard: tiles, SVG charts and links, with and without data."""

import datetime as dt
import html
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from reclamation.models import ReclamationCandidate
from sam_saas.models import ConnectionAlias, SoftwareSubscription, StoredFigures
from sam_saas.services import figures
from tests import factories

from .conftest import seats

pytestmark = pytest.mark.django_db
DASHBOARD = "/dashboard/"


def _tile(page: str, key: str) -> str:
    match = re.search(rf'<li id="tile-{key}">(.*?)</li>', page, re.S)
    assert match, f"no tile {key}"
    return match.group(1)


def _tile_value(page: str, key: str) -> str:
    return html.unescape(re.search(r'class="value">(.*?)</div>', _tile(page, key), re.S).group(1))


def _href(fragment: str) -> str:
    return html.unescape(re.search(r'href="([^"]+)"', fragment).group(1))


def _result_count(client, href):
    response = client.get(href)
    assert response.status_code == 200, href
    return response.context["cl"].result_count


def _populate(model, profile, n):
    """n seats of each kind, with candidates, entitlements in two currencies, a failed job."""
    eur_model = factories.SoftwareModelFactory()
    factories.EntitlementFactory(
        software_model=model, purchased_rights=10, unit_cost="120", cost_center="CC-1"
    )
    factories.EntitlementFactory(
        software_model=eur_model, purchased_rights=5, unit_cost="100", currency="EUR"
    )
    seats(n, model=model, profile=profile, days_inactive=5)
    stale = seats(n, model=model, profile=profile, days_inactive=100)
    seats(n, model=model, profile=profile, person=None, last_activity_at=None)
    seats(n, model=eur_model, profile=profile, days_inactive=40)
    for subscription in stale:
        factories.ReclamationCandidateFactory(subscription=subscription)
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0],
        state=ReclamationCandidate.State.CLOSED_COMPLETE,
        closed_at=timezone.now(),
    )
    factories.SubscriptionIdentifierFactory.create_batch(n, unrecognized=True)
    factories.JobRunFactory.create_batch(n, failed=True, finished_at=timezone.now())
    for days in (14, 7, 0):
        factories.LicencePositionSnapshotFactory(
            software_model=model, date=timezone.localdate() - dt.timedelta(days=days)
        )


def test_it_renders_the_dashboard_without_data(admin_client):
    response = admin_client.get(DASHBOARD)

    page = response.content.decode()
    assert response.status_code == 200
    assert _tile_value(page, "spend") == "0"
    assert _tile_value(page, "unused") == "—"
    assert _tile_value(page, "without_user") == "0"
    assert "No data yet." in page
    assert "No entitlement ends in the next 90 days." in page
    assert "<script" not in page.split('id="content-main"', 1)[1]


def test_it_renders_the_dashboard_with_data(admin_client, model, profile):
    _populate(model, profile, 3)
    reconnect = factories.IntegrationProfileFactory(name="Beta")
    ConnectionAlias.objects.filter(pk=reconnect.alias_id).update(
        connection_status=ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
    )

    page = admin_client.get(DASHBOARD).content.decode()

    assert _tile_value(page, "spend") == "500.00 EUR<br>1,200.00 USD"
    assert _tile_value(page, "potential") == "360.00 USD"
    assert _tile_value(page, "freed") == "1"
    assert (
        "Freed seats save money only once the purchased seat count is lowered, usually at "
        "renewal." in _tile(page, "freed")
    )
    assert _tile_value(page, "unrecognized") == "3"
    assert _tile_value(page, "without_user") == "3"
    assert _tile_value(page, "failed_jobs") == "3"
    assert _tile_value(page, "attention") == "4"  # 3 whose last run failed, 1 to reconnect
    # Model: 10 bought, 10 in use (3 + 3 + 3 + 1), 6 stale (100 days, and never active
    # since 400 days); EUR model: 5 bought, 3 in use, none stale. (0 + 2 + 6 + 0) / 15:
    assert _tile_value(page, "unused") == "53%"
    for chart in (
        "activity",
        "stale",
        "savings-USD",
        "spend-USD",
        "spend-EUR",
        f"trend-{model.pk}",
    ):
        section = re.search(
            rf'<section class="sam-chart-box" id="chart-{chart}">(.*?)</section>', page, re.S
        )
        assert section, chart
        svg = section.group(1)
        assert '<svg xmlns="http://www.w3.org/2000/svg"' in svg and "<title " in svg
        assert "<a href=" in svg
    table = re.search(r'<table id="licence-position">(.*?)</table>', page, re.S).group(1)
    assert "Calendly Teams</strong> · all profiles" in table
    assert "↳ </span>" in table and ">Acme</a>" in table  # the position in the profile
    assert "1 · 120.00 USD" in table  # freed this year: one seat worth 120.00 USD a year


def test_it_links_every_tile_to_the_list_it_counts(admin_client, model, profile):
    _populate(model, profile, 2)
    page = admin_client.get(DASHBOARD).content.decode()

    assert _result_count(admin_client, _href(_tile(page, "without_user"))) == 2
    assert _result_count(admin_client, _href(_tile(page, "unrecognized"))) == 2
    assert _result_count(admin_client, _href(_tile(page, "failed_jobs"))) == 2
    assert _result_count(admin_client, _href(_tile(page, "potential"))) == 2
    assert _result_count(admin_client, _href(_tile(page, "freed"))) == 1
    assert _result_count(admin_client, _href(_tile(page, "spend"))) == 2
    assert _result_count(admin_client, _href(_tile(page, "unused"))) == 4  # the stale seats
    assert _result_count(admin_client, _href(_tile(page, "attention"))) == 2  # runs failed


def test_it_links_every_bar_to_the_list_it_counts(admin_client, model, profile):
    _populate(model, profile, 2)
    page = admin_client.get(DASHBOARD).content.decode()

    links = re.findall(r'<a href="([^"]+)"><rect [^>]*><title>([^<]*)</title>', page)
    assert links
    for href, title in links:
        href = html.unescape(href)
        count = _result_count(admin_client, href)
        number = re.search(r": (\d+)(?: stale seat\(s\))?$", html.unescape(title))
        if "activity=" in href and number:
            assert count == int(number.group(1)), (href, title)
    points = re.findall(r'<a href="([^"]+)"><circle ', page)
    assert points and all(_result_count(admin_client, html.unescape(h)) == 1 for h in points)
    for href in set(re.findall(r'href="(/admin/[^"]+)"', page)):
        assert admin_client.get(html.unescape(href)).status_code == 200, href


def test_it_runs_a_bounded_number_of_queries(admin_client, model, profile):
    admin_client.get(DASHBOARD)  # warm the per-process caches
    _populate(model, profile, 5)
    figures.refresh()  # what the jobs that changed the seats do when they end
    with CaptureQueriesContext(connection) as small:
        admin_client.get(DASHBOARD)
    _populate(factories.SoftwareModelFactory(), profile, 50)
    figures.refresh()
    with CaptureQueriesContext(connection) as large:
        assert admin_client.get(DASHBOARD).status_code == 200

    assert SoftwareSubscription.objects.count() > 200
    assert len(small) == len(large)
    assert (
        len(large) <= 17
    )  # 11, + the form's three lists, profiles needing attention, rules to review, thresholds
    # No statement of the page reads the seat or candidate tables: the jobs' figures do.
    read = " ".join(q["sql"] for q in large.captured_queries)
    assert '"sam_saas_softwaresubscription"' not in read
    assert '"reclamation_reclamationcandidate"' not in read


def test_a_profile_without_stored_figures_is_computed_once_and_stored(admin_client, model, profile):
    """A fresh install (or a profile just published) has no figures yet: the first view
    computes and stores them rather than showing zero, the next one only reads them."""
    _populate(model, profile, 3)
    assert not StoredFigures.objects.exists()

    page = admin_client.get(DASHBOARD).content.decode()

    assert _tile_value(page, "without_user") == "3"
    assert StoredFigures.objects.filter(profile=profile, group=figures.SEATS).exists()
    with CaptureQueriesContext(connection) as again:
        admin_client.get(DASHBOARD)
    assert '"sam_saas_softwaresubscription"' not in " ".join(
        q["sql"] for q in again.captured_queries
    )


def test_it_shows_right_sizing_for_renewals(admin_client, model, profile):
    factories.EntitlementFactory(
        software_model=model,
        purchased_rights=30,
        unit_cost="120",
        end_date=timezone.localdate() + dt.timedelta(days=20),
        contract_reference="PO-RENEW",
    )
    seats(20, model=model, profile=profile)

    default = admin_client.get(DASHBOARD).content.decode()
    generous = admin_client.get(DASHBOARD, {"headroom": "50"}).content.decode()

    renewals = re.search(r'<table id="renewals">(.*?)</table>', default, re.S).group(1)
    assert "PO-RENEW" in renewals and "<strong>22</strong>" in renewals
    assert "960.00 USD" in renewals  # 8 seats × 120
    assert "<strong>30</strong>" in generous
    assert admin_client.get(DASHBOARD, {"headroom": "lots"}).status_code == 400


def test_it_links_the_overview_first_from_the_admin_index(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert 'id="sam-overview-link"' in page
    assert page.index(DASHBOARD) < page.index('class="app-sam_saas')


def test_it_needs_login_and_the_view_permission(client):
    assert urlsplit(client.get(DASHBOARD)["Location"]).path == reverse("admin:login")
    client.force_login(factories.UserFactory())
    assert client.get(DASHBOARD).status_code == 403
    client.force_login(factories.UserFactory(groups=["SAM viewer"]))
    assert client.get(DASHBOARD).status_code == 200


# -- the browser day: the form, the filters, the attention tiles ------------------------------


def test_the_headroom_is_a_form_field_that_keeps_its_value(admin_client, model, profile):
    page = admin_client.get(DASHBOARD, {"headroom": "25"}).content.decode()

    assert '<form method="get" id="dashboard-filters"' in page
    assert 'name="headroom" value="25"' in page
    assert "?headroom=15" not in page  # no more "type it into the URL"
    default = admin_client.get(DASHBOARD).content.decode()
    assert 'name="headroom" value="10"' in default  # the default, shown in the field


def test_an_invalid_headroom_answers_400_with_the_form_and_its_error(admin_client):
    response = admin_client.get(DASHBOARD, {"headroom": "150"})

    assert response.status_code == 400
    assert "headroom must be a whole percentage from 0 to 100." in response.content.decode()


def test_it_filters_every_figure_by_profile_model_and_publisher(admin_client, model, profile):
    other_model = factories.SoftwareModelFactory(
        publisher=factories.PublisherFactory(name="Zoom"), product="Zoom", edition="Pro"
    )
    other_profile = factories.IntegrationProfileFactory(name="Globex")
    seats(3, model=model, profile=profile, days_inactive=100)
    seats(2, model=other_model, profile=profile, days_inactive=100)
    seats(4, model=model, profile=other_profile, days_inactive=100)

    def stale(**params):
        return _tile_value(admin_client.get(DASHBOARD, params).content.decode(), "stale")

    assert stale() == "9"
    assert stale(profile=profile.pk) == "5"
    assert stale(software_model=model.pk) == "7"
    assert stale(publisher=other_model.publisher_id) == "2"
    assert stale(profile=other_profile.pk, software_model=model.pk) == "4"
    page = admin_client.get(DASHBOARD, {"publisher": other_model.publisher_id}).content.decode()
    assert 'id="dashboard-filtered"' in page and "publisher (Zoom)" in page
    table = re.search(r'<table id="licence-position">(.*?)</table>', page, re.S).group(1)
    assert "Zoom Pro" in table and "Calendly Teams" not in table


def test_it_shows_rules_and_profiles_needing_attention_linked_to_them(admin_client, profile):
    from reclamation.models import ReclamationRule

    factories.ReclamationRuleFactory(profile=profile, needs_review=True)
    factories.ReclamationRuleFactory(needs_review=False)
    failed = factories.IntegrationProfileFactory(name="Failing")
    factories.JobRunFactory(profile=failed, failed=True, finished_at=timezone.now())

    page = admin_client.get(DASHBOARD).content.decode()

    assert _tile_value(page, "rules_review") == "1"
    assert _result_count(admin_client, _href(_tile(page, "rules_review"))) == 1
    assert _tile_value(page, "attention") == "1"
    assert _result_count(admin_client, _href(_tile(page, "attention"))) == 1
    assert ReclamationRule.objects.count() == 2
