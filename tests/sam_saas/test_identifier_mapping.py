"""Mapping a subscription identifier to a software model re-points all its subscriptions in
one UPDATE, from the model method, the admin action and the change form."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sam_saas.models import SoftwareSubscription
from tests.factories import (
    IntegrationProfileFactory,
    SoftwareModelFactory,
    SoftwareSubscriptionFactory,
    SubscriptionIdentifierFactory,
)

CHANGELIST = "admin:sam_saas_subscriptionidentifier_changelist"


def _models_of(identifier):
    return set(
        SoftwareSubscription.objects.filter(identifier=identifier).values_list(
            "software_model_id", flat=True
        )
    )


@pytest.fixture
def unrecognized(db):
    identifier = SubscriptionIdentifierFactory(value="calendly-mystery", unrecognized=True)
    SoftwareSubscriptionFactory.create_batch(30, identifier=identifier)
    return identifier


@pytest.mark.django_db
def test_it_repoints_every_subscription_in_one_update(unrecognized):
    model = SoftwareModelFactory()
    other = SoftwareSubscriptionFactory()
    other_model = other.software_model_id

    with CaptureQueriesContext(connection) as queries:
        count = unrecognized.map_to(model)

    table = SoftwareSubscription._meta.db_table
    sub_writes = [q["sql"] for q in queries if table in q["sql"]]
    assert count == 30
    assert len(sub_writes) == 1 and sub_writes[0].startswith("UPDATE")
    assert not [q for q in queries if q["sql"].startswith("SELECT")]
    assert _models_of(unrecognized) == {model.pk}
    unrecognized.refresh_from_db()
    assert unrecognized.software_model == model
    other.refresh_from_db()
    assert other.software_model_id == other_model


@pytest.mark.django_db
def test_it_asks_for_the_model_on_an_intermediate_page(admin_client, unrecognized):
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "map_to_software_model", ACTION_CHECKBOX_NAME: [unrecognized.pk]},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="software_model"' in html
    assert "calendly-mystery" in html and "All 30 subscriptions" in html
    assert _models_of(unrecognized) == {None}


@pytest.mark.django_db
def test_it_maps_the_selected_identifiers_with_the_admin_action(admin_client, unrecognized):
    model = SoftwareModelFactory(edition="Teams")
    second = SubscriptionIdentifierFactory(unrecognized=True)
    SoftwareSubscriptionFactory.create_batch(2, identifier=second)
    untouched = SubscriptionIdentifierFactory(unrecognized=True)

    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "map_to_software_model",
            ACTION_CHECKBOX_NAME: [unrecognized.pk, second.pk],
            "apply": "yes",
            "software_model": model.pk,
        },
    )

    assert response.status_code == 302
    assert _models_of(unrecognized) == {model.pk}
    assert _models_of(second) == {model.pk}
    untouched.refresh_from_db()
    assert untouched.software_model is None
    assert LogEntry.objects.filter(object_id=str(unrecognized.pk)).exists()


@pytest.mark.django_db
def test_it_maps_nothing_when_no_model_is_chosen(admin_client, unrecognized):
    response = admin_client.post(
        reverse(CHANGELIST),
        {
            "action": "map_to_software_model",
            ACTION_CHECKBOX_NAME: [unrecognized.pk],
            "apply": "yes",
            "software_model": "",
        },
    )

    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert _models_of(unrecognized) == {None}


@pytest.mark.django_db
def test_it_repoints_subscriptions_when_the_change_form_sets_the_model(admin_client, unrecognized):
    model = SoftwareModelFactory()
    url = reverse("admin:sam_saas_subscriptionidentifier_change", args=[unrecognized.pk])

    response = admin_client.post(url, {"software_model": model.pk})

    assert response.status_code == 302
    assert _models_of(unrecognized) == {model.pk}


@pytest.mark.django_db
def test_it_lists_counts_and_profiles_and_filters_unrecognized(admin_client, unrecognized):
    recognized = SubscriptionIdentifierFactory(value="calendly-teams")
    first = IntegrationProfileFactory(name="Acme EU")
    second = IntegrationProfileFactory(name="Acme US")
    SoftwareSubscriptionFactory.create_batch(2, identifier=recognized, profile=first)
    SoftwareSubscriptionFactory(identifier=recognized, profile=second)

    listing = admin_client.get(reverse(CHANGELIST), {"q": "calendly-teams"}).content.decode()
    unrecognized_only = admin_client.get(reverse(CHANGELIST), {"recognized": "no"}).content.decode()

    assert '<td class="field-subscription_count">3</td>' in listing
    assert '<td class="field-profile_names">Acme EU, Acme US</td>' in listing
    assert "calendly-mystery" in unrecognized_only
    assert "calendly-teams" not in unrecognized_only
