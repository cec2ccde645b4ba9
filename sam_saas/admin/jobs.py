"""Admin for job runs ("scheduled job results"): read-only records of every run."""

import datetime as dt

from django.contrib import admin
from django.utils import timezone

from ..models import JobRun
from .export import ExportCsvMixin
from .pagination import BoundedCountMixin


class FailingFilter(admin.SimpleListFilter):
    """The runs behind "Failed jobs (24 h)": latest run of its profile and kind, failed."""

    title = "failing now"
    parameter_name = "failing"

    def lookups(self, request, model_admin):
        return [("24h", "Latest run failed (24 h)"), ("any", "Latest run failed")]

    def queryset(self, request, queryset):
        if self.value() == "24h":
            return queryset.latest_failed(since=timezone.now() - dt.timedelta(hours=24))
        if self.value() == "any":
            return queryset.latest_failed()
        return queryset


@admin.register(JobRun)
class JobRunAdmin(BoundedCountMixin, ExportCsvMixin, admin.ModelAdmin):
    """Nobody adds, edits or deletes a run, superusers included: the jobs write them, and old
    ones are removed only by ``manage.py prune_job_runs`` (run daily by beat)."""

    export_report = "job-runs"
    change_form_template = "admin/sam_saas/jobrun/change_form.html"
    list_display = (
        "kind",
        "profile",
        "trigger",
        "status",
        "queued_at",
        "started_at",
        "finished_at",
        "duration_display",
        "fetched",
        "created",
        "updated",
        "removed",
        "unmatched",
        "api_calls",
        "error_class",
    )
    list_filter = (FailingFilter, "status", "kind", "trigger", "profile")
    list_select_related = ("profile",)
    search_fields = ("error_class", "error_message", "profile__name")
    date_hierarchy = "queued_at"
    fieldsets = (
        (None, {"fields": ("kind", "profile", "trigger", "status")}),
        ("Timing", {"fields": ("queued_at", "started_at", "finished_at", "duration_display")}),
        (
            "Counters",
            {
                "fields": (
                    "fetched",
                    "created",
                    "updated",
                    "removed",
                    "unmatched",
                    "api_calls",
                    "rate_limit_waits",
                )
            },
        ),
        ("Progress", {"fields": ("progress", "progress_message")}),
        ("Error", {"fields": ("error_class", "error_message", "hint", "warnings")}),
    )
    readonly_fields = tuple(name for _, options in fieldsets for name in options["fields"])

    @admin.display(description="duration", ordering="finished_at")
    def duration_display(self, obj):
        duration = obj.duration
        if duration is None:
            return None
        seconds = int(duration.total_seconds())
        hours, rest = divmod(seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
