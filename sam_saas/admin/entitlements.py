"""Admin for entitlements: purchased rights for a software model."""

from django.contrib import admin
from django.utils import timezone

from ..models import Entitlement
from .filters import SoftwareModelListFilter


@admin.register(Entitlement)
class EntitlementAdmin(admin.ModelAdmin):
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
