from django.apps import AppConfig


class CalendlyIntegrationConfig(AppConfig):
    """The Calendly connector: client, OAuth, the three processes and a fake Calendly."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "calendly_integration"
    verbose_name = "Calendly"

    def ready(self):
        from sam_saas import connectors

        from .connector import CalendlyConnector
        from .constants import PROVIDER

        connectors.register(PROVIDER, CalendlyConnector)
