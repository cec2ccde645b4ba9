"""Admin for reclamation rules: the review list and the change page with its preview
("Preview" validates the posted settings and shows what they would produce, saving nothing)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import Count, Q

from sam_saas.admin.strict import StrictModelAdmin
from sam_saas.admin.unsaved import UnsavedFormMixin

from ..models import OPEN_STATES, ReclamationRule
from ..services.preview import preview
from ..services.savings import render_savings
from ..services.stored_preview import saved_rule_preview


@admin.register(ReclamationRule)
class ReclamationRuleAdmin(UnsavedFormMixin, StrictModelAdmin):
    """Rules are auto-created per profile and listed for review (``needs_review``); saving
    one counts as reviewing it. The change page previews what the settings in the form would
    produce ("Preview" does not save)."""

    change_form_template = "admin/reclamation/reclamationrule/change_form.html"
    list_display = (
        "name",
        "profile",
        "active",
        "needs_review",
        "inactivity_days",
        "grace_days",
        "invitation_days",
        "require_approval",
        "notify_user",
        "open_candidates",
    )
    list_filter = ("active", "needs_review", "require_approval", "notify_user")
    list_select_related = ("profile",)
    search_fields = ("name", "profile__name")
    autocomplete_fields = ("profile",)
    readonly_fields = ("needs_review", "savings", "created_at", "updated_at")
    actions = ("activate", "deactivate")
    fieldsets = (
        (None, {"fields": ("name", "profile", "active", "needs_review")}),
        (
            "Which seats become candidates",
            {
                "fields": (
                    "inactivity_days",
                    "grace_days",
                    "include_never_active",
                    "invitation_days",
                    "reclaim_leavers",
                ),
                "description": "Never candidates: the owner, the connection's own account, "
                "seats excluded from reclamation and seats inside the grace period.",
            },
        ),
        (
            "Workflow",
            {
                "fields": (
                    "require_approval",
                    "notify_user",
                    "days_before_reclaim",
                    "propose_again_after_days",
                )
            },
        ),
        ("Savings", {"fields": ("savings", "created_at", "updated_at")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("profile")
            .annotate(
                open_candidate_count=Count(
                    "candidates", filter=Q(candidates__state__in=OPEN_STATES)
                )
            )
        )

    @admin.display(description="open candidates", ordering="open_candidate_count")
    def open_candidates(self, obj):
        return getattr(obj, "open_candidate_count", 0)

    @admin.display(description="savings")
    def savings(self, obj):
        if obj is None or obj.pk is None:
            return "Shown once the rule is saved."
        return render_savings(rule=obj)

    def save_model(self, request, obj, form, change):
        obj.needs_review = False  # a SAM manager saved it: reviewed
        super().save_model(request, obj, form, change)

    @admin.action(description="Activate selected rules", permissions=["change"])
    def activate(self, request, queryset):
        count = queryset.update(active=True)
        self.message_user(request, f"Activated {count} rule(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected rules", permissions=["change"])
    def deactivate(self, request, queryset):
        count = queryset.update(active=False)
        self.message_user(
            request,
            f"Deactivated {count} rule(s). Their open candidates stay open.",
            messages.SUCCESS,
        )

    # -- preview -------------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        if request.method == "POST" and "_preview" in request.POST:
            return self._preview_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and object_id:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                # The stored figures (bounded: no aggregate over the seats); "Preview" below
                # runs the live one for the settings typed in.
                extra_context["preview"] = saved_rule_preview(obj)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _preview_view(self, request, object_id, form_url, extra_context):
        """Validate the posted form and preview it; render the same page, save nothing."""
        return self.render_unsaved(
            request,
            object_id,
            form_url,
            extra_context,
            lambda rule: {
                "preview": preview(rule) if rule is not None else None,
                "previewed": True,
            },
        )
