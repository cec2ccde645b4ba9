"""Calendly OAuth 2.0 helpers (authorization code + PKCE, refresh, revoke). No Django in here.

Calendly's refresh tokens are single-use: every successful refresh returns a new refresh token
and kills the old one. Callers must serialize refreshes per connection and save the new
``TokenResponse`` at once. These helpers never retry a token request, because a retried refresh
whose first attempt did reach Calendly would present a dead token.
"""

# Reference: https://developer.calendly.com/api-docs/calendly-o-auth/o-auth/post-oauth-refresh-token
# Reference: https://developer.calendly.com/refresh-token-rotation-guide

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from oauthlib.oauth2 import InsecureTransportError, OAuth2Error
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from .errors import (
    CalendlyError,
    InvalidGrant,
    InvalidRequest,
    RateLimited,
    Transient,
    Unauthorized,
    _clip,
    _parse_reset,
)

# requests-oauthlib and oauthlib log whole token responses and request bodies at DEBUG.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
logging.getLogger("oauthlib").setLevel(logging.INFO)

USER_AGENT = "saas-license-management/0.1"
CLIENT_CREDENTIALS_HINT = "Check the client id and secret on the parent alias."
INVALID_GRANT_HINT = "Reconnect the alias in the admin (Connect to Calendly)."
_RESPONSE_HOOKS = ("access_token_response", "refresh_token_response")


@dataclass(frozen=True)
class TokenResponse:
    """A token endpoint answer. ``repr()`` never shows the tokens."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scopes: list[str] = field(default_factory=list)
    owner: str | None = None
    organization: str | None = None
    token_type: str = "Bearer"

    def __repr__(self) -> str:
        return (
            "TokenResponse(access_token=<redacted>, refresh_token=<redacted>,"
            f" expires_at={self.expires_at!r}, scopes={self.scopes!r}, owner={self.owner!r},"
            f" organization={self.organization!r})"
        )

    __str__ = __repr__

    @classmethod
    def from_token(cls, token: Mapping[str, Any], now: datetime | None = None) -> TokenResponse:
        """Build from a token dict (oauthlib's or the raw JSON). ``expires_at`` is ``created_at``
        (epoch seconds, as Calendly sends it) + ``expires_in``, or now + ``expires_in``."""
        now = now or datetime.now(UTC)
        expires_at = None
        expires_in = _number(token.get("expires_in"))
        if expires_in is not None:
            created = _timestamp(token.get("created_at")) or now
            expires_at = created + timedelta(seconds=expires_in)
        scope = token.get("scope") or []
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope]
        return cls(
            access_token=str(token["access_token"]),
            refresh_token=token.get("refresh_token"),
            expires_at=expires_at,
            scopes=scopes,
            owner=token.get("owner"),
            organization=token.get("organization"),
            token_type=str(token.get("token_type") or "Bearer"),
        )


def make_pkce_pair() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair, method S256 (RFC 7636 §4.1–4.2).

    The verifier is 86 URL-safe characters (64 random bytes, base64url without padding); the
    challenge is BASE64URL(SHA256(verifier)) without padding.
    """
    verifier = secrets.token_urlsafe(64)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return verifier, challenge


def authorization_url(
    auth_base_url: str,
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    scope: str | Iterable[str] | None = None,
) -> str:
    """Where to send the browser: ``{auth_base}/oauth/authorize?...`` with PKCE S256."""
    # Reference: https://developer.calendly.com/api-docs/calendly-o-auth/o-auth/get-oauth-authorize
    params = {
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    if scope:
        params["scope"] = scope if isinstance(scope, str) else " ".join(scope)
    return f"{auth_base_url.rstrip('/')}/oauth/authorize?{urlencode(params)}"


def exchange_code(
    auth_base_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (5, 30),
) -> TokenResponse:
    """Trade an authorization code (+ PKCE verifier) for tokens.

    Client credentials go in a Basic Authorization header (Calendly web clients).
    """
    token_url = _token_url(auth_base_url)
    oauth = _oauth_session(client_id, redirect_uri, session)
    token = _call_token_endpoint(
        oauth,
        [client_secret, code, code_verifier],
        lambda: oauth.fetch_token(
            token_url,
            code=code,
            client_secret=client_secret,
            code_verifier=code_verifier,
            timeout=timeout,
        ),
    )
    return TokenResponse.from_token(token)


def refresh_token(
    auth_base_url: str,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (5, 30),
) -> TokenResponse:
    """Trade a refresh token for new tokens. The old refresh token is dead afterwards: save the
    returned one at once. ``InvalidGrant`` means the refresh token was used or revoked."""
    token_url = _token_url(auth_base_url)
    oauth = _oauth_session(client_id, None, session)
    token = _call_token_endpoint(
        oauth,
        [client_secret, refresh_token],
        lambda: oauth.refresh_token(
            token_url,
            refresh_token=refresh_token,
            auth=HTTPBasicAuth(client_id, client_secret),
            timeout=timeout,
        ),
    )
    return TokenResponse.from_token(token)


def revoke_token(
    auth_base_url: str,
    client_id: str,
    client_secret: str,
    token: str,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] = (5, 30),
) -> None:
    """Revoke an access or refresh token (``POST /oauth/revoke``, form-encoded)."""
    # Reference: https://developer.calendly.com/api-docs/calendly-o-auth/o-auth/post-oauth-revoke
    url = f"{auth_base_url.rstrip('/')}/oauth/revoke"
    http = session or requests.Session()
    data = {"client_id": client_id, "client_secret": client_secret, "token": token}
    with _mapped_errors([client_secret, token]):
        response = http.post(
            url,
            data=data,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=timeout,
        )
        _raise_for_token_endpoint(response, [client_secret, token])


# -- plumbing ----------------------------------------------------------------------------------


def _token_url(auth_base_url: str) -> str:
    return f"{auth_base_url.rstrip('/')}/oauth/token"


def _oauth_session(
    client_id: str, redirect_uri: str | None, session: requests.Session | None
) -> OAuth2Session:
    """An OAuth2Session; a given plain ``requests.Session`` lends its transport (adapters,
    proxies, TLS settings) so tests and proxies can reach the token endpoint."""
    if isinstance(session, OAuth2Session):
        oauth = session
    else:
        oauth = OAuth2Session(client_id=client_id, redirect_uri=redirect_uri)
        if session is not None:
            oauth.adapters = session.adapters
            oauth.proxies = session.proxies
            oauth.verify = session.verify
            oauth.cert = session.cert
            oauth.trust_env = session.trust_env
    oauth.headers["User-Agent"] = USER_AGENT
    return oauth


def _call_token_endpoint(
    oauth: OAuth2Session, secrets_: list[str], call: Callable[[], dict]
) -> dict:
    """Run a fetch/refresh with errors mapped. A compliance hook checks the HTTP status before
    oauthlib parses the body (oauthlib would turn a 5xx page into a "missing token" error)."""

    def check(response: requests.Response) -> requests.Response:
        _raise_for_token_endpoint(response, secrets_)
        return response

    hooks = [oauth.compliance_hook[name] for name in _RESPONSE_HOOKS]
    for hook_set in hooks:
        hook_set.add(check)
    try:
        with _mapped_errors(secrets_):
            return call()
    finally:
        for hook_set in hooks:
            hook_set.discard(check)


def _raise_for_token_endpoint(response: requests.Response, secrets_: Iterable[str]) -> None:
    """Map an OAuth endpoint error response ({"error", "error_description"}) to the family."""
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    code = str(body.get("error") or "")
    description = _clip(body.get("error_description") or response.reason or "", secrets_)
    common = {"status": status, "title": code or None, "method": "POST"}
    if status == 429:
        raise RateLimited(
            description,
            reset_seconds=_parse_reset(response.headers),
            hint="At most 8 token requests per user per minute; try again in a minute.",
            **common,
        )
    if status >= 500:
        raise Transient(description, **common)
    if code == "invalid_grant":
        raise InvalidGrant(description, hint=INVALID_GRANT_HINT, **common)
    if code == "invalid_client" or status == 401:
        raise Unauthorized(description, hint=CLIENT_CREDENTIALS_HINT, **common)
    raise InvalidRequest(description, hint="Calendly refused the token request.", **common)


class _mapped_errors:
    """Context manager turning transport and oauthlib errors into the error family."""

    def __init__(self, secrets_: Iterable[str]) -> None:
        self.secrets = list(secrets_)

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None or isinstance(exc, CalendlyError):
            return False
        if isinstance(exc, requests.Timeout):
            raise Transient("The Calendly token endpoint did not answer in time.") from None
        if isinstance(exc, requests.ConnectionError):
            raise Transient(
                f"Connection to the Calendly token endpoint failed ({type(exc).__name__})."
            ) from None
        if isinstance(exc, InsecureTransportError):
            raise InvalidRequest(
                "The token endpoint must use https.",
                title="insecure_transport",
                hint=(
                    "Use an https auth base URL; for a local sandbox over http set"
                    " OAUTHLIB_INSECURE_TRANSPORT=1 (development only)."
                ),
            ) from None
        if isinstance(exc, OAuth2Error):
            description = _clip(exc.description or "", self.secrets)
            if exc.error == "invalid_grant":
                raise InvalidGrant(description, title=exc.error, hint=INVALID_GRANT_HINT) from None
            if exc.error == "invalid_client":
                raise Unauthorized(
                    description, title=exc.error, hint=CLIENT_CREDENTIALS_HINT
                ) from None
            if exc.error in ("missing_token", "server_error", "temporarily_unavailable"):
                raise Transient(description, title=exc.error) from None
            raise InvalidRequest(description, title=exc.error) from None
        if isinstance(exc, requests.RequestException):
            raise InvalidRequest(
                f"The token request could not be sent ({type(exc).__name__}).",
                title="Request error",
            ) from None
        return False


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _timestamp(value: Any) -> datetime | None:
    """``created_at`` as an aware UTC datetime: epoch seconds (Calendly) or ISO 8601."""
    if value is None or value == "":
        return None
    seconds = _number(value)
    if seconds is not None:
        return datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
