"""Admin for user resolution rules and the two kinds of exclusion rule."""

from django.contrib import admin

from ..models import (
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from .filters import InForceFilter, rule_in_force
from .strict import StrictModelAdmin


@admin.register(UserResolutionRule)
class UserResolutionRuleAdmin(StrictModelAdmin):
    list_display = (
        "name",
        "transform",
        "match_domain",
        "new_domain",
        "alias_email",
        "person",
        "profile_names",
        "priority",
        "active",
    )
    list_filter = ("active", "transform", "profiles")
    list_select_related = ("person",)
    search_fields = ("name", "match_domain", "new_domain", "alias_email", "person__email")
    autocomplete_fields = ("profiles", "person")
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("profiles")

    @admin.display(description="profiles")
    def profile_names(self, obj):
        return ", ".join(p.name for p in obj.profiles.all()) or "All profiles"


class ExclusionRuleAdmin(StrictModelAdmin):
    readonly_fields = ("created_at",)

    @admin.display(description="in force", boolean=True)
    def in_force(self, obj):
        return rule_in_force(obj)


@admin.register(SubscriptionIdentifierExclusionRule)
class SubscriptionIdentifierExclusionRuleAdmin(ExclusionRuleAdmin):
    list_display = ("pattern", "profile", "reason", "active", "valid_until", "in_force")
    list_filter = (InForceFilter, "active", "profile")
    list_select_related = ("profile",)
    search_fields = ("pattern", "reason")
    autocomplete_fields = ("profile",)


@admin.register(SubscriptionUserExclusionRule)
class SubscriptionUserExclusionRuleAdmin(ExclusionRuleAdmin):
    list_display = (
        "__str__",
        "email_pattern",
        "department",
        "cost_center",
        "role",
        "exclude_from_cost",
        "exclude_from_reclamation",
        "reason",
        "active",
        "valid_until",
        "in_force",
    )
    list_filter = (
        InForceFilter,
        "active",
        "exclude_from_cost",
        "exclude_from_reclamation",
        "department",
        "cost_center",
    )
    list_select_related = ()
    search_fields = ("email_pattern", "department", "cost_center", "role", "reason")
