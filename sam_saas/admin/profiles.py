"""Admin for integration profiles: one connected vendor organization and its processes."""

from django.contrib import admin

from ..models import IntegrationProfile


@admin.register(IntegrationProfile)
class IntegrationProfileAdmin(admin.ModelAdmin):
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
    list_filter = ("status", "provider", "activity_enabled", "reclaim_enabled", "organization_plan")
    list_select_related = ("alias",)
    search_fields = ("name", "organization_name", "organization_uri", "alias__name")
    autocomplete_fields = ("alias",)
    readonly_fields = (
        "next_refresh_at",
        "organization_uri",
        "organization_name",
        "organization_plan",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        ("Connection", {"fields": ("name", "provider", "alias", "status")}),
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
