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
    assert "Choose an existing software model, or type at least a publisher" in (
        response.content.decode()
    )
    assert _models_of(unrecognized) == {None}


def _map_to_new(client, identifiers, **typed):
    return client.post(
        reverse(CHANGELIST),
        {
            "action": "map_to_software_model",
            ACTION_CHECKBOX_NAME: [i.pk for i in identifiers],
            "apply": "yes",
            "software_model": "",
            **typed,
        },
        follow=True,
    )


@pytest.mark.django_db
def test_it_creates_a_new_model_in_place_then_maps_to_it(admin_client, unrecognized):
    from sam_saas.models import Publisher, SoftwareModel

    page = admin_client.post(
        reverse(CHANGELIST),
        {"action": "map_to_software_model", ACTION_CHECKBOX_NAME: [unrecognized.pk]},
    ).content.decode()
    assert 'name="new_publisher"' in page and 'name="new_edition"' in page

    page = _map_to_new(
        admin_client,
        [unrecognized],
        new_publisher=" Calendly ",
        new_product="Calendly",
        new_edition="Enterprise Plus",
    ).content.decode()
    model = SoftwareModel.objects.get(product="Calendly", edition="Enterprise Plus")
    assert model.publisher.name == "Calendly"
    assert _models_of(unrecognized) == {model.pk}
    assert "Software model Calendly" in page and "30 subscription(s) re-pointed" in page

    # The same names again reuse the model and its publisher instead of a duplicate.
    second = SubscriptionIdentifierFactory(unrecognized=True)
    SoftwareSubscriptionFactory(identifier=second)
    _map_to_new(
        admin_client,
        [second],
        new_publisher="Calendly",
        new_product="Calendly",
        new_edition="Enterprise Plus",
    )
    assert _models_of(second) == {model.pk}
    assert Publisher.objects.filter(name="Calendly").count() == 1


@pytest.mark.django_db
def test_it_refuses_both_an_existing_and_a_new_model_or_half_a_new_one(admin_client, unrecognized):
    from sam_saas.models import SoftwareModel

    existing = SoftwareModelFactory()
    before = SoftwareModel.objects.count()
    both = _map_to_new(
        admin_client, [unrecognized], software_model=existing.pk, new_publisher="X", new_product="Y"
    ).content.decode()
    assert "not both" in both
    half = _map_to_new(admin_client, [unrecognized], new_publisher="Only a publisher")
    assert "type at least a publisher and a product" in half.content.decode()
    assert SoftwareModel.objects.count() == before
    assert _models_of(unrecognized) == {None}


@pytest.mark.django_db
def test_only_those_who_may_add_models_get_to_create_one(client, unrecognized):
    from django.contrib.auth.models import Permission

    from sam_saas.models import SoftwareModel
    from tests.factories import UserFactory

    mapper = UserFactory(groups=["SAM viewer"])
    mapper.user_permissions.add(Permission.objects.get(codename="change_subscriptionidentifier"))
    client.force_login(mapper)
    page = client.post(
        reverse(CHANGELIST),
        {"action": "map_to_software_model", ACTION_CHECKBOX_NAME: [unrecognized.pk]},
    ).content.decode()
    assert 'name="software_model"' in page and 'name="new_publisher"' not in page
    before = SoftwareModel.objects.count()
    _map_to_new(client, [unrecognized], new_publisher="Sneaky", new_product="Model")
    assert SoftwareModel.objects.count() == before and _models_of(unrecognized) == {None}


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
