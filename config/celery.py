"""The Celery application and its one static beat schedule.

Per-profile refresh times live on the profiles (editable in the admin), so beat only needs a
dispatcher that wakes every 15 minutes and queues what is due. Run exactly one beat.
Tasks take ids, never model instances, so a redelivered message reads fresh rows.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("sam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "dispatch-due-refreshes": {
        "task": "sam_saas.tasks.dispatch_due_refreshes",
        "schedule": crontab(minute="*/15"),
    },
    "identify-reclamation-candidates": {
        "task": "sam_saas.tasks.identify_candidates",
        "schedule": crontab(hour=6, minute=30),
    },
    "reconcile": {
        "task": "sam_saas.tasks.reconcile",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
    },
    # Job results older than JOB_RUN_RETENTION_DAYS (sam_saas.services.retention).
    "prune-job-runs": {
        "task": "sam_saas.tasks.prune_job_runs",
        "schedule": crontab(hour=3, minute=15),
    },
}
