"""The candidate's page in the admin: its evidence, why it was raised, its saving, the rule's
settings when it was raised, its trail of events, and the buttons of the actions valid for its
state (each opens the same confirmation page as the list's action, ``candidates``).

Every field is read-only: a candidate moves only through the workflow's actions. The page
reads the seat, the person and their manager with one ``select_related``.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.urls import reverse
from django.utils.html import format_html

from ..models import CandidateEvent, ReclamationRule
from ..services.actions import ADMIN_ACTIONS, Action
from ..services.identification import explain
from ..services.savings import savings_note as provider_savings_note
from ..services.wording import provider_label

FROM_PAGE = "_from_page"  # the confirmation page was opened from the candidate's page


class CandidateEventInline(admin.TabularInline):
    """The candidate's trail: who moved it, when, from which state to which, and why."""

    model = CandidateEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor_label", "from_state", "to_state", "note")
    readonly_fields = fields
    ordering = ("at", "pk")
    verbose_name = "event"
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CandidatePageMixin:
    """The page half of ``ReclamationCandidateAdmin``; the host provides ``_allowed`` (who may
    run an action) and the ``savings`` column the page shows too."""

    inlines = (CandidateEventInline,)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "state",
                    "status_message",
                    "justification",
                    "why",
                    "user_principal_name",
                    "user_name",
                    "department",
                    "cost_center",
                    "seat_kind",
                    "subscription_link",
                    "seat_decision",
                )
            },
        ),
        (
            "Evidence",
            {
                "fields": (
                    "last_activity_summary",
                    "last_activity_at",
                    "last_activity_source",
                    "last_activity_evidence",
                    "inactive_days",
                    "manager",
                    "proposed_reason",
                )
            },
        ),
        ("Savings", {"fields": ("savings", "savings_note")}),
        (
            "Rule and profile",
            {"fields": ("profile_name", "provider", "rule_name", "rule_settings")},
        ),
        (
            "Workflow",
            {
                "fields": (
                    "created_at",
                    "state_changed_at",
                    "closed_at",
                    "notified_at",
                    "respond_by",
                    "user_response",
                    "responded_at",
                    "manager_email",
                    "attention_cause",
                )
            },
        ),
    )
    # Every field on the page is read-only: candidates move only through the workflow actions.
    readonly_fields = flatten_fieldsets(fieldsets)

    change_form_template = "admin/reclamation/reclamationcandidate/change_form.html"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_change"):
            # The candidate's page: its evidence reads the seat, the person and the manager.
            qs = qs.select_related("subscription", "person__manager", "profile")
        return qs

    @admin.display(description="inactive days", ordering="-last_activity_at")
    def inactive_days(self, obj):
        days = obj.inactive_days
        return "never active" if days is None else days

    @admin.display(description="note")
    def savings_note(self, obj):
        return provider_savings_note(obj.provider)

    @admin.display(description="last activity")
    def last_activity_summary(self, obj):
        """The evidence in one line; a never-active seat says since when it exists."""
        vendor = provider_label(obj.provider)
        if obj.last_activity_at is not None:
            parts = [f"{obj.last_activity_at:%Y-%m-%d %H:%M} UTC"]
            if obj.last_activity_source:
                parts.append(f"from {obj.last_activity_source}")
            if obj.last_activity_evidence:
                parts.append(f"({obj.last_activity_evidence})")
            return " ".join(parts)
        subscription = obj.subscription if obj.subscription_id else None
        created = getattr(subscription, "external_created_at", None)
        if created is not None:
            return f"never active since the seat was created at {vendor} on {created:%Y-%m-%d}"
        seen = getattr(subscription, "first_seen_at", None)
        if seen is not None:
            return f"never active since the seat was first seen at {vendor} on {seen:%Y-%m-%d}"
        return "never active"

    @admin.display(description="manager")
    def manager(self, obj):
        person = obj.person if obj.person_id else None
        manager = getattr(person, "manager", None)
        if manager is None:
            return "— (none on record: SAM approvers decide)"
        return str(manager)

    @admin.display(description="why it was raised")
    def why(self, obj):
        return explain(obj)

    @admin.display(description="message")
    def status_message(self, obj):
        if obj.hint:
            return format_html("{}<br><strong>Hint:</strong> {}", obj.message, obj.hint)
        return obj.message or "—"

    @admin.display(description="subscription")
    def subscription_link(self, obj):
        if obj.subscription_id is None:
            return "— (no longer exists)"
        url = reverse("admin:sam_saas_softwaresubscription_change", args=[obj.subscription_id])
        return format_html('<a href="{}">{}</a>', url, obj.user_principal_name)

    @admin.display(description="decision to keep the seat")
    def seat_decision(self, obj):
        subscription = obj.subscription
        if subscription is None:
            return "—"
        return subscription.keep_summary() or "None: the seat may be proposed again."

    @admin.display(description="rule settings when raised")
    def rule_settings(self, obj):
        snapshot = obj.rule_snapshot or {}
        fields = {f.name: f.verbose_name for f in ReclamationRule._meta.fields}
        return "; ".join(
            f"{fields.get(k, k)}: {v}"
            for k, v in snapshot.items()
            if k in ReclamationRule.SNAPSHOT_FIELDS
        )

    def page_actions(self, request, obj) -> list[Action]:
        """The actions valid for this candidate's state that this user may run."""
        return [
            a
            for a in ADMIN_ACTIONS.values()
            if a.applies_to(obj) and self._allowed(request, a.permission)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra_context = dict(extra_context or {})
        if obj is not None:
            extra_context["candidate_actions"] = self.page_actions(request, obj)
            extra_context["from_page_field"] = FROM_PAGE
        return super().change_view(request, object_id, form_url, extra_context)
