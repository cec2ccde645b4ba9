"""Admin for user resolution rules and the two kinds of exclusion rule."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied

from ..models import (
    SubscriptionIdentifierExclusionRule,
    SubscriptionUserExclusionRule,
    UserResolutionRule,
)
from ..services import rejudge
from .filters import InForceFilter, rule_in_force


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
class UserResolutionRuleAdmin(AppliesAtOnceMixin, admin.ModelAdmin):
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


class ExclusionRuleAdmin(AppliesAtOnceMixin, admin.ModelAdmin):
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
        obj = None
        if object_id:
            obj = self.get_object(request, unquote(object_id))
            if obj is None:
                return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
            if not self.has_change_permission(request, obj):
                raise PermissionDenied
        elif not self.has_add_permission(request):
            raise PermissionDenied
        fieldsets = self.get_fieldsets(request, obj)
        form_class = self.get_form(
            request, obj, change=obj is not None, fields=flatten_fieldsets(fieldsets)
        )
        form = form_class(request.POST, request.FILES, instance=obj)
        count = rejudge.matching_seats(form.instance).count() if form.is_valid() else None
        admin_form = helpers.AdminForm(
            form,
            list(fieldsets),
            self.get_prepopulated_fields(request, obj),
            self.get_readonly_fields(request, obj),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Change' if obj else 'Add'} {self.opts.verbose_name}",
            "subtitle": str(obj) if obj else None,
            "adminform": admin_form,
            "object_id": object_id,
            "original": obj,
            "is_popup": False,
            "to_field": None,
            "media": self.media + admin_form.media,
            "inline_admin_formsets": [],
            "errors": helpers.AdminErrorList(form, []),
            "preserved_filters": self.get_preserved_filters(request),
            "match_count": matches_text(count) if count is not None else None,
            "counted": True,
            **extra_context,
        }
        request.current_app = self.admin_site.name
        return self.render_change_form(
            request, context, add=obj is None, change=obj is not None, obj=obj, form_url=form_url
        )

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
