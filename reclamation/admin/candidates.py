"""Admin for the candidate worklist: its columns, filters, search and per-currency total,
"Identify candidates now", and the actions with their confirmation page. The candidate's own
page (evidence, trail, buttons) is ``candidate_page``.

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

from sam_saas.admin.export import ExportCsvMixin
from sam_saas.admin.filters import DirectoryDepartmentFilter, IndexedRelatedOnlyFilter
from sam_saas.admin.pagination import BoundedCountMixin
from sam_saas.admin.strict import StrictModelAdmin
from sam_saas.models import JobRun
from sam_saas.money import format_amount
from sam_saas.services import jobs

from ..kinds import JobKind
from ..models import ReclamationCandidate
from ..services import decisions, steps
from ..services.actions import ADMIN_ACTIONS, APPROVE, REQUIRED, Action
from ..services.savings import potential_total
from ..services.wording import effect_text, provider_label
from .candidate_page import FROM_PAGE, CandidatePageMixin
from .state_filter import CandidateStateFilter

State = ReclamationCandidate.State
APPROVE_PERMISSION = "reclamation.approve_reclamationcandidate"
MAX_LISTED = 20


@admin.register(ReclamationCandidate)
class ReclamationCandidateAdmin(
    CandidatePageMixin, BoundedCountMixin, ExportCsvMixin, StrictModelAdmin
):
    """The worklist. Columns come from the candidate's own snapshot, so the page needs no
    join and no query per row whatever its length."""

    export_report = "candidates"
    # The dashboard's open-candidate, savings and "reclaimed this year" links.
    allowed_lookups = ("state__in", "closed_at__gte", "currency", "savings_known")

    change_list_template = "admin/reclamation/reclamationcandidate/change_list.html"
    # State, who, why, how stale and how much first, so they fit 1280 px; the e-mail, the
    # last activity's date and source, and the evidence are on the candidate's page.
    list_display = (
        "person_name",
        "state",
        "justification",
        "inactive",
        "savings",
        "department",
        "profile_name",
    )
    list_display_links = ("person_name",)
    collapse_nav_sidebar = True
    list_filter = (
        ("state", CandidateStateFilter),
        "justification",
        # Choices by loose index scans, not DISTINCT over every candidate.
        ("profile", IndexedRelatedOnlyFilter),
        ("rule", IndexedRelatedOnlyFilter),
        DirectoryDepartmentFilter,
    )
    search_fields = ("user_principal_name", "user_name", "department", "profile_name")
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
        """The name, or the e-mail of a seat without a known person."""
        return obj.user_name or obj.user_principal_name

    @admin.display(description="inactive", ordering="-last_activity_at")
    def inactive(self, obj):
        """Compact: "61 d"; "never" for a seat never used."""
        days = obj.inactive_days
        return "never" if days is None else f"{days} d"

    @admin.display(description="saving / yr", ordering="potential_savings")
    def savings(self, obj):
        if not obj.savings_known:
            return "unknown"
        return format_amount(obj.potential_savings, obj.currency)

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
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            # The potential saving of the rows the filters and search select, per currency;
            # only when the list is counted exactly (at most 10,000 rows), so the page stays
            # bounded at a million candidates and never labels a capped count as the total's.
            cl = context["cl"]
            if getattr(cl.paginator, "count_is_exact", True):
                context["filtered_total"] = potential_total(cl.queryset).display("0")
            else:
                context["filtered_total_over"] = cl.paginator.count_label
        return response

    # -- actions ---------------------------------------------------------------------------------
    # Built from ``services.actions.ADMIN_ACTIONS``: the list actions, the buttons on a
    # candidate's page and the confirmation page all come from the same definitions.

    def _allowed(self, request, permission: str) -> bool:
        if permission == APPROVE:
            return self.has_approve_permission(request)
        return self.has_change_permission(request)

    def confirm_or_apply(self, request, queryset, action: Action):
        # Re-checked here, not only by the action list: the confirmation page may have been
        # opened before a permission was withdrawn.
        if not self._allowed(request, action.permission):
            raise PermissionDenied
        candidates = list(queryset.select_related("profile", "subscription").order_by("pk"))
        reason = (request.POST.get("reason") or "").strip()
        error = ""
        if "apply" in request.POST:
            if action.reason == REQUIRED and not reason:
                error = "A reason is required."
            else:
                result = action.run([c.pk for c in candidates], request.user, reason)
                self._report(request, action, result)
                return self._after(request, result, candidates)
        return self._confirmation_page(request, action, candidates, reason, error)

    def _after(self, request, result: steps.ActionResult, candidates):
        """Where to go once the action ran: to what it created (the exclusion rule), back to
        the candidate's page when it was started there, else the worklist (None)."""
        if len(result.created) == 1:
            obj = result.created[0]
            opts = obj._meta
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
            )
        if request.POST.get(FROM_PAGE) and len(candidates) == 1:
            return HttpResponseRedirect(self._page_url(candidates[0]))
        return None

    def _page_url(self, candidate) -> str:
        return reverse("admin:reclamation_reclamationcandidate_change", args=[candidate.pk])

    def _report(self, request, action: Action, result: steps.ActionResult):
        title = action.title
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
            if result.attention:
                parts.append(
                    f"{len(result.attention)} need attention: no person matches their seat, "
                    "so nobody can be notified."
                )
            if result.created:
                parts.append(
                    f"{len(result.created)} user exclusion rule(s) created: "
                    + ", ".join(str(o) for o in result.created[:MAX_LISTED])
                    + "."
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

    def _confirmation_page(self, request, action: Action, candidates, reason, error):
        effects: dict[str, str] = {}
        rows = []
        for c in candidates:
            rows.append((c, action.describe(c)))
            label = provider_label(c.provider)
            if (
                action.removes_seat
                and action.applies_to(c)
                and c.profile_id
                and c.profile.reclaim_enabled
                and label not in effects
            ):
                effects[label] = effect_text(c.provider)
        from_page = bool(request.POST.get(FROM_PAGE)) and len(candidates) == 1
        context = {
            **self.admin_site.each_context(request),
            "title": action.title,
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "rows": rows,
            "eligible": sum(1 for c in candidates if action.applies_to(c)),
            "selection_total": potential_total(
                ReclamationCandidate.objects.filter(pk__in=[c.pk for c in candidates])
            ).display("0"),
            "effects": sorted(effects.items()),
            "reason_mode": action.reason,
            "reason": reason,
            "error": error,
            "button": action.button,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action_name": action.name,
            "select_across": request.POST.get("select_across", "0"),
            "from_page": from_page,
            "back_url": self._page_url(candidates[0]) if from_page else "",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/reclamation/reclamationcandidate/confirm_action.html", context
        )


def _list_action(action: Action):
    """The admin list action of one workflow action (its confirmation page, then its run)."""

    def run(modeladmin, request, queryset):
        return modeladmin.confirm_or_apply(request, queryset, action)

    run.__name__ = action.name
    return admin.action(description=action.menu, permissions=[action.permission])(run)


# The workflow's actions, then the one about seats rather than candidates (keep decisions).
ReclamationCandidateAdmin.actions = (
    *(_list_action(a) for a in ADMIN_ACTIONS.values()),
    "propose_again_now",
)
