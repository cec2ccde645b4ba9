""" "Propose for reclamation" on the subscription list, registered from this app: the core's
subscription admin knows nothing of reclamation (issue 12), so the action is added to its
registered ``ModelAdmin`` here, with the permission it needs (changing candidates).

The action opens a page listing the selected seats and what proposing does to each, and asks
for the justification; confirming raises the manual candidates (``services.proposals``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from sam_saas.models import SoftwareSubscription

from ..services import proposals

PERMISSION = "reclamation.change_reclamationcandidate"


def has_propose_permission(request) -> bool:
    return request.user.is_active and request.user.has_perm(PERMISSION)


@admin.action(description="Propose for reclamation (with justification)…", permissions=["propose"])
def propose_for_reclamation(modeladmin, request, queryset):
    if not has_propose_permission(request):
        raise PermissionDenied
    subscriptions = list(queryset.select_related("profile__reclamation_rule", "person"))
    justification = (request.POST.get("justification") or "").strip()
    error = ""
    if "apply" in request.POST:
        if not justification:
            error = "A justification is required."
        else:
            result = proposals.propose(subscriptions, request.user, justification)
            return _report(modeladmin, request, result)
    open_ids = proposals.open_candidate_ids(s.pk for s in subscriptions)
    opts = modeladmin.opts
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Propose for reclamation",
        "opts": opts,
        "app_label": opts.app_label,
        "rows": [(s, proposals.describe(s, open_ids)) for s in subscriptions],
        "justification": justification,
        "error": error,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(request, "admin/reclamation/propose.html", context)


def _report(modeladmin, request, result: proposals.ProposalResult):
    if result.created:
        modeladmin.message_user(
            request,
            f"Propose for reclamation: {len(result.created)} manual candidate(s) raised.",
            messages.SUCCESS,
        )
    if result.skipped:
        names = dict(
            SoftwareSubscription.objects.filter(pk__in=list(result.skipped)).values_list(
                "pk", "user_principal_name"
            )
        )
        text = " · ".join(f"{names.get(pk, pk)}: {why}" for pk, why in result.skipped.items())
        modeladmin.message_user(
            request,
            f"Propose for reclamation: {len(result.skipped)} seat(s) skipped. {text}",
            messages.WARNING,
        )
    if len(result.created) == 1:
        return HttpResponseRedirect(
            reverse("admin:reclamation_reclamationcandidate_change", args=[result.created[0]])
        )
    return None


def register(site=admin.site) -> None:
    """Add the action to the registered subscription admin (once)."""
    model_admin = site.get_model_admin(SoftwareSubscription)
    if propose_for_reclamation not in (model_admin.actions or ()):
        model_admin.actions = (*(model_admin.actions or ()), propose_for_reclamation)
    model_admin.has_propose_permission = has_propose_permission
