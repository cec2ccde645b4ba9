"""The candidate queue: it opens on the open candidates with a count per state, totals the
potential saving per currency for the filtered rows and for a selection, and says where the
note on removing seats is."""

from decimal import Decimal

import pytest
from django.urls import reverse

from .conftest import candidate

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:reclamation_reclamationcandidate_changelist"


def test_it_opens_on_the_open_candidates_and_counts_each_state(admin_client, profile):
    waiting = [candidate(profile) for _ in range(2)]
    ready = candidate(profile, state="ready")
    done = candidate(profile, state="closed_complete")

    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    everything = admin_client.get(reverse(CHANGELIST), {"state__isnull": "False"}).content.decode()

    assert all(c.user_name in page for c in [*waiting, ready])
    assert done.user_name not in page
    assert done.user_name in everything
    assert "Awaiting Approval (2)" in page
    assert "Ready (1)" in page and "Closed Complete (1)" in page
    assert "Open (3)" in page and "All (4)" in page
    assert '<li class="selected">\n    <a href="?state__in=' in page  # "Open" is selected


def test_it_totals_the_filtered_rows_per_currency(admin_client, profile):
    candidate(profile, potential_savings=Decimal("120"), currency="USD")
    candidate(profile, potential_savings=Decimal("80"), currency="USD")
    candidate(profile, potential_savings=Decimal("50"), currency="EUR")
    candidate(profile, savings_known=False)
    candidate(profile, state="closed_skipped", potential_savings=Decimal("999"), currency="USD")

    page = admin_client.get(reverse(CHANGELIST)).content.decode()
    ready_only = admin_client.get(reverse(CHANGELIST), {"state__exact": "ready"}).content.decode()

    assert "<strong>50.00 EUR, 200.00 USD (+ 1 seat of unknown cost)</strong> a year" in page
    assert 'id="filtered-total"' in ready_only and "<strong>0</strong>" in ready_only


def test_a_list_too_long_to_count_is_not_totalled_under_a_capped_count(
    admin_client, profile, monkeypatch
):
    """Above the paginator's limit the list says "more than N" and does not sum every row
    (a million candidates), nor print a total under a count that is not the list's."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from sam_saas.admin.pagination import BoundedCountPaginator

    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 3)
    for _ in range(5):
        candidate(profile, potential_savings=Decimal("120"), currency="USD")

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "More than 3 candidates listed: their potential saving is totalled once" in page
    assert "600.00 USD" not in page
    assert not any("SUM(" in q["sql"] for q in queries.captured_queries)


def test_the_state_counts_stop_at_the_paginators_limit(admin_client, profile, monkeypatch):
    """Each state is counted up to the list's limit, so a million candidates cost no more
    than ten thousand; a capped figure says so instead of passing for exact."""
    from sam_saas.admin.pagination import BoundedCountPaginator

    monkeypatch.setattr(BoundedCountPaginator, "count_limit", 3)
    for _ in range(5):
        candidate(profile)
    candidate(profile, state="ready")

    page = admin_client.get(reverse(CHANGELIST)).content.decode()

    assert "Awaiting Approval (more than 3)" in page
    assert "Ready (1)" in page
    assert "Open (more than 4)" in page and "All (more than 4)" in page


def test_the_confirmation_page_totals_the_selection(admin_client, profile):
    chosen = [
        candidate(profile, potential_savings=Decimal("120"), currency="USD"),
        candidate(profile, potential_savings=Decimal("30"), currency="USD"),
    ]
    candidate(profile, potential_savings=Decimal("500"), currency="USD")  # not selected

    page = admin_client.post(
        reverse(CHANGELIST),
        {"action": "approve", "_selected_action": [c.pk for c in chosen]},
    ).content.decode()

    assert '<strong id="selection-total">150.00 USD</strong>' in page
    assert "(see below)" not in page
