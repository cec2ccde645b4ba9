"""``/dashboard/``: the overview dashboard (linked first from the admin index).

The figures come from :mod:`sam_saas.services.dashboard`; this view only checks the
permission and reads the page's form (headroom, profile, software model, publisher), which
works typed into the URL as well. An invalid value answers 400 with the form and its error."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse

from .forbidden import MissingPermission
from .services import dashboard as dashboard_service
from .services.dashboard.filters import DashboardForm
from .services.positions import EVERYTHING

DASHBOARD_PERMISSION = "sam_saas.view_softwaresubscription"


def dashboard(request):
    """The overview dashboard (linked first from the admin index)."""
    user = request.user
    if not (
        user.has_perm(DASHBOARD_PERMISSION) or user.has_perm("sam_saas.change_softwaresubscription")
    ):
        raise MissingPermission(DASHBOARD_PERMISSION, "sam_saas.change_softwaresubscription")
    form = DashboardForm(request.GET)
    valid = form.is_valid()
    headroom = form.cleaned_data.get("headroom") if valid else None
    scope = form.scope() if valid else EVERYTHING
    board = dashboard_service.build(user, headroom_percent=headroom, scope=scope)
    if valid and headroom is None:
        form = DashboardForm({**request.GET.dict(), "headroom": int(board.headroom_percent)})
        form.is_valid()
    context = {
        **admin.site.each_context(request),
        "title": "Overview",
        "dashboard": board,
        "form": form,
        "filtered": valid and not scope.is_everything,
    }
    return TemplateResponse(
        request, "sam_saas/dashboard.html", context, status=200 if valid else 400
    )


dashboard_view = admin.site.admin_view(dashboard)
