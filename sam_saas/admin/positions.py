"""Admin for licence positions: the dated snapshots reconciliation stores (read-only)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse

from ..models import JobRun, LicencePositionSnapshot
from ..money import format_amount
from ..services import jobs
from .export import ExportCsvMixin
from .filters import SoftwareModelListFilter

RECONCILE_PERMISSION = "sam_saas.change_entitlement"
FREED_NOTE = (
    "Freed seats save money only once the purchased seat count is lowered, usually at renewal."
)


def _money(amount, currency):
    return format_amount(amount, currency)


@admin.register(LicencePositionSnapshot)
class LicencePositionSnapshotAdmin(ExportCsvMixin, admin.ModelAdmin):
    """Written by the RECONCILE job only. "Profile: empty" lists the all-profiles positions."""

    export_report = "licence-position"
    change_list_template = "sam_saas/admin/licencepositionsnapshot/change_list.html"
    list_display = (
        "date",
        "software_model",
        "scope",
        "status",
        "purchased",
        "assigned",
        "pending",
        "available",
        "shortfall",
        "true_up_cost",
        "stale",
        "spend",
        "savings",
        "freed_seats_ytd",
        "freed_value",
    )
    list_filter = (
        "status",
        ("software_model", SoftwareModelListFilter),
        "profile",
        "currency",
    )
    list_select_related = ("software_model__publisher", "profile")
    date_hierarchy = "date"
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("date", "software_model", "profile", "currency", "status")}),
        (
            "Seats",
            {
                "fields": (
                    "purchased",
                    "assigned",
                    "pending",
                    "excluded",
                    "available",
                    "shortfall",
                    "stale",
                )
            },
        ),
        (
            "Money (in the row's currency)",
            {
                "fields": (
                    "annual_unit_cost",
                    "annual_spend",
                    "shortfall_cost",
                    "over_licensed_cost",
                )
            },
        ),
        (
            "Reclamation",
            {
                "fields": (
                    "open_candidates",
                    "potential_savings",
                    "savings_unknown",
                    "freed_seats_ytd",
                    "freed_value_ytd",
                ),
                "description": FREED_NOTE,
            },
        ),
        (None, {"fields": ("created_at",)}),
    )

    def get_queryset(self, request):
        # str(snapshot) names the model's publisher and the profile.
        return super().get_queryset(request).select_related(*self.list_select_related)

    @admin.display(description="profile", ordering="profile__name")
    def scope(self, obj):
        return obj.profile.name if obj.profile_id else "All profiles"

    @admin.display(description="true-up cost / year", ordering="shortfall_cost")
    def true_up_cost(self, obj):
        return _money(obj.shortfall_cost, obj.currency)

    @admin.display(description="annual spend", ordering="annual_spend")
    def spend(self, obj):
        return _money(obj.annual_spend, obj.currency)

    @admin.display(description="potential savings / year", ordering="potential_savings")
    def savings(self, obj):
        text = _money(obj.potential_savings, obj.currency)
        if obj.savings_unknown:
            text += f" (+ {obj.savings_unknown} of unknown cost)"
        return text

    @admin.display(description="freed value this year", ordering="freed_value_ytd")
    def freed_value(self, obj):
        return _money(obj.freed_value_ytd, obj.currency)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    # -- reconcile now -----------------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "reconcile/",
                self.admin_site.admin_view(self.reconcile_view),
                name="sam_saas_licencepositionsnapshot_reconcile",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_reconcile": request.user.has_perm(RECONCILE_PERMISSION),
            "freed_note": FREED_NOTE,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    def reconcile_view(self, request):
        """POST only: queue the RECONCILE job, the same job the weekly beat runs."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm(RECONCILE_PERMISSION):
            raise PermissionDenied
        changelist = reverse("admin:sam_saas_licencepositionsnapshot_changelist")
        try:
            run = jobs.enqueue(None, JobRun.Kind.RECONCILE, JobRun.Trigger.MANUAL)
        except jobs.JobAlreadyOpen as exc:
            self.message_user(
                request, f"{exc.existing} is already queued or running.", messages.WARNING
            )
            return HttpResponseRedirect(changelist)
        self.message_user(request, f"Reconciliation queued (job run {run.pk}).", messages.SUCCESS)
        return HttpResponseRedirect(changelist)
