"""Job runs: the record every scheduled or manual job leaves behind ("scheduled job results")."""

from django.db import models
from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .. import jobkinds
from .profiles import IntegrationProfile


class JobRunQuerySet(models.QuerySet):
    def latest_failed(self, since=None):
        """Runs that failed and are the latest finished run of their profile and kind (global
        runs form one "profile"), finished after ``since``: one row per pair whose job is
        failing now. A failure followed by a successful rerun is not counted ("Failed jobs
        (24 h)" on the dashboard and the job list's "Failing now" filter)."""
        pair = Coalesce("profile_id", Value(0))
        newer = (
            JobRun.objects.alias(pair=pair)
            .filter(
                pair=OuterRef("pair"),
                kind=OuterRef("kind"),
                finished_at__gt=OuterRef("finished_at"),
            )
            .exclude(pk=OuterRef("pk"))
        )
        failed = self.alias(pair=pair).filter(
            status=JobRun.Status.FAILED, finished_at__isnull=False
        )
        if since is not None:
            failed = failed.filter(finished_at__gte=since)
        return failed.filter(~Exists(newer))


class JobRun(models.Model):
    """One run of one job. Typed counters, progress, the error and a troubleshooting hint, so
    a SAM manager can filter failures and an operator knows what to fix.

    A partial unique constraint allows at most one queued or running run per profile and kind,
    which is what keeps two refreshes of one profile from ever running at once."""

    class Kind(models.TextChoices):
        """The core's own kinds. Other apps register theirs (``sam_saas.jobkinds``); the
        field's choices are the registry's, so adding a kind needs no migration."""

        DOWNLOAD = "download", "Refresh subscriptions"
        ACTIVITY = "activity", "Refresh activity"
        RECONCILE = "reconcile", "Reconcile"
        VALIDATE = "validate", "Validate connection"
        APPLY_RULES = "apply_rules", "Apply rules to stored seats"
        PEOPLE_IMPORT = "people_import", "People import"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Manual (admin)"
        COMMAND = "command", "Command line"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.QUEUED, Status.RUNNING)

    profile = models.ForeignKey(
        IntegrationProfile,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="job_runs",
        help_text="Empty for global jobs.",
    )
    kind = models.CharField(max_length=20, choices=jobkinds.choices)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    rate_limit_waits = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done, 0-100.")
    progress_message = models.CharField(max_length=300, blank=True)
    error_class = models.CharField(max_length=120, blank=True)
    error_message = models.TextField(blank=True)
    hint = models.TextField("troubleshooting hint", blank=True)
    warnings = models.JSONField(default=list, blank=True)

    objects = JobRunQuerySet.as_manager()

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "kind"],
                condition=models.Q(status__in=["queued", "running"], profile__isnull=False),
                name="%(app_label)s_%(class)s_one_open_per_profile_kind",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(status__in=["queued", "running"], profile__isnull=True),
                name="%(app_label)s_%(class)s_one_open_global_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="sam_jobrun_status_idx"),
            # The job results' order (newest first) and their date hierarchy's first and last.
            models.Index(fields=["queued_at"], name="sam_jobrun_queued_idx"),
        ]

    def final_message(self) -> str:
        """What a finished run did, from its final counters (never a "so far" message)."""
        parts = [
            f"{name.replace('_', ' ')} {getattr(self, name):,}"
            for name in ("fetched", "created", "updated", "removed", "unmatched")
            if getattr(self, name)
        ]
        calls = f"; {self.api_calls:,} API call(s)" if self.api_calls else ""
        waits = f", {self.rate_limit_waits} rate-limit wait(s)" if self.rate_limit_waits else ""
        return f"Finished: {', '.join(parts) or 'nothing to do'}{calls}{waits}."

    def __str__(self):
        scope = self.profile.name if self.profile_id else "all profiles"
        return f"{self.get_kind_display()} · {scope} · {self.get_status_display()}"

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None
