from django.apps import AppConfig


class SamSaasConfig(AppConfig):
    """The vendor-neutral SAM domain. It never imports a vendor's code: connectors register
    themselves with :mod:`sam_saas.connectors` from their own app's ``ready()``."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sam_saas"
    verbose_name = "SaaS License Management"

    def ready(self):
        from django.db.models.signals import post_migrate

        from .models import JobRun
        from .permissions import sync_after_migrate
        from .services import jobs, positions

        jobs.register_core_handlers()
        jobs.register_handler(JobRun.Kind.RECONCILE, positions.run_reconcile_job)
        # Models added after the groups' migration (and other apps' grants) reach the groups.
        post_migrate.connect(
            sync_after_migrate, sender=self, dispatch_uid="sam_saas.sync_permission_groups"
        )
