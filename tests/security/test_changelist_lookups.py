"""Finding 2 of issue 11 (and the admin half of finding 5): changelists and their CSV exports
accept only their declared filters, search and ordering.

A viewer sent ``?user_name__regex=^(A?){26}A{26}$`` (21.6 s on SQLite, stalling everyone), an
invalid pattern (a 500 on PostgreSQL), numbers beyond the database's range (a 500). Each now
gets the admin's "invalid filter" answer (a redirect to ``?e=1``; the export answers 400)
before any query is built from it."""

import pytest
from django.contrib import admin
from django.db import models
from django.urls import reverse

from sam_saas.admin.strict import StrictLookupsMixin
from sam_saas.models import SoftwareSubscription
from tests import factories
from tests.security.conftest import client_for

pytestmark = pytest.mark.django_db

CATASTROPHIC = "^(A?){26}A{26}$"
SUBSCRIPTIONS = reverse("admin:sam_saas_softwaresubscription_changelist")
EXPORT = reverse("admin:sam_saas_softwaresubscription_export")
JOBS = reverse("admin:sam_saas_jobrun_changelist")


def invalid_filter(response) -> bool:
    return response.status_code == 302 and response["Location"].endswith("?e=1")


@pytest.fixture
def seats():
    profile = factories.IntegrationProfileFactory()
    for n in range(3):
        factories.SoftwareSubscriptionFactory(
            profile=profile,
            person=None,
            user_principal_name=f"user{n}@example.com",
            user_name="A" * 26,
        )
    return profile


def test_a_viewer_cannot_run_a_regular_expression_on_a_changelist_or_its_export(seats):
    viewer = client_for("SAM viewer")
    assert viewer.get(SUBSCRIPTIONS).status_code == 200
    assert invalid_filter(viewer.get(SUBSCRIPTIONS, {"user_name__regex": CATASTROPHIC}))
    export = viewer.get(EXPORT, {"user_name__regex": CATASTROPHIC})
    assert export.status_code == 400 and b"user_name__regex" in export.content
    # A lookup through a relation is refused the same way (Django's own answer was a 400).
    assert invalid_filter(viewer.get(SUBSCRIPTIONS, {"profile__alias__client_id__regex": "x"}))


@pytest.mark.postgres
def test_an_invalid_pattern_is_an_invalid_filter_not_a_500_on_postgresql(seats):
    viewer = client_for("SAM viewer")
    assert invalid_filter(viewer.get(SUBSCRIPTIONS, {"user_name__regex": "("}))
    assert viewer.get(EXPORT, {"user_name__iregex": "("}).status_code == 400
    # A NUL byte in the search box reaches PostgreSQL as text it refuses: it is dropped.
    assert viewer.get(SUBSCRIPTIONS, {"q": "user\x001"}).status_code == 200


def test_declared_filters_search_and_ordering_still_work(seats):
    viewer = client_for("SAM viewer")
    ok = viewer.get(
        SUBSCRIPTIONS,
        {
            "profile__id__exact": seats.pk,
            "status__exact": "active",
            "has_user": "no",
            "q": "user1",
            "o": "1.-2",
        },
    )
    assert ok.status_code == 200
    assert ok.context["cl"].result_count == 1
    export = viewer.get(EXPORT, {"profile__id__exact": seats.pk, "q": "user1"})
    assert export.status_code == 200
    assert b"user1@example.com" in b"".join(export.streaming_content)


def test_numbers_beyond_the_database_range_are_invalid_filters(seats):
    """Finding 5: ``queued_at__year=99999999999`` and an id too large for SQLite gave 500s."""
    viewer = client_for("SAM viewer")
    factories.JobRunFactory(profile=seats)
    assert viewer.get(JOBS).status_code == 200
    for params in (
        {"queued_at__year": "99999999999"},
        {"queued_at__year": "9999"},  # its end of year is past datetime.max
        {"profile__id__exact": "99999999999999999999999"},
    ):
        assert invalid_filter(viewer.get(JOBS, params)), params
    assert invalid_filter(viewer.get(SUBSCRIPTIONS, {"profile__id__exact": "9" * 30}))
    assert viewer.get(EXPORT, {"profile__id__exact": "9" * 30}).status_code == 400


def test_every_registered_changelist_refuses_undeclared_lookups(admin_client):
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, StrictLookupsMixin), model
        text = next(
            (f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField)),
            None,
        )
        if text is None:
            continue
        info = model._meta.app_label, model._meta.model_name
        url = reverse("admin:{}_{}_changelist".format(*info))
        response = admin_client.get(url, {f"{text}__regex": CATASTROPHIC})
        assert invalid_filter(response), (model, response.status_code)


def test_the_subscription_list_still_counts_what_the_dashboard_links_to(seats):
    viewer = client_for("SAM viewer")
    response = viewer.get(SUBSCRIPTIONS, {"status__in": "active,pending"})
    assert response.status_code == 200
    assert (
        response.context["cl"].result_count
        == SoftwareSubscription.objects.filter(status__in=["active", "pending"]).count()
    )


def test_the_links_of_the_alias_and_profile_pages_are_declared(admin_client):
    parent = factories.ConnectionAliasFactory()
    aliases = reverse("admin:sam_saas_connectionalias_changelist")
    response = admin_client.get(aliases, {"parent__id__exact": parent.pk})
    assert response.status_code == 200
    models_list = reverse("admin:sam_saas_softwaremodel_changelist")
    assert (
        admin_client.get(models_list, {"subscriptions__profile__id__exact": 1}).status_code == 200
    )
