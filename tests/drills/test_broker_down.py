"""Drill: the broker (Redis) is unreachable when a refresh is queued, for example while a SAM
manager presses "Refresh now" during a Redis restart.

The admin must say so instead of failing with a server error, no run may be left "queued"
without a message (it would block every later refresh of the profile), and once the broker
is back "Refresh now" must work. Runs without Redis."""

import contextlib

import pytest
from django.urls import reverse
from kombu.exceptions import OperationalError as KombuOperationalError

from sam_saas.models import JobRun
from sam_saas.services import profile_actions
from sam_saas.tasks import run_job

pytestmark = pytest.mark.django_db(transaction=True)  # on_commit hands runs to the broker


@contextlib.contextmanager
def broker_unreachable():
    """``run_job.delay`` fails the way kombu does when Redis refuses the connection. Simulated
    here: a second Celery app pointed at a closed port leaves kombu's shared pools closed for
    the real-worker tests that follow (the real Redis restart is tests/worker)."""

    def delay(*args, **kwargs):
        raise KombuOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    original = run_job.delay
    run_job.delay = delay
    try:
        yield
    finally:
        run_job.delay = original


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
