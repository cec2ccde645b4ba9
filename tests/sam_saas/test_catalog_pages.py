"""The software model list and page, model names, and the subscription list's columns."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from sam_saas.models import Entitlement
from sam_saas.models.catalog import model_name
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("publisher", "product", "edition", "expected"),
    [
        ("Calendly", "Calendly", "Enterprise", "Calendly Enterprise"),
        ("Calendly", "Calendly", "", "Calendly"),
        ("Microsoft", "Teams", "Premium", "Teams Premium (Microsoft)"),
        ("Zoom", "Zoom Workplace", "Pro", "Zoom Workplace Pro"),
    ],
)
def test_a_model_name_says_the_publisher_only_where_the_product_does_not(
    publisher, product, edition, expected
):
    assert model_name(publisher, product, edition) == expected


@pytest.fixture
def enterprise():
    model = factories.SoftwareModelFactory(
        publisher=factories.PublisherFactory(name="Calendly"),
        product="Calendly",
        edition="Enterprise",
    )
    identifier = factories.SubscriptionIdentifierFactory(software_model=model, value="enterprise")
    Entitlement.objects.create(
        software_model=model,
        purchased_rights=10,
        unit_cost=Decimal("16.00"),
        currency="EUR",
        period=Entitlement.Period.MONTHLY,
        start_date=dt.date.today() - dt.timedelta(days=30),
    )
    now = timezone.now()
    for days in (5, 10, 200, 300):
        factories.SoftwareSubscriptionFactory(
            software_model=model,
            identifier=identifier,
            last_activity_at=now - dt.timedelta(days=days),
        )
    factories.SoftwareSubscriptionFactory(
        software_model=model, identifier=identifier, status="removed"
    )
    return model


def test_the_model_list_shows_seats_held_stale_seats_and_annual_spend(admin_client, enterprise):
    html = admin_client.get(reverse("admin:sam_saas_softwaremodel_changelist")).content.decode()

    assert ">Calendly Enterprise</a>" in html
    assert '<td class="field-seats_held">4</td>' in html
    assert '<td class="field-stale_seats">2</td>' in html  # past the default 60 days
    assert '<td class="field-annual_spend">1,920.00 EUR</td>' in html  # 10 × 16 × 12
    assert '<td class="field-position_status">Over-licensed</td>' in html


def test_the_model_page_links_and_counts_what_belongs_to_it(admin_client, enterprise):
    url = reverse("admin:sam_saas_softwaremodel_change", args=[enterprise.pk])

    html = admin_client.get(url).content.decode()

    subscriptions = reverse("admin:sam_saas_softwaresubscription_changelist")
    assert f'href="{subscriptions}?software_model__id__exact={enterprise.pk}"' in html
    assert ">5 subscriptions</a>" in html
    assert ">4 active</a>" in html and ">1 removed</a>" in html
    assert ">1 entitlement</a>" in html
    identifier = enterprise.identifiers.get()
    assert reverse("admin:sam_saas_subscriptionidentifier_change", args=[identifier.pk]) in html
    assert 'id="model-position"' in html
    assert "<th scope='row'>Purchased</th><td>10</td>" in html


def test_the_subscription_list_shows_compact_inactive_days_and_no_vendor_columns(
    admin_client, enterprise
):
    html = admin_client.get(
        reverse("admin:sam_saas_softwaresubscription_changelist")
    ).content.decode()

    assert '<td class="field-inactive">200 d</td>' in html
    assert '<td class="field-model_name">Calendly Enterprise</td>' in html
    assert "column-external_user_id" not in html and "column-identifier" not in html
    assert 'id="nav-sidebar"' not in html  # the wide list takes the sidebar's width
