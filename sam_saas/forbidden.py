"""The 403 page: inside the admin's frame, saying which permission was missing and which
groups grant it, instead of Django's bare "403 Forbidden".

Views that know exactly what they needed raise :class:`MissingPermission` with the
permission names. For Django's own admin views the permission is read from the URL that was
refused (``admin:<app>_<model>_<view>``): the changelist and object pages need "view" (or
"change" when posting), "add" and "delete" pages need those.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse

# The suffix of an admin URL name → the permission action it needs.
ADMIN_VIEW_ACTIONS = {
    "changelist": "view",
    "change": "view",
    "history": "view",
    "add": "add",
    "delete": "delete",
}


class MissingPermission(PermissionDenied):
    """PermissionDenied that names what was needed: ``"app_label.codename"``, any one of them
    granting the right (``every=True``: all of them are needed)."""

    def __init__(self, *permissions: str, every: bool = False, message: str = ""):
        self.permissions = tuple(permissions)
        self.every = every
        joiner = " and " if every else " or "
        super().__init__(message or f"needs {joiner.join(permissions)}")


def permissions_from_admin_url(request) -> tuple[str, ...]:
    """The permissions a refused admin page needed, read from its URL name."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.namespace != admin.site.name or not match.url_name:
        return ()
    for model in admin.site._registry:
        opts = model._meta
        prefix = f"{opts.app_label}_{opts.model_name}_"
        if not match.url_name.startswith(prefix):
            continue
        action = ADMIN_VIEW_ACTIONS.get(match.url_name[len(prefix) :])
        if action is None:
            action = "view"  # the product's own pages on a model need at least to view it
        if action == "view" and request.method == "POST":
            action = "change"
        permissions = [f"{opts.app_label}.{action}_{opts.model_name}"]
        if action == "view":  # Django's rule: change implies view
            permissions.append(f"{opts.app_label}.change_{opts.model_name}")
        return tuple(permissions)
    return ()


def explain(permissions: tuple[str, ...]) -> list[dict]:
    """Each permission with its name and the groups that grant it (one query for all)."""
    if not permissions:
        return []
    condition = Q()
    for permission in permissions:
        app_label, _, codename = permission.partition(".")
        condition |= Q(content_type__app_label=app_label, codename=codename)
    rows = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.filter(condition)
        .select_related("content_type")
        .prefetch_related("group_set")
    }
    explained = []
    for permission in permissions:
        row = rows.get(permission)
        explained.append(
            {
                "codename": permission,
                "name": row.name if row else permission,
                "groups": sorted(g.name for g in row.group_set.all()) if row else [],
            }
        )
    return explained


def permission_denied(request, exception=None):
    """``handler403``: the admin's frame for signed-in staff, the plain page otherwise."""
    permissions = getattr(exception, "permissions", ()) or permissions_from_admin_url(request)
    user = getattr(request, "user", None)
    staff = bool(user and user.is_active and user.is_staff)
    context = {
        **(admin.site.each_context(request) if staff else {}),
        "title": "You do not have permission to open this page",
        "needed": explain(permissions),
        "every": getattr(exception, "every", False),
        "staff": staff,
        "all_groups": list(Group.objects.order_by("name").values_list("name", flat=True))
        if staff
        else [],
    }
    response = TemplateResponse(request, "403.html", context, status=403)
    return response.render()
