"""Admin for integration profiles: one connected vendor organization and its processes."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..connectors import ConnectorError, get_connector
from ..models import IntegrationProfile, JobRun
from ..services import profile_actions
from .strict import StrictModelAdmin


def _report(modeladmin, request, verb: str, report) -> None:
    if report.done:
        modeladmin.message_user(
            request, f"{verb}: {'; '.join(report.done)}", level=messages.SUCCESS
        )
    if report.skipped:
        modeladmin.message_user(
            request, f"Skipped: {'; '.join(report.skipped)}", level=messages.WARNING
        )


@admin.register(IntegrationProfile)
class IntegrationProfileAdmin(StrictModelAdmin):
    list_display = (
        "name",
        "provider",
        "alias",
        "status",
        "activity_enabled",
        "reclaim_enabled",
        "organization_name",
        "organization_plan",
        "refresh_time",
        "refresh_timezone",
        "next_refresh_at",
    )
    list_filter = (
        "status",
        "provider",
        "alias__connection_status",
        "activity_enabled",
        "reclaim_enabled",
        "organization_plan",
    )
    list_select_related = ("alias",)
    search_fields = ("name", "organization_name", "organization_uri", "alias__name")
    autocomplete_fields = ("alias",)
    actions = ("refresh_now", "refresh_activity_now", "validate_connection")
    readonly_fields = (
        "connection",
        "latest_runs",
        "next_refresh_at",
        "organization_uri",
        "organization_name",
        "organization_plan",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        ("Connection", {"fields": ("name", "provider", "alias", "status", "connection")}),
        ("Job results", {"fields": ("latest_runs",)}),
        (
            "Processes",
            {
                "fields": ("activity_enabled", "analyze_activity_from", "reclaim_enabled"),
                "description": "Download subscriptions is always on. With reclaim off, "
                "candidates are still raised and reclaimed by hand.",
            },
        ),
        ("Schedule", {"fields": ("refresh_time", "refresh_timezone", "next_refresh_at")}),
        (
            "Vendor organization",
            {
                "fields": (
                    "organization_name",
                    "organization_plan",
                    "organization_uri",
                    "created_at",
                    "updated_at",
                ),
                "description": "Read from the vendor when the connection is validated.",
            },
        ),
    )

    @admin.action(description="Refresh now (download subscriptions)", permissions=["change"])
    def refresh_now(self, request, queryset):
        _report(self, request, "Queued", profile_actions.queue_refresh(queryset))

    @admin.action(description="Refresh activity now", permissions=["change"])
    def refresh_activity_now(self, request, queryset):
        report = profile_actions.queue_refresh(queryset, JobRun.Kind.ACTIVITY)
        _report(self, request, "Queued", report)

    @admin.action(description="Validate connection", permissions=["change"])
    def validate_connection(self, request, queryset):
        _report(self, request, "Connection works", profile_actions.validate_profiles(queryset))

    @admin.display(description="connection")
    def connection(self, obj):
        if not obj.pk:
            return "Save the profile first."
        alias = obj.alias
        text = format_html(
            "{} — {}", alias.get_connection_status_display(), alias.status_message or "no message"
        )
        try:
            connect_url = get_connector(obj.provider).connect_url(obj)
        except (ConnectorError, AttributeError):
            connect_url = None
        if connect_url:
            text = format_html(
                '{} <a class="button" href="{}" id="connect-vendor">Connect to {}</a>',
                text,
                connect_url,
                obj.get_provider_display(),
            )
        return text

    @admin.display(description="latest job results")
    def latest_runs(self, obj):
        if not obj.pk:
            return "-"
        runs = list(obj.job_runs.order_by("-queued_at", "-id")[:5])
        if not runs:
            return "No job has run yet."
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a>: {} {}% {}</li>',
            (
                (
                    reverse("admin:sam_saas_jobrun_change", args=[run.pk]),
                    run.get_kind_display(),
                    run.get_status_display(),
                    run.progress,
                    run.progress_message or run.error_message[:120],
                )
                for run in runs
            ),
        )
        all_runs = reverse("admin:sam_saas_jobrun_changelist") + f"?profile__id__exact={obj.pk}"
        return format_html('<ul>{}</ul><a href="{}">All job results</a>', rows, all_runs)
