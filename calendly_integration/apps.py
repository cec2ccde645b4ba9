from django.apps import AppConfig


class CalendlyIntegrationConfig(AppConfig):
    """The Calendly connector: client, OAuth, the three processes and a fake Calendly."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "calendly_integration"
    verbose_name = "Calendly"
