"""OAuth views: "Connect to Calendly" and the callback Calendly redirects back to."""

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse

from sam_saas.connectors import ConnectorError
from sam_saas.models import ConnectionAlias, IntegrationProfile

from . import connect

CHANGE_ALIAS = "sam_saas.change_connectionalias"

# Reference: RFC 6749 §4.1.2.1 (the error codes of an authorization response). The callback
# is a URL anyone can send an administrator, so only these codes pick a message; the
# attacker-controlled ``error_description`` (and any unknown code) is never shown.
AUTHORIZATION_ERRORS = {
    "access_denied": "the Calendly user declined the authorization request.",
    "invalid_request": "Calendly found the authorization request malformed.",
    "unauthorized_client": "the Calendly OAuth app is not allowed to request authorization.",
    "unsupported_response_type": "the Calendly OAuth app does not accept this kind of request.",
    "invalid_scope": "the requested scopes are not enabled for the Calendly OAuth app.",
    "server_error": "Calendly failed while authorizing.",
    "temporarily_unavailable": "Calendly is temporarily unable to authorize; try again later.",
}
AUTHORIZATION_ERROR_OTHER = "Calendly answered with an error."
AUTHORIZATION_ERROR_HINT = (
    "Check the OAuth app's redirect URI and scopes in Calendly's developer portal, then press "
    "“Connect to Calendly” again."
)


def _alias_page(alias):
    return reverse("admin:sam_saas_connectionalias_change", args=[alias.pk])


@staff_member_required
def connect_alias(request, alias_id: int):
    if not request.user.has_perm(CHANGE_ALIAS):
        raise PermissionDenied
    alias = get_object_or_404(ConnectionAlias.objects.select_related("parent"), pk=alias_id)
    try:
        return redirect(connect.start(request, alias))
    except connect.ConnectError as exc:
        messages.error(request, f"{exc} {exc.hint}".strip())
        return redirect(_alias_page(alias))


@staff_member_required
def connect_profile(request, profile_id: int):
    profile = get_object_or_404(IntegrationProfile, pk=profile_id)
    return connect_alias(request, profile.alias_id)


@staff_member_required
def oauth_callback(request):
    if not request.user.has_perm(CHANGE_ALIAS):
        raise PermissionDenied
    if request.GET.get("error"):
        reason = AUTHORIZATION_ERRORS.get(request.GET["error"], AUTHORIZATION_ERROR_OTHER)
        messages.error(
            request,
            f"Calendly did not authorize the connection: {reason} {AUTHORIZATION_ERROR_HINT}",
        )
        return redirect(reverse("admin:sam_saas_connectionalias_changelist"))
    try:
        alias = connect.finish(request, request.GET.get("state", ""), request.GET.get("code", ""))
    except (connect.ConnectError, ConnectorError) as exc:
        messages.error(request, f"{exc} {getattr(exc, 'hint', '')}".strip())
        return redirect(reverse("admin:sam_saas_connectionalias_changelist"))
    messages.success(request, f"{alias} is connected to Calendly.")
    profile = IntegrationProfile.objects.filter(alias=alias).first()
    if profile:
        return redirect(reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk]))
    return redirect(_alias_page(alias))
