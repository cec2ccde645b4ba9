"""The Celery app of the workers the drills start as subprocesses (``celery -A
tests.worker.subprocess_app worker``): the product's app, except that the broker looks for
abandoned messages (unacknowledged past the visibility timeout) every second instead of every
100 seconds, so a redelivery shows up within a test's patience."""

from django.conf import settings

from config.celery import app

app.conf.broker_transport_options = {
    **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

__all__ = ["app"]
