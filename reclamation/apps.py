from django.apps import AppConfig


class ReclamationConfig(AppConfig):
    """Reclamation rules, candidates, approvals and reclaiming."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "reclamation"
    verbose_name = "Reclamation"
