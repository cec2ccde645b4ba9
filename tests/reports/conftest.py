"""Fixtures for the money and report tests: a software model with a profile, and helpers to
read CSV responses."""

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from tests import factories


@pytest.fixture
def model():
    return factories.SoftwareModelFactory(
        publisher=factories.PublisherFactory(name="Calendly"), product="Calendly", edition="Teams"
    )


@pytest.fixture
def profile():
    return factories.IntegrationProfileFactory(name="Acme")


def seats(count, *, model, profile, days_inactive=5, **kwargs):
    """``count`` active member seats of ``model`` in ``profile``."""
    kwargs.setdefault("last_activity_at", timezone.now() - dt.timedelta(days=days_inactive))
    return factories.SoftwareSubscriptionFactory.create_batch(
        count,
        profile=profile,
        software_model=model,
        identifier=factories.SubscriptionIdentifierFactory(software_model=model),
        **kwargs,
    )


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")  # the admin adds a BOM
    return list(csv.reader(io.StringIO(body)))
