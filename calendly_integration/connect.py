"""The OAuth 2.0 authorization-code flow with PKCE, as service functions the views call.

State and the PKCE verifier live in the server-side session (database-backed), keyed by state,
valid 10 minutes (Calendly's code lifetime) and usable once, so a replayed callback is refused.
"""

from __future__ import annotations

import secrets
import time

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from sam_saas.models import ConnectionAlias, IntegrationProfile
from sam_saas.services import lifecycle
from sam_saas.services.connections import OrganizationTaken, record_check

from . import oauth
from .client import CalendlyClient, StaticToken
from .connection import check_connection
from .constants import DEFAULT_API_URL, DEFAULT_AUTH_URL
from .errors import CalendlyError
from .tokens import store_tokens

SESSION_KEY = "calendly_oauth_pending"
STATE_TTL_SECONDS = 600


class ConnectError(Exception):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


def redirect_uri(request) -> str:
    """The callback URL to register in Calendly's developer portal. Fixed by setting in
    production (behind proxies the request's host may differ from the public one)."""
    configured = getattr(settings, "CALENDLY_REDIRECT_URI", "")
    if configured:
        return configured
    return request.build_absolute_uri(reverse("calendly:oauth-callback"))


def start(request, alias: ConnectionAlias) -> str:
    """Remember state + verifier for this alias and return the authorization URL."""
    if alias.auth_type != ConnectionAlias.AuthType.OAUTH2:
        raise ConnectError(
            f"{alias} uses a personal access token; only OAuth aliases connect this way."
        )
    app = alias.oauth_app
    if not app.client_id or not app.client_secret:
        raise ConnectError(
            "The OAuth app has no client id or secret.",
            hint=f"Set them on the parent alias {app.name!r}.",
        )
    verifier, challenge = oauth.make_pkce_pair()
    state = secrets.token_urlsafe(32)
    pending = {
        k: v
        for k, v in request.session.get(SESSION_KEY, {}).items()
        if v["at"] > time.time() - STATE_TTL_SECONDS
    }
    pending[state] = {"alias": alias.pk, "verifier": verifier, "at": time.time()}
    request.session[SESSION_KEY] = pending
    return oauth.authorization_url(
        alias.effective_auth_base_url(DEFAULT_AUTH_URL),
        app.client_id,
        redirect_uri(request),
        state,
        challenge,
    )


def finish(request, state: str, code: str) -> ConnectionAlias:
    """Check state, exchange the code, store the tokens encrypted, validate the connection and
    publish the alias's draft profile."""
    pending = request.session.get(SESSION_KEY, {})
    entry = pending.pop(state, None) if state else None
    request.session[SESSION_KEY] = pending  # single use, whatever happens next
    if entry is None or entry["at"] < time.time() - STATE_TTL_SECONDS:
        raise ConnectError(
            "The authorization answer does not match a connection started here (unknown, "
            "expired or already used state).",
            hint="Press “Connect to Calendly” again.",
        )
    alias = ConnectionAlias.objects.select_related("parent").get(pk=entry["alias"])
    app = alias.oauth_app
    try:
        token = oauth.exchange_code(
            alias.effective_auth_base_url(DEFAULT_AUTH_URL),
            app.client_id,
            app.client_secret,
            code,
            redirect_uri(request),
            entry["verifier"],
        )
    except CalendlyError as exc:
        raise ConnectError(str(exc), hint=exc.hint) from exc
    with transaction.atomic():
        alias = (
            ConnectionAlias.objects.select_for_update(of=("self",))
            .select_related("parent")
            .get(pk=alias.pk)
        )
        store_tokens(alias, token)
    validate_after_connect(alias, token.access_token)
    return alias


def forget_tokens(alias: ConnectionAlias, exc: OrganizationTaken) -> None:
    """A refused connection keeps no credentials: the alias is Not connected again, saying
    which profile holds the organization."""
    ConnectionAlias.objects.filter(pk=alias.pk).update(
        access_token="",
        refresh_token="",
        token_expires_at=None,
        granted_scopes=[],
        connection_status=ConnectionAlias.ConnectionStatus.NOT_CONNECTED,
        status_message=f"{exc} {exc.hint}".strip(),
    )


def validate_after_connect(alias: ConnectionAlias, access_token: str) -> None:
    client = CalendlyClient(
        base_url=alias.effective_api_base_url(DEFAULT_API_URL),
        token_source=StaticToken(access_token),
        **settings.CALENDLY_CLIENT,
    )
    with client:
        try:
            check = check_connection(client, alias)
        except CalendlyError as exc:
            raise ConnectError(f"Connected, but validation failed: {exc}", hint=exc.hint) from exc
    for profile in IntegrationProfile.objects.filter(alias=alias).select_related("alias"):
        try:
            record_check(profile, check)  # raises ConnectorError for a non-admin account
        except OrganizationTaken as exc:
            forget_tokens(alias, exc)
            raise ConnectError(str(exc), hint=exc.hint) from exc
        # Connecting validates every enabled process; publishing stays the manager's step.
        lifecycle.validate(profile)
