"""Fixtures of the reclamation tests: a fake connector registered as provider "fake", and
profiles using it. The real Calendly lifecycle over HTTP is tested in tests/calendly."""

import datetime as dt
import threading
import time

import pytest
from django.test import Client
from django.utils import timezone

from sam_saas import connectors
from sam_saas.connectors import ReclaimOutcome
from sam_saas.models import JobRun
from tests import factories
from tests.helpers import registered_connector


class FakeConnector(connectors.BaseConnector):
    """Records every reclaim call. ``outcomes`` is a queue of what the next reclaim calls
    return (a ReclaimOutcome) or raise (an exception); empty means "removed"."""

    provider = "fake"
    reclaim_effect_text = "Removes the user from the fake organization; the fake bill stays."

    def __init__(self):
        self.calls: list[int] = []
        self.activity_checks: list[int] = []
        self.outcomes: list = []
        self.activity: dict[int, dt.datetime] = {}
        self.activity_error: Exception | None = None
        self.delay = 0.0
        self.lock = threading.Lock()

    def validate_connection(self, profile):
        return connectors.ConnectionCheck(ok=True)

    def download_subscriptions(self, profile, job):
        pass

    def pull_activity(self, profile, job):
        pass

    def latest_activity(self, subscription):
        with self.lock:
            self.activity_checks.append(subscription.pk)
        if self.activity_error is not None:
            raise self.activity_error
        return self.activity.get(subscription.pk)

    def reclaim_subscription(self, subscription):
        with self.lock:
            self.calls.append(subscription.pk)
            nxt = self.outcomes.pop(0) if self.outcomes else None
        if self.delay:
            time.sleep(self.delay)
        if isinstance(nxt, Exception):
            raise nxt
        return nxt or ReclaimOutcome(ReclaimOutcome.Result.REMOVED)


@pytest.fixture
def worker_semantics():
    """Eager tasks that behave like a worker's: a retry runs again (at once) instead of
    propagating the Retry exception to the caller, as the test settings otherwise make it."""
    from config.celery import app

    previous = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = previous


@pytest.fixture
def fake():
    with registered_connector("fake", FakeConnector()) as connector:
        yield connector


def make_profile(*, reclaim_enabled=True, activity_pulled=True, **kwargs):
    alias = factories.ConnectionAliasFactory(provider="fake")
    profile = factories.IntegrationProfileFactory(
        provider="fake", alias=alias, reclaim_enabled=reclaim_enabled, **kwargs
    )
    if activity_pulled:
        factories.JobRunFactory(profile=profile, kind=JobRun.Kind.ACTIVITY)
    return profile


@pytest.fixture
def profile(fake):
    return make_profile()


def days_ago(days: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


def seat(profile, **kwargs):
    """A seat old enough to be outside any grace period, active 90 days ago by default."""
    kwargs.setdefault("external_created_at", days_ago(400))
    kwargs.setdefault("last_activity_at", days_ago(90))
    return factories.SoftwareSubscriptionFactory(profile=profile, **kwargs)


def candidate(profile, state="awaiting_approval", **kwargs):
    subscription = kwargs.pop("subscription", None) or seat(profile)
    return factories.ReclamationCandidateFactory(subscription=subscription, state=state, **kwargs)


def client_for(role: str | None, django_user_model=None) -> Client:
    """A client logged in as: "superuser", a member of the SAM group ``role``, or anonymous
    (None)."""
    client = Client()
    if role == "superuser":
        user = factories.UserFactory(is_superuser=True)
    elif role is not None:
        user = factories.UserFactory(groups=[role])
    else:
        return client
    client.force_login(user)
    return client
