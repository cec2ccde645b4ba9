"""Calendly's OAuth 2.0 server, faked: consent page, authorization codes with PKCE, tokens,
single-use refresh tokens and revocation.

Reference: https://developer.calendly.com/how-to-access-calendly-data-on-behalf-of-authenticated-users
Reference: https://developer.calendly.com/refresh-token-rotation-guide (refresh tokens are single
use: each refresh returns a new pair and kills the old refresh token).
Reference: https://developer.calendly.com/api-docs/overview/rate-limits (8 token requests per user
per minute).

Errors follow RFC 6749 (``{"error", "error_description"}``) with the descriptions of Doorkeeper,
the Rails OAuth server whose wording Calendly's answers carry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from urllib.parse import parse_qsl, unquote, urlencode

from .calls import Request, Response
from .records import (
    ALL_SCOPES,
    AUTH_CODE_TTL,
    TOKEN_REQUESTS_PER_MINUTE,
    AuthCode,
    OAuthClient,
)
from .serialize import dumps
from .state import SandboxState

DESCRIPTIONS = {
    "invalid_client": (
        "Client authentication failed due to unknown client, no client authentication included,"
        " or unsupported authentication method."
    ),
    "invalid_grant": (
        "The provided authorization grant is invalid, expired, revoked, does not match the"
        " redirection URI used in the authorization request, or was issued to another client."
    ),
    "unsupported_grant_type": "The authorization grant type is not supported by the authorization server.",
    "invalid_request": (
        "The request is missing a required parameter, includes an unsupported parameter value,"
        " or is otherwise malformed."
    ),
    "invalid_scope": "The requested scope is invalid, unknown, or malformed.",
    "too_many_requests": (
        f"Only {TOKEN_REQUESTS_PER_MINUTE} OAuth tokens per user can be requested within a span of 1 minute."
    ),
    "server_error": "The authorization server encountered an unexpected condition.",
}
MAX_ADMINS_LISTED = 20


class OAuthError(Exception):
    def __init__(self, status: int, error: str, detail: str | None = None, headers=None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = DESCRIPTIONS.get(error, error) + (f" {detail}" if detail else "")
        self.headers = list(headers or [])

    def response(self) -> Response:
        body = dumps({"error": self.error, "error_description": self.description})
        return Response(self.status, body, [*self.headers, ("Cache-Control", "no-store")])


def form_of(request: Request) -> dict[str, str]:
    """Form-encoded body (Calendly's format); a JSON body is accepted too."""
    text = request.body.decode("utf-8", "replace")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(text or "{}")
        except ValueError:
            raise OAuthError(400, "invalid_request", "The body is not valid JSON.") from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


# -- authorize ----------------------------------------------------------------------------------
def authorize_get(state: SandboxState, request: Request) -> Response:
    params = dict(request.query)
    with state.lock:
        checked = _check_authorize(state, params)
        if isinstance(checked, Response):
            return checked
        client, redirect_uri = checked
        return _html(200, _consent_page(state, client, redirect_uri, params))


def authorize_post(state: SandboxState, request: Request) -> Response:
    """The consent form's answer: redirect back with ``code`` (or ``error=access_denied``)."""
    try:
        params = form_of(request)
    except OAuthError as exc:
        return exc.response()
    with state.lock:
        checked = _check_authorize(state, params)
        if isinstance(checked, Response):
            return checked
        client, redirect_uri = checked
        if params.get("decision", "allow") != "allow":
            return _redirect(redirect_uri, {"error": "access_denied", "state": params.get("state")})
        org, user = _account(state, params.get("account"))
        if org is None:
            return _html(400, _error_page("Unknown account."))
        code = AuthCode(
            secrets.token_urlsafe(32),
            client.client_id,
            params.get("redirect_uri") or None,
            params.get("code_challenge") or None,
            params.get("code_challenge_method")
            or ("S256" if params.get("code_challenge") else None),
            user,
            org,
            _scopes(client, params.get("scope")),
            time.time() + AUTH_CODE_TTL,
        )
        state.auth_codes[code.value] = code
        return _redirect(redirect_uri, {"code": code.value, "state": params.get("state")})


def _check_authorize(state: SandboxState, params: dict) -> tuple[OAuthClient, str] | Response:
    """What both halves of /oauth/authorize check: the client and redirect URI (an error
    page when they are wrong), then the request itself (an error sent back to the client)."""
    try:
        client, redirect_uri = _client_and_redirect(state, params)
    except OAuthError as exc:
        return _html(400, _error_page(exc.description))
    problem = _authorize_problem(client, params)
    if problem:
        return _redirect(
            redirect_uri,
            {"error": problem[0], "error_description": problem[1], "state": params.get("state")},
        )
    return client, redirect_uri


def _client_and_redirect(state: SandboxState, params: dict) -> tuple[OAuthClient, str]:
    client = state.oauth_clients.get(params.get("client_id") or "")
    if client is None:
        raise OAuthError(400, "invalid_client")
    redirect_uri = params.get("redirect_uri") or ""
    if client.redirect_uris:
        if not redirect_uri and len(client.redirect_uris) == 1:
            return client, client.redirect_uris[0]
        if redirect_uri not in client.redirect_uris:
            raise OAuthError(
                400, "invalid_request", "The redirect_uri is not registered for this client."
            )
    elif not redirect_uri:
        raise OAuthError(400, "invalid_request", "redirect_uri is required.")
    return client, redirect_uri


def _authorize_problem(client: OAuthClient, params: dict) -> tuple[str, str] | None:
    if params.get("response_type") != "code":
        return "unsupported_response_type", "Only response_type=code is supported."
    method = params.get("code_challenge_method")
    if method and method != "S256":
        return "invalid_request", "Only code_challenge_method=S256 is supported."
    if method and not params.get("code_challenge"):
        return "invalid_request", "code_challenge is required with code_challenge_method."
    requested = (params.get("scope") or "").split()
    if any(scope not in client.scopes for scope in requested):
        return "invalid_scope", DESCRIPTIONS["invalid_scope"]
    return None


def _scopes(client: OAuthClient, requested: str | None) -> tuple[str, ...]:
    asked = (requested or "").split()
    return tuple(s for s in client.scopes if s in asked) if asked else tuple(client.scopes)


def _account(state: SandboxState, value: str | None):
    if not value:
        org = state.default_org
        return (org, org.owner) if org is not None and org.owner is not None else (None, None)
    org_uuid, _, user_uuid = value.partition(":")
    org = state.organizations.get(org_uuid)
    user = state.users.get(user_uuid)
    if org is None or user is None or org.membership_of(user) is None:
        return None, None
    return org, user


def accounts(state: SandboxState) -> list[tuple[str, str]]:
    """Consent page choices: every owner and admin (up to 20 per organization) of every
    organization, plus one plain user per organization for negative tests."""
    choices = []
    for org in state.organizations.values():
        admins = [m for m in org.members if m.role in ("owner", "admin")]
        admins.sort(key=lambda m: m.role != "owner")
        plain = next((m for m in org.members if m.role == "user"), None)
        for membership in [*admins[: MAX_ADMINS_LISTED + 1], *([plain] if plain else [])]:
            user = membership.user
            label = f"{user.name} <{user.email}> — {membership.role}, {org.name} ({org.plan})"
            choices.append((f"{org.uuid}:{user.uuid}", label))
    return choices


def _consent_page(state: SandboxState, client: OAuthClient, redirect_uri: str, params: dict) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(params.get(k) or "")}">'
        for k in (
            "client_id",
            "response_type",
            "state",
            "code_challenge",
            "code_challenge_method",
            "scope",
        )
    )
    hidden += f'<input type="hidden" name="redirect_uri" value="{html.escape(redirect_uri)}">'
    default = state.default_org
    selected = f"{default.uuid}:{default.owner.uuid}" if default and default.owner else ""
    options = "".join(
        f'<option value="{value}"{" selected" if value == selected else ""}>{html.escape(label)}</option>'
        for value, label in accounts(state)
    )
    scopes = ", ".join(_scopes(client, params.get("scope")))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {html.escape(client.name)} – Calendly Sandbox</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:3rem auto}}select,button{{font-size:1rem;margin:.5rem 0}}</style>
</head><body>
<h1>Calendly Sandbox</h1>
<p><strong>{html.escape(client.name)}</strong> (<code>{html.escape(client.client_id)}</code>) wants to access your
Calendly account with these scopes: <code>{html.escape(scopes)}</code>.</p>
<form method="post" action="/oauth/authorize">{hidden}
<label for="account">Sign in as</label><br>
<select id="account" name="account">{options}</select><br>
<button type="submit" name="decision" value="allow" id="authorize">Authorize</button>
<button type="submit" name="decision" value="deny" id="deny">Deny</button>
</form></body></html>"""


def _error_page(message: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>OAuth error – Calendly Sandbox</title>'
        f"</head><body><h1>Authorization error</h1><p>{html.escape(message)}</p></body></html>"
    )


def _html(status: int, text: str) -> Response:
    return Response(status, text.encode(), content_type="text/html; charset=utf-8")


def _redirect(redirect_uri: str, params: dict) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    location = redirect_uri + ("&" if "?" in redirect_uri else "?") + query
    return Response(302, b"", [("Location", location)], content_type="")


# -- token --------------------------------------------------------------------------------------
def token(state: SandboxState, request: Request) -> Response:
    """``POST /oauth/token``: ``authorization_code`` (with PKCE) and ``refresh_token`` grants."""
    with state.lock:
        state.token_requests += 1
    failing = state.faults.next_token_request()
    if failing:
        return OAuthError(
            failing, "too_many_requests" if failing == 429 else "server_error"
        ).response()
    try:
        form = form_of(request)
        with state.lock:
            client = _authenticate_client(state, request, form)
            grant = form.get("grant_type")
            if grant == "authorization_code":
                return _code_grant(state, client, form)
            if grant == "refresh_token":
                return _refresh_grant(state, client, form)
            raise OAuthError(400, "unsupported_grant_type" if grant else "invalid_request")
    except OAuthError as exc:
        return exc.response()


def _authenticate_client(state: SandboxState, request: Request, form: dict) -> OAuthClient:
    """HTTP Basic (RFC 6749 2.3.1) or ``client_id``/``client_secret`` in the body."""
    header = request.headers.get("authorization", "")
    basic = header[:6].lower() == "basic "
    if basic:
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        except ValueError:
            client_id, secret = "", ""
    else:
        client_id, secret = form.get("client_id", ""), form.get("client_secret")
    client = state.oauth_clients.get(client_id)
    challenge = [("WWW-Authenticate", 'Basic realm="Calendly Sandbox"')] if basic else []
    if client is None:
        raise OAuthError(401, "invalid_client", headers=challenge)
    if client.client_secret is not None and not hmac.compare_digest(
        (secret or "").encode(), client.client_secret.encode()
    ):
        raise OAuthError(401, "invalid_client", headers=challenge)
    return client


def _code_grant(state: SandboxState, client: OAuthClient, form: dict) -> Response:
    code = state.auth_codes.get(form.get("code") or "")
    if code is None or code.client_id != client.client_id or time.time() > code.expires_at:
        raise OAuthError(400, "invalid_grant")
    if code.used:
        # RFC 6749 4.1.2: a reused code revokes what was issued from it.
        for value in code.issued:
            state.revoke_token(value)
        raise OAuthError(400, "invalid_grant")
    if code.redirect_uri and form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError(400, "invalid_grant")
    if code.challenge:
        verifier = form.get("code_verifier") or ""
        digest = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not verifier or not hmac.compare_digest(digest, code.challenge):
            raise OAuthError(400, "invalid_grant")
    _limit_token_requests(state, code.user)
    code.used = True
    access, refresh = state.issue_oauth_pair(
        client.client_id, code.user, code.organization, code.scopes
    )
    code.issued.extend((access.value, refresh.value))
    return _token_response(access, refresh)


def _refresh_grant(state: SandboxState, client: OAuthClient, form: dict) -> Response:
    refresh = state.refresh_tokens.get(form.get("refresh_token") or "")
    if refresh is None or not refresh.alive or refresh.client_id != client.client_id:
        raise OAuthError(400, "invalid_grant")
    _limit_token_requests(state, refresh.user)
    refresh.alive = False  # single use: the old refresh token dies now
    access, new_refresh = state.issue_oauth_pair(
        client.client_id, refresh.user, refresh.organization, refresh.scopes
    )
    return _token_response(access, new_refresh)


def _limit_token_requests(state: SandboxState, user) -> None:
    allowed, remaining, reset = state.rates.take_token_request(user)
    if not allowed:
        raise OAuthError(
            429,
            "too_many_requests",
            headers=[
                ("X-RateLimit-Limit", str(TOKEN_REQUESTS_PER_MINUTE)),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(reset)),
            ],
        )


def _token_response(access, refresh) -> Response:
    body = {
        "access_token": access.value,
        "token_type": "Bearer",
        "refresh_token": refresh.value,
        "expires_in": max(0, int(round(access.expires_at - access.created_at))),
        "created_at": int(access.created_at),
        "scope": " ".join(s for s in ALL_SCOPES if s in access.scopes),
        "owner": access.user.uri,
        "organization": access.organization.uri,
    }
    return Response(200, dumps(body), [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


# -- revoke -------------------------------------------------------------------------------------
def revoke(state: SandboxState, request: Request) -> Response:
    """``POST /oauth/revoke`` (RFC 7009): 200 whether or not the token was known."""
    try:
        form = form_of(request)
        with state.lock:
            client = _authenticate_client(state, request, form)
            value = form.get("token")
            if not value:
                raise OAuthError(400, "invalid_request", "token is required.")
            state.revoke_token(value, client.client_id)
        return Response(200, b"{}")
    except OAuthError as exc:
        return exc.response()
