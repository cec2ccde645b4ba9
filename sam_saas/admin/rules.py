"""Admin for user resolution rules and the two kinds of exclusion rule."""

from django.contrib import admin, messages

from ..models import (
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from ..services import rejudge
from .filters import InForceFilter, rule_in_force
from .strict import StrictModelAdmin
from .unsaved import UnsavedFormMixin


class AppliesAtOnceMixin:
    """Saving, changing (deactivating included) or deleting a rule re-judges the stored seats
    it can affect, at once or as a job (``services.rejudge``), and the message says how many
    changed. The scope before the change is kept on the request: a rule moved from one
    profile to another re-judges both."""

    def save_model(self, request, obj, form, change):
        before = type(obj).objects.filter(pk=obj.pk).first() if change else None
        request._rules_scope_before = rejudge.scope_of(before) if before else set()
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        scope = rejudge.union(
            getattr(request, "_rules_scope_before", set()), rejudge.scope_of(form.instance)
        )
        self._apply(request, scope)

    def delete_model(self, request, obj):
        scope = rejudge.scope_of(obj)
        super().delete_model(request, obj)
        self._apply(request, scope)

    def delete_queryset(self, request, queryset):
        scope = rejudge.union(*(rejudge.scope_of(rule) for rule in queryset))
        super().delete_queryset(request, queryset)
        self._apply(request, scope)

    def _apply(self, request, scope):
        outcome = rejudge.apply_at_once(scope)
        self.message_user(request, outcome.summary(), messages.INFO)


@admin.register(UserResolutionRule)
class UserResolutionRuleAdmin(AppliesAtOnceMixin, StrictModelAdmin):
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


class ExclusionRuleAdmin(UnsavedFormMixin, AppliesAtOnceMixin, StrictModelAdmin):
    """Exclusion rules apply at once, and their form says how many seats they match now
    ("Count matches" counts the settings in the form without saving)."""

    change_form_template = "admin/sam_saas/exclusion_rule_change_form.html"
    readonly_fields = ("created_at", "matches_now")

    @admin.display(description="matches now")
    def matches_now(self, obj):
        if obj is None or obj.pk is None:
            return "Save, or press “Count matches”, to see how many seats it matches."
        return matches_text(rejudge.matching_seats(obj).count())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and "_count_matches" in request.POST:
            return self._count_view(request, object_id, form_url, extra_context or {})
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _count_view(self, request, object_id, form_url, extra_context):
        """Validate the posted form and count what it would match; save nothing."""

        def judge(rule):
            if rule is None:
                return {"match_count": None, "counted": True}
            return {
                "match_count": matches_text(rejudge.matching_seats(rule).count()),
                "counted": True,
            }

        return self.render_unsaved(request, object_id, form_url, extra_context, judge)

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


def matches_text(count: int) -> str:
    return f"matches {count} seat{'s' if count != 1 else ''} now"
