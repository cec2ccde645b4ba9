from django.apps import AppConfig


class SamSaasConfig(AppConfig):
    """The vendor-neutral SAM domain. It never imports a vendor's code: connectors register
    themselves with :mod:`sam_saas.connectors` from their own app's ``ready()``."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sam_saas"
    verbose_name = "SaaS License Management"

    def ready(self):
        from celery.schedules import crontab
        from django.db.models.signals import post_migrate

        from . import (
            checks,  # noqa: F401  (registers the deploy checks)
            jobkinds,
            tasks,
        )
        from .models import JobRun
        from .permissions import sync_after_migrate
        from .services import figures, jobs, people_import, positions, rejudge
        from .signals import job_finished, seats_rejudged

        Kind = JobRun.Kind
        jobkinds.register(Kind.DOWNLOAD, Kind.DOWNLOAD.label, jobs.run_download)
        jobkinds.register(Kind.ACTIVITY, Kind.ACTIVITY.label, jobs.run_activity)
        jobkinds.register(Kind.VALIDATE, Kind.VALIDATE.label, jobs.run_validate)
        # Per profile, or for every profile when the run has none (a user exclusion rule).
        jobkinds.register(Kind.APPLY_RULES, Kind.APPLY_RULES.label, rejudge.run_apply_rules_job)
        jobkinds.register(
            Kind.RECONCILE,
            Kind.RECONCILE.label,
            positions.run_reconcile_job,
            scope=jobkinds.GLOBAL,
        )
        # Recorded by the import itself (admin upload, ``manage.py import_people``), never queued.
        jobkinds.register(
            Kind.PEOPLE_IMPORT,
            Kind.PEOPLE_IMPORT.label,
            people_import.run_people_import_job,
            scope=jobkinds.GLOBAL,
        )
        jobkinds.register_sender(jobkinds.RUN_JOB, lambda run_id: tasks.run_job.delay(run_id))
        # Every 15 minutes: queue the daily refresh of each profile whose time has come.
        jobkinds.register_beat(
            "dispatch-due-refreshes",
            "sam_saas.tasks.dispatch_due_refreshes",
            crontab(minute="*/15"),
        )
        # Weekly: store the licence-position snapshot.
        jobkinds.register_beat(
            "reconcile",
            "sam_saas.tasks.enqueue_global_job",
            crontab(hour=7, minute=0, day_of_week="mon"),
            args=(Kind.RECONCILE.value,),
        )
        # Daily: job results older than JOB_RUN_RETENTION_DAYS (sam_saas.services.retention).
        jobkinds.register_beat(
            "prune-job-runs", "sam_saas.tasks.prune_job_runs", crontab(hour=3, minute=15)
        )
        # The dashboard's figures, kept by the jobs that change them.
        figures.register_core()
        seats_rejudged.connect(figures.after_rejudge, dispatch_uid="sam_saas.figures_rejudged")
        job_finished.connect(figures.after_job, dispatch_uid="sam_saas.figures_after_job")
        # Models added after the groups' migration (and other apps' grants) reach the groups.
        post_migrate.connect(
            sync_after_migrate, sender=self, dispatch_uid="sam_saas.sync_permission_groups"
        )
