"""Fixtures of the security tests: a private in-memory cache (login-throttling counters must
not leak between tests or into a shared Redis), clients per role, and a fake connector so the
permission matrix exercises the admin's actions without HTTP."""

import pytest
from django.core.cache import cache
from django.test import Client

from sam_saas import connectors
from tests import factories
from tests.helpers import registered_connector

ROLES = ["superuser", "SAM manager", "SAM approver", "SAM viewer", None]
MANAGERS = {"superuser", "SAM manager"}


def role_id(role):
    return role or "anonymous"


@pytest.fixture(autouse=True)
def private_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "security-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()


def client_for(role, **client_kwargs) -> Client:
    """A client signed in as a superuser, as a member of the SAM group ``role``, or anonymous
    (None)."""
    client = Client(**client_kwargs)
    if role == "superuser":
        user = factories.UserFactory(is_superuser=True)
    elif role is not None:
        user = factories.UserFactory(groups=[role])
    else:
        return client
    client.force_login(user)
    return client


class QuietConnector(connectors.BaseConnector):
    """A connector that succeeds without talking to anybody and counts its calls."""

    provider = "quiet"
    reclaim_effect_text = "Removes the seat from the quiet vendor."

    def __init__(self):
        self.calls = []

    def validate_connection(self, profile):
        self.calls.append(("validate", profile.pk))
        return connectors.ConnectionCheck(
            ok=True, organization_name="Quiet Org", plan="teams", account="quiet:me"
        )

    def download_subscriptions(self, profile, job):
        self.calls.append(("download", profile.pk))

    def pull_activity(self, profile, job):
        self.calls.append(("activity", profile.pk))

    def latest_activity(self, subscription):
        return None

    def reclaim_subscription(self, subscription):
        self.calls.append(("reclaim", subscription.pk))
        return connectors.ReclaimOutcome(connectors.ReclaimOutcome.Result.REMOVED)


@pytest.fixture
def quiet():
    with registered_connector("quiet", QuietConnector()) as connector:
        yield connector
