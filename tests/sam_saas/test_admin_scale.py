"""Changelists built for a million rows: the bounded count, indexed search and filter choices.

What is tested is behaviour (what the page says and lists, which rows a search finds, that
PostgreSQL can answer the search from the trigram index); speed is measured by
``manage.py bench_scale``, never here.
"""

import pytest
from django.db import connection
from django.db.models import Q
from django.urls import reverse

from reclamation.models import ReclamationCandidate
from sam_saas.admin import pagination
from sam_saas.admin.filters import distinct_values
from sam_saas.models import Person, SoftwareSubscription
from tests import factories

SUBSCRIPTIONS = reverse("admin:sam_saas_softwaresubscription_changelist")


@pytest.fixture
def limit_of_five(monkeypatch):
    monkeypatch.setattr(pagination.BoundedCountPaginator, "count_limit", 5)


def result_line(response) -> str:
    html = response.content.decode()
    start = html.index('<p class="paginator">')
    return " ".join(html[start : html.index("</p>", start)].split())


@pytest.mark.django_db
def test_it_counts_exactly_below_the_limit(admin_client, limit_of_five):
    factories.SoftwareSubscriptionFactory.create_batch(3)

    response = admin_client.get(SUBSCRIPTIONS)

    assert "3 software subscriptions" in result_line(response)
    assert response.context["cl"].result_count == 3


@pytest.mark.django_db
def test_it_stops_counting_a_filtered_list_at_the_limit(admin_client, limit_of_five):
    factories.SoftwareSubscriptionFactory.create_batch(8, person=None, user_name="")

    response = admin_client.get(SUBSCRIPTIONS, {"has_user": "no"})

    assert "more than 5 software subscriptions" in result_line(response)
    # Still a list to page through: the first page holds what the page size allows.
    assert len(response.context["cl"].result_list) == 8


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_shows_the_planner_estimate_for_an_unfiltered_large_table(admin_client, limit_of_five):
    factories.SoftwareSubscriptionFactory.create_batch(8)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sam_saas_softwaresubscription")

    response = admin_client.get(SUBSCRIPTIONS)

    assert "about 8 software subscriptions" in result_line(response)


@pytest.mark.django_db
def test_it_finds_seats_by_their_own_or_their_persons_email_and_name(admin_client):
    alice = factories.PersonFactory(email="alice@corp.example", name="Alice Liddell")
    by_person = factories.SoftwareSubscriptionFactory(
        person=alice, user_principal_name="a.l@vendor.example", user_name="A. L."
    )
    by_upn = factories.SoftwareSubscriptionFactory(
        person=None, user_principal_name="liddell@ext.example", user_name=""
    )
    both = factories.SoftwareSubscriptionFactory(person=alice)  # matches twice, listed once
    factories.SoftwareSubscriptionFactory.create_batch(3)

    found = admin_client.get(SUBSCRIPTIONS, {"q": "LIDDELL"}).context["cl"].result_list
    assert sorted(s.pk for s in found) == sorted([by_person.pk, by_upn.pk, both.pk])

    # Every term must match (Django's rule); a quoted phrase is one term.
    found = admin_client.get(SUBSCRIPTIONS, {"q": "liddell ext.example"}).context["cl"]
    assert [s.pk for s in found.result_list] == [by_upn.pk]
    found = admin_client.get(SUBSCRIPTIONS, {"q": '"Alice Liddell"'}).context["cl"]
    assert sorted(s.pk for s in found.result_list) == sorted([by_person.pk, both.pk])


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_can_answer_the_email_search_from_the_trigram_index(admin_client):
    factories.SoftwareSubscriptionFactory.create_batch(3)
    model_admin = admin_client.get(SUBSCRIPTIONS).context["cl"].model_admin
    queryset, _ = model_admin.get_search_results(None, SoftwareSubscription.objects.all(), "alice")
    # The search is a union of one match per table; each must be servable by its trigram
    # index. The seat-side plan is read whole; the person side is read on its own, since with
    # a handful of rows the planner may drive the join from the seats' person_id index.
    # Unordered: on an empty table the planner would rather walk the (name, email) order index
    # and filter, which says nothing about how it finds matches among a million.
    people = Person.objects.filter(
        Q(email__icontains="alice") | Q(name__icontains="alice")
    ).order_by()

    assert "sam_sub_upn_trgm" in explain(queryset)
    assert "sam_person_email_trgm" in explain(people)


def explain(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db
def test_the_role_and_department_filters_offer_the_values_present(admin_client):
    factories.SoftwareSubscriptionFactory(role="owner", person__department="Legal")
    factories.SoftwareSubscriptionFactory(role="admin", person__department="Finance")
    factories.SoftwareSubscriptionFactory(role="admin", person=None)

    filters = {f.title: f for f in admin_client.get(SUBSCRIPTIONS).context["cl"].filter_specs}

    assert list(filters["role"].lookup_choices) == ["admin", "owner"]
    assert list(filters["department"].lookup_choices) == ["Finance", "Legal"]
    assert distinct_values(Person._meta.get_field("department")) == ["Finance", "Legal"]


@pytest.mark.django_db
def test_the_candidate_filters_list_only_profiles_with_candidates(admin_client):
    with_candidates = factories.ReclamationCandidateFactory(department="Legal").profile
    factories.IntegrationProfileFactory(name="No candidates here")
    factories.PersonFactory(department="Finance")

    response = admin_client.get(reverse("admin:reclamation_reclamationcandidate_changelist"))
    filters = {f.title: f for f in response.context["cl"].filter_specs}

    assert [name for _, name in filters["profile"].lookup_choices] == [str(with_candidates)]
    departments = [value for value, _ in filters["department"].lookup_choices]
    assert "Finance" in departments
    legal = admin_client.get(
        reverse("admin:reclamation_reclamationcandidate_changelist"), {"department": "Legal"}
    )
    assert [c.pk for c in legal.context["cl"].result_list] == list(
        ReclamationCandidate.objects.filter(department="Legal").values_list("pk", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model", [SoftwareSubscription, Person, ReclamationCandidate], ids=lambda m: m.__name__
)
def test_the_row_checkbox_is_djangos_own_html(model):
    """The large lists write the action checkbox without a widget template per row; the HTML
    must stay Django's (the select-all script and the actions read it), escaping included."""
    from django.contrib import admin

    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, pagination.BoundedCountMixin)
    if model is ReclamationCandidate:
        obj = factories.ReclamationCandidateFactory(user_principal_name='a<b>"&@example.com')
    elif model is Person:
        obj = factories.PersonFactory(name='A <b> "&"')
    else:
        obj = factories.SoftwareSubscriptionFactory(user_principal_name='a<b>"&@example.com')

    assert model_admin.action_checkbox(obj) == admin.ModelAdmin.action_checkbox(model_admin, obj)
