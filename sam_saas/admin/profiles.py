"""Admin for integration profiles: one connected vendor organization and its processes."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from .. import extensions
from ..connectors import ConnectorError, get_connector
from ..models import (
    IntegrationProfile,
    JobRun,
    Process,
    ProfileValidation,
    SoftwareSubscription,
)
from ..services import lifecycle, profile_actions
from . import profile_related, profile_schedule
from .filters import NeedsAttentionFilter
from .strict import StrictModelAdmin

method_decorator_post = method_decorator(require_POST)


def _column_display(column):
    """A registered profile column as a list_display callable."""

    def display(obj):
        return column.value(obj)

    display.__name__ = column.key
    return admin.display(
        description=column.header, ordering=column.ordering, boolean=column.boolean
    )(display)


def _linked(report, lines):
    """Each line, followed by a link to the job run it queued ("Queued: Acme (job run 12)")."""
    runs = getattr(report, "runs", {})
    return format_html_join(
        "; ",
        "{}{}",
        (
            (
                line,
                format_html(
                    ' (<a href="{}">job run {}</a>)',
                    reverse("admin:sam_saas_jobrun_change", args=[runs[line]]),
                    runs[line],
                )
                if line in runs
                else "",
            )
            for line in lines
        ),
    )


def _report(modeladmin, request, verb: str, report) -> None:
    if report.done:
        modeladmin.message_user(
            request, format_html("{}: {}", verb, _linked(report, report.done)), messages.SUCCESS
        )
    if report.skipped:
        modeladmin.message_user(
            request, format_html("Skipped: {}", _linked(report, report.skipped)), messages.WARNING
        )


@admin.register(IntegrationProfile)
class IntegrationProfileAdmin(StrictModelAdmin):
    list_display = (
        "name",
        "provider",
        "status",
        "connection_status",
        "last_download_at",
        "seats_held",
        # Registered columns (open candidates, rule needs review) go here: get_list_display.
    )
    # Which processes are on, the vendor plan and the next refresh are on the profile page
    # ("Scheduled jobs") and in the filters: the list keeps what needs a look at 1280 px
    # (status, connection, freshness, seats, candidates, rule review).
    list_filter = (
        "status",
        NeedsAttentionFilter,
        "provider",
        "alias__connection_status",
        "activity_enabled",
        "reclaim_enabled",
        "organization_plan",
    )
    list_select_related = ("alias",)
    search_fields = ("name", "organization_name", "organization_uri", "alias__name")
    autocomplete_fields = ("alias",)
    actions = ("refresh_now", "refresh_activity_now", "validate_connection", "publish")
    change_form_template = "admin/sam_saas/integrationprofile/change_form.html"
    readonly_fields = (
        "status",
        "connection",
        "related_lists",
        "scheduled_jobs",
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
        ("Related lists", {"fields": ("related_lists",)}),
        ("Scheduled jobs", {"fields": ("scheduled_jobs",)}),
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

    # -- the list: core columns plus those apps register (one query whatever the page size) --

    def get_queryset(self, request):
        queryset = super().get_queryset(request).with_overview()
        for column in extensions.registry.profile_columns:
            queryset = column.annotate(queryset)
        return queryset

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        at = columns.index("seats_held") + 1
        columns[at:at] = [_column_display(c) for c in extensions.registry.profile_columns]
        return columns

    @admin.display(description="connection status", ordering="alias__connection_status")
    def connection_status(self, obj):
        return obj.alias.get_connection_status_display()

    @admin.display(description="last successful download", ordering="last_download_at")
    def last_download_at(self, obj):
        return obj.last_download_at

    @admin.display(description="seats held", ordering="seats_held")
    def seats_held(self, obj):
        return obj.seats_held

    @admin.display(description="daily refresh")
    def scheduled_jobs(self, obj):
        if not obj.pk:
            return "-"
        return profile_schedule.render(obj)

    @admin.display(description="related lists")
    def related_lists(self, obj):
        if not obj.pk:
            return "-"
        return profile_related.render(obj)

    @admin.action(description="Refresh now (download subscriptions)", permissions=["change"])
    def refresh_now(self, request, queryset):
        _report(self, request, "Queued", profile_actions.queue_refresh(queryset))

    @admin.action(description="Refresh activity now", permissions=["change"])
    def refresh_activity_now(self, request, queryset):
        report = profile_actions.queue_refresh(queryset, JobRun.Kind.ACTIVITY)
        _report(self, request, "Queued", report)

    @admin.action(description="Validate connection", permissions=["change"])
    def validate_connection(self, request, queryset):
        report = profile_actions.validate_profiles(queryset, actor=request.user)
        _report(self, request, "Validation passed", report)

    @admin.action(description="Publish", permissions=["change"])
    def publish(self, request, queryset):
        _report(self, request, "Published", profile_actions.publish_profiles(queryset))

    def get_deleted_objects(self, objs, request):
        """Removing a profile takes its seats and job results with it: a SAM manager's
        explicit decision about the whole profile, although neither can be deleted one by one
        (their admins refuse every delete)."""
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        owned = {
            str(model._meta.verbose_name)
            for model in (JobRun, SoftwareSubscription, ProfileValidation)
        }
        return deleted, model_count, perms_needed - owned, protected

    # -- lifecycle buttons on the profile page ---------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/validate/", wrap(self.validate_view), name="sam_saas_profile_validate"),
            path("<int:pk>/publish/", wrap(self.publish_view), name="sam_saas_profile_publish"),
            path("<int:pk>/draft/", wrap(self.draft_view), name="sam_saas_profile_draft"),
            *super().get_urls(),
        ]

    def _profile_for_button(self, request, pk):
        profile = get_object_or_404(IntegrationProfile.objects.select_related("alias"), pk=pk)
        if not self.has_change_permission(request, profile):
            raise PermissionDenied
        return profile

    def _back(self, profile):
        return HttpResponseRedirect(
            reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk])
        )

    @method_decorator_post
    def validate_view(self, request, pk):
        profile = self._profile_for_button(request, pk)
        validation = lifecycle.validate(profile, actor=request.user)
        if validation.passed:
            self.message_user(
                request,
                f"Validation passed: {len(validation.checks)} checks. {profile} is "
                f"{profile.get_status_display()}"
                + (
                    "; press Publish to start its daily refresh."
                    if not profile.is_published
                    else "."
                ),
                level=messages.SUCCESS,
            )
        else:
            self.message_user(
                request,
                f"Validation failed: {len(validation.failed_checks)} of {len(validation.checks)} "
                "checks. See each check's hint below.",
                level=messages.ERROR,
            )
        return self._back(profile)

    @method_decorator_post
    def publish_view(self, request, pk):
        profile = self._profile_for_button(request, pk)
        try:
            lifecycle.publish(profile)
        except lifecycle.PublishRefused as exc:
            self.message_user(request, f"Not published: {exc}", level=messages.ERROR)
        else:
            self.message_user(
                request,
                f"{profile} is published; its daily refresh runs next at "
                f"{profile.compute_next_refresh():%Y-%m-%d %H:%M %Z}.",
                level=messages.SUCCESS,
            )
        return self._back(profile)

    @method_decorator_post
    def draft_view(self, request, pk):
        profile = self._profile_for_button(request, pk)
        if lifecycle.return_to_draft(profile):
            self.message_user(
                request, f"{profile} is back in Draft: its daily refresh stopped.", messages.SUCCESS
            )
        return self._back(profile)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        profile = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if profile is not None:
            extra["lifecycle"] = self._lifecycle_context(request, profile)
        return super().change_view(request, object_id, form_url, extra)

    def _lifecycle_context(self, request, profile):
        validation = lifecycle.latest_validation(profile)
        try:
            connect_url = get_connector(profile.provider).connect_url(profile)
        except ConnectorError:  # no connector installed for this provider
            connect_url = None
        checks = [
            {**check, "process_label": Process(check["process"]).label}
            for check in (validation.checks if validation else [])
        ]
        return {
            "status": profile.get_status_display(),
            "is_published": profile.is_published,
            "can_change": self.has_change_permission(request, profile),
            "connect_url": connect_url,
            "provider_label": profile.get_provider_display(),
            "validate_url": reverse("admin:sam_saas_profile_validate", args=[profile.pk]),
            "publish_url": reverse("admin:sam_saas_profile_publish", args=[profile.pk]),
            "draft_url": reverse("admin:sam_saas_profile_draft", args=[profile.pk]),
            "validation": validation,
            "checks": checks,
            "blockers": lifecycle.publish_blockers(profile, validation)
            if validation
            else ["The profile has never been validated: press “Validate connection”."],
        }

    @admin.display(description="connection")
    def connection(self, obj):
        if not obj.pk:
            return "Save the profile first."
        alias = obj.alias
        return format_html(
            "{} — {}", alias.get_connection_status_display(), alias.status_message or "no message"
        )

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
