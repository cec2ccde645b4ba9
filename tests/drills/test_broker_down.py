"""Drill: the broker (Redis) is unreachable when a refresh is queued, for example while a SAM
manager presses "Refresh now" during a Redis restart.

The admin must say so instead of failing with a server error, no run may be left "queued"
without a message (it would block every later refresh of the profile), and once the broker
is back "Refresh now" must work. Runs without Redis: the broker URL points at a closed port."""

import contextlib

import pytest
from django.urls import reverse

from config.celery import app
from sam_saas.models import JobRun
from sam_saas.services import profile_actions

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hands runs to the broker


@contextlib.contextmanager
def broker_unreachable():
    saved = {k: app.conf[k] for k in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
    # Fresh pools for the closed port: an earlier test may have left producers connected.
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.update(saved)
        app._pool = None
        app.amqp._producer_pool = None


def test_refresh_now_with_the_broker_down_says_so_and_blocks_nothing(admin_client, pat_profile):
    with broker_unreachable():
        response = admin_client.post(
            reverse("admin:sam_saas_integrationprofile_changelist"),
            {"action": "refresh_now", "_selected_action": [pat_profile.pk]},
            follow=True,
        )
    assert response.status_code == 200
    assert not JobRun.objects.filter(status__in=JobRun.OPEN_STATUSES).exists()

    report = profile_actions.queue_refresh([pat_profile])  # the broker is back (inline here)
    assert report.done and not report.skipped
    assert JobRun.objects.filter(profile=pat_profile, status=JobRun.Status.SUCCEEDED).exists()
