"""Access tokens for a connection alias, refreshed safely.

Calendly refresh tokens are single-use: a refresh returns a new pair and kills the old refresh
token. Two workers refreshing at once would leave one of them with a dead token and the alias
disconnected. So every refresh takes a row lock on the alias, re-reads it, and refreshes only if
nobody else already did; the new pair is saved in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from sam_saas.models import ConnectionAlias

from . import endpoints, oauth
from .constants import REFRESH_MARGIN_SECONDS
from .errors import CalendlyError, InvalidGrant, Unauthorized

logger = logging.getLogger(__name__)

RECONNECT_HINT = (
    "Open the profile in the admin and press “Connect to Calendly” to authorize again "
    "(the refresh token was revoked, expired or already used)."
)


def store_tokens(alias: ConnectionAlias, token: oauth.TokenResponse) -> None:
    alias.access_token = token.access_token
    alias.refresh_token = token.refresh_token or alias.refresh_token
    alias.token_expires_at = token.expires_at
    if token.scopes:
        alias.granted_scopes = token.scopes
    if token.owner:
        alias.account_uri = token.owner
    alias.connection_status = ConnectionAlias.ConnectionStatus.CONNECTED
    alias.status_message = ""
    alias.save(
        update_fields=[
            "access_token",
            "refresh_token",
            "token_expires_at",
            "granted_scopes",
            "account_uri",
            "connection_status",
            "status_message",
            "updated_at",
        ]
    )


def mark_reconnect_required(alias_id: int, message: str) -> None:
    ConnectionAlias.objects.filter(pk=alias_id).update(
        connection_status=ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED,
        status_message=f"{message} {RECONNECT_HINT}",
    )


class AliasTokenSource:
    """The client's :class:`~calendly_integration.client.TokenSource` for one alias.

    Keeps the token in memory and reads the database only when it nears expiry, so API calls
    cost no extra query."""

    def __init__(self, alias: ConnectionAlias, margin_seconds: int = REFRESH_MARGIN_SECONDS):
        self.alias_id = alias.pk
        self.margin = dt.timedelta(seconds=margin_seconds)
        self._token = alias.access_token
        self._expires_at = alias.token_expires_at
        self._oauth = alias.auth_type == ConnectionAlias.AuthType.OAUTH2

    def _fresh_enough(self) -> bool:
        return bool(self._token) and (
            self._expires_at is None or self._expires_at - self.margin > timezone.now()
        )

    def access_token(self) -> str:
        if not self._oauth:
            if not self._token:
                raise Unauthorized(
                    "The alias has no personal access token.",
                    hint="Paste a Calendly personal access token on the alias.",
                )
            return self._token
        if not self._fresh_enough():
            self._refresh(self._token, forced=False)
        return self._token

    def refresh_after_unauthorized(self, rejected_token: str) -> str:
        if not self._oauth:
            raise Unauthorized(
                "Calendly rejected the personal access token (revoked, expired or mistyped).",
                status=401,
                hint="Create a new personal access token in Calendly (Integrations > API & "
                "Webhooks) and save it on the alias.",
            )
        self._refresh(rejected_token, forced=True)
        return self._token

    def _refresh(self, seen_token: str, *, forced: bool) -> None:
        failure: CalendlyError | None = None
        with transaction.atomic():
            alias = (
                ConnectionAlias.objects.select_for_update(of=("self",))
                .select_related("parent")
                .get(pk=self.alias_id)
            )
            self._token, self._expires_at = alias.access_token, alias.token_expires_at
            if alias.access_token and alias.access_token != seen_token and self._fresh_enough():
                logger.info("alias %s: token already refreshed by another worker", alias.pk)
                return
            if not forced and self._fresh_enough():
                return
            if not alias.refresh_token:
                failure = InvalidGrant("The alias has no refresh token.", hint=RECONNECT_HINT)
            else:
                app = alias.oauth_app
                try:
                    token = oauth.refresh_token(
                        endpoints.auth_base_url(alias),
                        app.client_id,
                        app.client_secret,
                        alias.refresh_token,
                    )
                except InvalidGrant as exc:
                    exc.hint = RECONNECT_HINT
                    failure = exc
                else:
                    store_tokens(alias, token)
                    self._token, self._expires_at = token.access_token, token.expires_at
                    logger.info("alias %s: access token refreshed", alias.pk)
                    return
        # Outside the atomic block, so the status change is committed before we raise.
        mark_reconnect_required(self.alias_id, str(failure.message or failure))
        raise failure
