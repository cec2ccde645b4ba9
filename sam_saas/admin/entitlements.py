"""Admin for entitlements: purchased rights for a software model."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ..models import Entitlement, JobRun
from ..services import jobs
from .export import ExportCsvMixin
from .filters import InForceFilter, SoftwareModelListFilter
from .strict import StrictModelAdmin


@admin.register(Entitlement)
class EntitlementAdmin(ExportCsvMixin, StrictModelAdmin):
    export_report = "entitlements"
    actions = ("reconcile_now",)
    list_display = (
        "software_model",
        "profile",
        "purchased_rights",
        "unit_cost",
        "currency",
        "period",
        "start_date",
        "end_date",
        "in_force",
        "cost_center",
        "contract_reference",
    )
    list_filter = (
        InForceFilter,
        ("software_model", SoftwareModelListFilter),
        "profile",
        "period",
        "currency",
        "cost_center",
    )
    list_select_related = ("software_model__publisher", "profile")
    search_fields = (
        "contract_reference",
        "cost_center",
        "software_model__product",
        "software_model__edition",
        "software_model__publisher__name",
    )
    autocomplete_fields = ("software_model", "profile")
    date_hierarchy = "start_date"
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        # str(entitlement) names the software model and its publisher. (A select_related here
        # makes the changelist skip list_select_related, so it repeats all of it.)
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj):
        today = timezone.localdate()
        return obj.start_date <= today and (obj.end_date is None or obj.end_date >= today)

    @admin.action(
        description="Reconcile now (store today's licence position)", permissions=["change"]
    )
    def reconcile_now(self, request, queryset):
        """Queue the RECONCILE job (the weekly beat's job); it covers every entitlement, not
        only the selected ones."""
        try:
            run = jobs.enqueue(None, JobRun.Kind.RECONCILE, JobRun.Trigger.MANUAL)
        except jobs.JobAlreadyOpen as exc:
            self.message_user(
                request, f"{exc.existing} is already queued or running.", messages.WARNING
            )
            return
        url = reverse("admin:sam_saas_jobrun_change", args=[run.pk])
        positions = reverse("admin:sam_saas_licencepositionsnapshot_changelist")
        self.message_user(
            request,
            format_html(
                'Reconciliation queued (<a href="{}">job result</a>); the licence position '
                'appears in <a href="{}">Licence positions</a>.',
                url,
                positions,
            ),
            messages.SUCCESS,
        )
