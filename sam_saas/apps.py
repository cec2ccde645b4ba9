from django.apps import AppConfig


class SamSaasConfig(AppConfig):
    """The vendor-neutral SAM domain. It never imports a vendor's code: connectors register
    themselves with :mod:`sam_saas.connectors` from their own app's ``ready()``."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "sam_saas"
    verbose_name = "SaaS License Management"

    def ready(self):
        from .services import processes

        processes.register_defaults()
