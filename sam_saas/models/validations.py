"""Profile validations: what "Validate connection" found, check by check.

The publish gate reads the latest one: a profile is published only when its latest validation
passed, covered exactly the processes enabled now, and was made through the alias in use now.
Rows are kept (not overwritten) so the admin can show when a profile last validated and why an
older attempt failed."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from .profiles import IntegrationProfile


class ProfileValidation(models.Model):
    profile = models.ForeignKey(
        IntegrationProfile, on_delete=models.CASCADE, related_name="validations"
    )
    validated_at = models.DateTimeField(default=timezone.now, db_index=True)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when a connection or a job validated.",
    )
    alias_id_checked = models.BigIntegerField(
        help_text="The alias the checks ran through; another alias needs a new validation."
    )
    processes = models.JSONField(
        default=list, help_text="The processes enabled when the checks ran."
    )
    passed = models.BooleanField(default=False)
    # [{"process", "key", "label", "ok", "detail", "hint"}, ...] in the order they ran.
    checks = models.JSONField(default=list)

    class Meta:
        ordering = ["-validated_at", "-id"]
        get_latest_by = ("validated_at", "id")

    def __str__(self):
        verdict = "passed" if self.passed else "failed"
        return f"{self.profile} · validation {verdict} · {self.validated_at:%Y-%m-%d %H:%M}"

    @property
    def failed_checks(self) -> list[dict]:
        return [check for check in self.checks if not check.get("ok")]
