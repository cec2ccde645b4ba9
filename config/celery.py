"""The Celery application. Its beat schedule is the apps' own entries.

Per-profile refresh times live on the profiles (editable in the admin), so the core only needs
a dispatcher that wakes every 15 minutes and queues what is due; the apps add their periodic
jobs (reconcile, candidate identification) from their ``AppConfig.ready()`` through
``sam_saas.jobkinds.register_beat``. Run exactly one beat.
Tasks take ids, never model instances, so a redelivered message reads fresh rows.
"""

import os

from celery import Celery

from sam_saas.jobkinds import BeatSchedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("sam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Read when beat starts, after Django has set up the apps and they have registered.
app.conf.beat_schedule = BeatSchedule()
