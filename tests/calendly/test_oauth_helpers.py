"""Unit tests for the Calendly OAuth helpers (PKCE, authorize URL, token exchange/refresh)."""

import base64
import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from calendly_integration.errors import (
    InvalidGrant,
    InvalidRequest,
    RateLimited,
    Transient,
    Unauthorized,
)
from calendly_integration.oauth import (
    TokenResponse,
    authorization_url,
    exchange_code,
    make_pkce_pair,
    refresh_token,
    revoke_token,
)

AUTH = "https://auth.calendly.com"
TOKEN_URL = f"{AUTH}/oauth/token"
CLIENT_ID = "client-id-abc"
CLIENT_SECRET = "client-SECRET-xyz-0123"
ACCESS = "access-SECRET-aaaaaaaaaaaa"
REFRESH = "refresh-SECRET-bbbbbbbbbbbb"
NEW_REFRESH = "refresh-NEW-SECRET-cccccccc"
REDIRECT = "https://sam.example.com/calendly/callback/"
CREATED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z

TOKEN_BODY = {
    "token_type": "Bearer",
    "access_token": ACCESS,
    "refresh_token": NEW_REFRESH,
    "scope": "users:read organizations:read organizations:write",
    "created_at": CREATED_AT,
    "expires_in": 7200,
    "owner": "https://api.calendly.com/users/U1",
    "organization": "https://api.calendly.com/organizations/ORG1",
}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def form(call):
    return {k: v[0] for k, v in parse_qs(call.request.body).items()}


def basic_auth(call):
    scheme, _, value = call.request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


# -- PKCE and the authorize URL ----------------------------------------------------------------


def test_it_makes_a_valid_s256_pkce_pair():
    verifier, challenge = make_pkce_pair()

    # RFC 7636 §4.1: 43-128 chars of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
    # §4.2: BASE64URL-ENCODE(SHA256(ASCII(code_verifier))), no padding.
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == expected.rstrip(b"=").decode()
    assert "=" not in challenge
    assert make_pkce_pair()[0] != verifier


def test_it_builds_the_authorization_url():
    url = authorization_url(AUTH + "/", CLIENT_ID, REDIRECT, "state-1", "challenge-1")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{AUTH}/oauth/authorize"
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == {
        "client_id": CLIENT_ID,
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "code_challenge": "challenge-1",
        "code_challenge_method": "S256",
        "state": "state-1",
    }


def test_it_adds_scopes_space_separated():
    url = authorization_url(AUTH, CLIENT_ID, REDIRECT, "s", "c", scope=["users:read", "x:y"])

    assert parse_qs(urlsplit(url).query)["scope"] == ["users:read x:y"]


# -- token endpoint ----------------------------------------------------------------------------


def test_it_exchanges_a_code_with_the_pkce_verifier(rsps):
    rsps.post(TOKEN_URL, json=TOKEN_BODY)

    token = exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")

    sent = form(rsps.calls[0])
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "code-1"
    assert sent["redirect_uri"] == REDIRECT
    assert sent["code_verifier"] == "verifier-1"
    assert basic_auth(rsps.calls[0]) == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert rsps.calls[0].request.req_kwargs["timeout"] == (5, 30)

    assert token.access_token == ACCESS
    assert token.refresh_token == NEW_REFRESH
    assert token.expires_at == datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
    assert token.expires_at.tzinfo is not None
    assert token.scopes == ["users:read", "organizations:read", "organizations:write"]
    assert token.owner == "https://api.calendly.com/users/U1"
    assert token.organization == "https://api.calendly.com/organizations/ORG1"


def test_it_computes_expiry_from_now_without_created_at(rsps):
    body = {k: v for k, v in TOKEN_BODY.items() if k not in ("created_at", "scope")}
    rsps.post(TOKEN_URL, json=body)

    before = datetime.now(UTC)
    token = exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")

    assert before + timedelta(seconds=7190) < token.expires_at
    assert token.expires_at < datetime.now(UTC) + timedelta(seconds=7210)
    assert token.scopes == []


def test_it_refreshes_a_token(rsps):
    rsps.post(TOKEN_URL, json=TOKEN_BODY)

    token = refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)

    sent = form(rsps.calls[0])
    assert sent["grant_type"] == "refresh_token"
    assert sent["refresh_token"] == REFRESH
    assert basic_auth(rsps.calls[0]) == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert token.refresh_token == NEW_REFRESH
    assert token.access_token == ACCESS


@pytest.mark.parametrize("call", ["exchange", "refresh"])
def test_it_maps_invalid_grant(rsps, call):
    rsps.post(
        TOKEN_URL,
        status=400,
        json={"error": "invalid_grant", "error_description": "The grant is invalid or used."},
    )

    with pytest.raises(InvalidGrant) as info:
        if call == "exchange":
            exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")
        else:
            refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)

    err = info.value
    assert err.status == 400
    assert "reconnect the alias in the admin (connect to calendly)" in err.hint.lower()
    assert not err.retryable
    assert REFRESH not in str(err)


def test_it_maps_invalid_client_to_unauthorized(rsps):
    rsps.post(
        TOKEN_URL,
        status=401,
        json={"error": "invalid_client", "error_description": "Client authentication failed."},
    )

    with pytest.raises(Unauthorized) as info:
        refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)

    assert "client id and secret on the parent alias" in info.value.hint.lower()
    assert CLIENT_SECRET not in str(info.value)


def test_it_maps_rate_limits_server_errors_and_timeouts(rsps):
    rsps.post(TOKEN_URL, status=429, headers={"X-RateLimit-Reset": "42"})
    rsps.post(TOKEN_URL, status=503, body="<html>down</html>")
    rsps.post(TOKEN_URL, body=requests.exceptions.ReadTimeout("slow"))
    rsps.post(TOKEN_URL, body=requests.exceptions.ConnectionError("reset"))

    with pytest.raises(RateLimited) as info:
        refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)
    assert info.value.reset_seconds == 42
    with pytest.raises(Transient):
        refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)
    with pytest.raises(Transient):
        refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)
    with pytest.raises(Transient):
        exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")
    # Token requests are never retried: a retried refresh would present a dead token.
    assert len(rsps.calls) == 4


def test_it_maps_other_token_errors_to_invalid_request(rsps):
    rsps.post(TOKEN_URL, status=400, json={"error": "invalid_request", "error_description": "x"})

    with pytest.raises(InvalidRequest):
        exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")


def test_it_refuses_plain_http_token_endpoints_with_a_hint(monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)

    with pytest.raises(InvalidRequest) as info:
        refresh_token("http://auth.example.test", CLIENT_ID, CLIENT_SECRET, REFRESH)

    assert "OAUTHLIB_INSECURE_TRANSPORT" in info.value.hint


def test_it_revokes_a_token(rsps):
    rsps.post(f"{AUTH}/oauth/revoke", json={})

    assert revoke_token(AUTH, CLIENT_ID, CLIENT_SECRET, ACCESS) is None
    assert form(rsps.calls[0]) == {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "token": ACCESS,
    }


def test_it_maps_revoke_errors(rsps):
    rsps.post(
        f"{AUTH}/oauth/revoke",
        status=400,
        json={"error": "invalid_request", "error_description": f"bad token {ACCESS}"},
    )

    with pytest.raises(InvalidRequest) as info:
        revoke_token(AUTH, CLIENT_ID, CLIENT_SECRET, ACCESS)

    assert ACCESS not in str(info.value)


# -- secrecy -----------------------------------------------------------------------------------


def test_token_response_repr_hides_tokens():
    token = TokenResponse.from_token(TOKEN_BODY)

    for text in (repr(token), str(token), f"{token}"):
        assert ACCESS not in text
        assert NEW_REFRESH not in text
        assert "organizations/ORG1" in text


def test_it_does_not_log_tokens(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    rsps.post(TOKEN_URL, json=TOKEN_BODY)

    exchange_code(AUTH, CLIENT_ID, CLIENT_SECRET, "code-1", REDIRECT, "verifier-1")
    refresh_token(AUTH, CLIENT_ID, CLIENT_SECRET, REFRESH)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in (ACCESS, REFRESH, NEW_REFRESH, CLIENT_SECRET, "verifier-1"):
        assert secret not in logged
