from django.apps import AppConfig


class SandboxConfig(AppConfig):
    """The developer app: the fake Calendly and the tools that run against it or fill a
    database with throwaway data (``calendly_sandbox``, ``calendly_demo``, ``demo_setup``,
    ``bench_download``, ``bench_scale``, ``bench_people_import``).

    Only ``config.settings.local`` and ``config.settings.test`` install it, so production has
    none of these commands and no code path that reaches the fake. It sits on top of the
    three product apps: it may import any of them, and nothing in them imports it.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "calendly_integration.sandbox"
    label = "sandbox"
    verbose_name = "Developer sandbox"
