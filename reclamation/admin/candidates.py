"""Admin for the candidate worklist.

Every candidate action goes through a confirmation page that lists the selected candidates and
what will happen to each; submitting it re-checks the permission, and the state is re-checked
by the compare-and-set in ``services.transitions``. The result message says what was done and
what was skipped, and why (the bulk transitions of Ralph, the open-source Django asset
manager, made race-free).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import capfirst

from sam_saas.admin.export import ExportCsvMixin
from sam_saas.models import JobRun
from sam_saas.money import format_amount
from sam_saas.services import jobs

from ..kinds import JobKind
from ..models import CandidateEvent, ReclamationCandidate, ReclamationRule
from ..services import decisions, workflow
from ..services.identification import explain

State = ReclamationCandidate.State
APPROVE_PERMISSION = "reclamation.approve_reclamationcandidate"
MAX_LISTED = 20


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


@admin.register(ReclamationCandidate)
class ReclamationCandidateAdmin(ExportCsvMixin, admin.ModelAdmin):
    """The worklist. Columns come from the candidate's own snapshot, so the page needs no
    join and no query per row whatever its length."""

    export_report = "candidates"

    change_list_template = "admin/reclamation/reclamationcandidate/change_list.html"
    list_display = (
        "person_name",
        "user_principal_name",
        "department",
        "profile_name",
        "justification",
        "inactive_days",
        "last_activity",
        "savings",
        "state",
    )
    list_display_links = ("person_name", "user_principal_name")
    list_filter = (
        "state",
        "justification",
        ("profile", admin.RelatedOnlyFieldListFilter),
        ("rule", admin.RelatedOnlyFieldListFilter),
        ("department", admin.AllValuesFieldListFilter),
    )
    search_fields = ("user_principal_name", "user_name", "department", "profile_name")
    actions = (
        "approve",
        "reject",
        "reclaim_now",
        "close_skipped",
        "close_complete",
        "propose_again_now",
    )
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
                    "last_activity_at",
                    "last_activity_source",
                    "last_activity_evidence",
                    "inactive_days",
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
                )
            },
        ),
    )
    readonly_fields = (
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
        "last_activity_at",
        "last_activity_source",
        "last_activity_evidence",
        "inactive_days",
        "savings",
        "savings_note",
        "profile_name",
        "provider",
        "rule_name",
        "rule_settings",
        "created_at",
        "state_changed_at",
        "closed_at",
        "notified_at",
        "respond_by",
        "user_response",
        "responded_at",
    )

    # -- permissions ---------------------------------------------------------------------------

    def has_add_permission(self, request):
        return False  # candidates are raised by identification only

    def has_change_permission(self, request, obj=None):
        # The model-level permission enables the actions; a candidate's own page stays
        # read-only (its state changes only through actions).
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # the audit trail stays, for superusers too

    def has_approve_permission(self, request):
        return request.user.is_active and request.user.has_perm(APPROVE_PERMISSION)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            actions.pop("delete_selected", None)
        return actions

    # -- columns -------------------------------------------------------------------------------

    @admin.display(description="person", ordering="user_name")
    def person_name(self, obj):
        return obj.user_name or "—"

    @admin.display(description="inactive days", ordering="-last_activity_at")
    def inactive_days(self, obj):
        days = obj.inactive_days
        return "never active" if days is None else days

    @admin.display(description="last activity", ordering="last_activity_at")
    def last_activity(self, obj):
        if obj.last_activity_at is None:
            return "never"
        source = f" ({obj.last_activity_source})" if obj.last_activity_source else ""
        return f"{obj.last_activity_at:%Y-%m-%d}{source}"

    @admin.display(description="potential savings / year", ordering="potential_savings")
    def savings(self, obj):
        if not obj.savings_known:
            return "unknown"
        return format_amount(obj.potential_savings, obj.currency)

    @admin.display(description="note")
    def savings_note(self, obj):
        from ..services.savings import savings_note

        return savings_note(obj.provider)

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

    @admin.action(
        description="Propose again now (lift the decision to keep)", permissions=["change"]
    )
    def propose_again_now(self, request, queryset):
        """Lift the keep decision of the selected candidates' seats and raise them again at
        once where the rule flags them."""
        subscription_ids = [
            pk for pk in queryset.values_list("subscription_id", flat=True) if pk is not None
        ]
        result = decisions.propose_again_now(subscription_ids, request.user)
        if not result.lifted:
            self.message_user(
                request, "None of the selected seats has a decision to keep.", messages.WARNING
            )
            return
        self.message_user(
            request,
            f"Decision to keep lifted on {len(result.lifted)} seat(s); {result.raised} raised "
            "as candidate(s) again.",
            messages.SUCCESS,
        )

    @admin.display(description="rule settings when raised")
    def rule_settings(self, obj):
        snapshot = obj.rule_snapshot or {}
        fields = {f.name: f.verbose_name for f in ReclamationRule._meta.fields}
        return "; ".join(
            f"{fields.get(k, k)}: {v}"
            for k, v in snapshot.items()
            if k in ReclamationRule.SNAPSHOT_FIELDS
        )

    # -- identify now --------------------------------------------------------------------------

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "identify/",
                self.admin_site.admin_view(self.identify_view),
                name="{}_{}_identify".format(*info),
            ),
            *super().get_urls(),
        ]

    def identify_view(self, request):
        """POST only: queue the global CANDIDATES job (the same job the daily beat runs)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        try:
            run = jobs.enqueue(None, JobKind.CANDIDATES, JobRun.Trigger.MANUAL)
        except jobs.JobAlreadyOpen as exc:
            self.message_user(
                request, f"{exc.existing} is already queued or running.", messages.WARNING
            )
            return HttpResponseRedirect(
                reverse("admin:reclamation_reclamationcandidate_changelist")
            )
        self.message_user(request, "Candidate identification was queued.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:sam_saas_jobrun_change", args=[run.pk]))

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            "can_identify": self.has_change_permission(request),
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra_context)

    # -- actions -------------------------------------------------------------------------------

    ACTIONS = {
        "approve": {
            "title": "Approve reclamation",
            "button": "Approve",
            "from": workflow.APPROVABLE,
            "permission": "approve",
            "reason": "optional",
        },
        "reject": {
            "title": "Reject reclamation",
            "button": "Reject",
            "from": workflow.REJECTABLE,
            "permission": "approve",
            "reason": "required",
        },
        "reclaim_now": {
            "title": "Reclaim now",
            "button": "Reclaim now",
            "from": workflow.RECLAIMABLE_NOW,
            "permission": "change",
            "reason": "optional",
        },
        "close_skipped": {
            "title": "Close skipped",
            "button": "Close skipped",
            "from": workflow.SKIPPABLE,
            "permission": "change",
            "reason": "optional",
        },
        "close_complete": {
            "title": "Close complete (removed by hand)",
            "button": "Close complete",
            "from": workflow.CLOSABLE_BY_HAND,
            "permission": "change",
            "reason": "optional",
        },
    }

    @admin.action(description="Approve selected candidates…", permissions=["approve"])
    def approve(self, request, queryset):
        return self._confirm_or_apply(request, queryset, "approve")

    @admin.action(description="Reject selected candidates (with reason)…", permissions=["approve"])
    def reject(self, request, queryset):
        return self._confirm_or_apply(request, queryset, "reject")

    @admin.action(description="Reclaim now…", permissions=["change"])
    def reclaim_now(self, request, queryset):
        return self._confirm_or_apply(request, queryset, "reclaim_now")

    @admin.action(description="Close skipped…", permissions=["change"])
    def close_skipped(self, request, queryset):
        return self._confirm_or_apply(request, queryset, "close_skipped")

    @admin.action(description="Close complete (removed by hand)…", permissions=["change"])
    def close_complete(self, request, queryset):
        return self._confirm_or_apply(request, queryset, "close_complete")

    def _allowed(self, request, permission: str) -> bool:
        if permission == "approve":
            return self.has_approve_permission(request)
        return self.has_change_permission(request)

    def _confirm_or_apply(self, request, queryset, name: str):
        spec = self.ACTIONS[name]
        # Re-checked here, not only by the action list: the confirmation page may have been
        # opened before a permission was withdrawn.
        if not self._allowed(request, spec["permission"]):
            raise PermissionDenied
        candidates = list(queryset.select_related("profile").order_by("pk"))
        reason = (request.POST.get("reason") or "").strip()
        error = ""
        if "apply" in request.POST:
            if spec.get("reason") == "required" and not reason:
                error = "A reason is required."
            else:
                self._apply(request, name, [c.pk for c in candidates], reason)
                return None
        return self._confirmation_page(request, name, spec, candidates, reason, error)

    def _apply(self, request, name: str, ids: list[int], reason: str):
        user = request.user
        if name == "approve":
            result = workflow.approve(ids, user, note=reason)
        elif name == "reject":
            result = workflow.reject(ids, user, reason)
        elif name == "reclaim_now":
            result = workflow.reclaim_now(ids, user, note=reason)
        elif name == "close_skipped":
            result = workflow.close_skipped(ids, user, note=reason)
        else:
            result = workflow.close_complete(ids, user, note=reason)
        self._report(request, name, result)

    def _report(self, request, name: str, result: workflow.ActionResult):
        title = self.ACTIONS[name]["title"]
        if result.done:
            parts = [f"{title}: {len(result.done)} candidate(s) done."]
            if result.notified:
                parts.append(f"{len(result.notified)} seat holder(s) e-mailed.")
            if result.queued:
                parts.append(f"{len(result.queued)} removal(s) queued.")
            if result.manual:
                parts.append(
                    f"{len(result.manual)} to remove by hand at the vendor (reclaiming is off "
                    "for their profile), then “Close complete (removed by hand)”."
                )
            self.message_user(request, " ".join(parts), messages.SUCCESS)
        if result.skipped:
            names = dict(
                ReclamationCandidate.objects.filter(pk__in=list(result.skipped)).values_list(
                    "pk", "user_principal_name"
                )
            )
            lines = [
                f"{names.get(pk, f'#{pk}')}: {why}"
                for pk, why in list(result.skipped.items())[:MAX_LISTED]
            ]
            more = len(result.skipped) - len(lines)
            text = f"{title}: {len(result.skipped)} candidate(s) skipped. " + " · ".join(lines)
            if more > 0:
                text += f" · and {more} more."
            self.message_user(request, text, messages.WARNING)
        if not result.done and not result.skipped:
            self.message_user(request, f"{title}: nothing to do.", messages.INFO)

    def _outcome(self, name: str, candidate: ReclamationCandidate, effects: dict) -> str:
        """What the action will do to this candidate, in words, for the confirmation page."""
        spec = self.ACTIONS[name]
        if candidate.state not in spec["from"]:
            return (
                f"Skipped: it is {candidate.get_state_display()}; only "
                f"{workflow._labels(spec['from'])} candidates qualify."
            )
        reclaim_on = bool(candidate.profile and candidate.profile.reclaim_enabled)
        provider = candidate.provider
        label = workflow.provider_label(provider)
        if reclaim_on and label not in effects:
            effects[label] = workflow.effect_text(provider)
        to_revocation = (
            f"→ Awaiting Revocation, then removed through the {label} API (see below)."
            if reclaim_on
            else "→ Awaiting Revocation. " + workflow.manual_text(provider)
        )
        if name == "approve":
            snapshot = candidate.rule_snapshot or {}
            if snapshot.get("notify_user"):
                days = snapshot.get("days_before_reclaim", 7)
                return (
                    f"→ Awaiting User: e-mail to {candidate.user_principal_name} with “I still "
                    f"need it” and “Release it”; reclaimed after {days} days without an answer."
                )
            return to_revocation
        if name == "reclaim_now":
            return to_revocation
        if name == "reject":
            return "→ Closed Skipped: the seat is kept."
        if name == "close_skipped":
            return "→ Closed Skipped: the seat is kept."
        return "→ Closed Complete: recorded as removed by hand; the subscription becomes reclaimed."

    def _confirmation_page(self, request, name, spec, candidates, reason, error):
        effects: dict[str, str] = {}
        rows = [(c, self._outcome(name, c, effects)) for c in candidates]
        context = {
            **self.admin_site.each_context(request),
            "title": spec["title"],
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "verbose_name_plural": capfirst(self.opts.verbose_name_plural),
            "rows": rows,
            "eligible": sum(1 for c in candidates if c.state in spec["from"]),
            "effects": sorted(effects.items()),
            "reason_mode": spec.get("reason", ""),
            "reason": reason,
            "error": error,
            "button": spec["button"],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": name,
            "select_across": request.POST.get("select_across", "0"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/reclamation/reclamationcandidate/confirm_action.html", context
        )
