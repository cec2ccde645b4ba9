"""``/dashboard/``: the overview dashboard (linked first from the admin index).

The figures come from :mod:`sam_saas.services.dashboard`; this view only checks the
permission and the ``headroom`` parameter."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpResponseBadRequest
from django.template.response import TemplateResponse

from .forbidden import MissingPermission
from .services import dashboard as dashboard_service

DASHBOARD_PERMISSION = "sam_saas.view_softwaresubscription"


def dashboard(request):
    """The overview dashboard (linked first from the admin index)."""
    user = request.user
    if not (
        user.has_perm(DASHBOARD_PERMISSION) or user.has_perm("sam_saas.change_softwaresubscription")
    ):
        raise MissingPermission(DASHBOARD_PERMISSION, "sam_saas.change_softwaresubscription")
    headroom = None
    raw = request.GET.get("headroom")
    if raw not in (None, ""):
        try:
            headroom = int(raw)
        except ValueError:
            return HttpResponseBadRequest("headroom must be a whole percentage from 0 to 100.\n")
        if not 0 <= headroom <= 100:
            return HttpResponseBadRequest("headroom must be a whole percentage from 0 to 100.\n")
    context = {
        **admin.site.each_context(request),
        "title": "Overview",
        "dashboard": dashboard_service.build(user, headroom_percent=headroom),
    }
    return TemplateResponse(request, "sam_saas/dashboard.html", context)


dashboard_view = admin.site.admin_view(dashboard)
