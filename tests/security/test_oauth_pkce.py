"""PKCE: the verifier never leaves the server (only its S256 challenge goes to Calendly, in the
browser's redirect), the fake Calendly refuses a code exchanged with another verifier, and a
callback whose server-side state is gone is refused. (State, replay and forged state are
covered in tests/calendly/test_tokens_and_connect.py.)"""

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from calendly_integration import connect, oauth
from calendly_integration.errors import InvalidGrant
from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox
from sam_saas.models import ConnectionAlias
from tests.helpers import consent, oauth_profile

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox():
    with start_sandbox(members=10, plan="enterprise", seed=3, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def draft_profile(sandbox):
    return oauth_profile(sandbox)


def start(admin_client, profile):
    response = admin_client.get(reverse("calendly:connect-profile", args=[profile.pk]))
    assert response.status_code == 302
    state = parse_qs(urlsplit(response["Location"]).query)["state"][0]
    verifier = admin_client.session[connect.SESSION_KEY][state]["verifier"]
    return response, state, verifier


def test_the_verifier_stays_on_the_server_and_only_its_challenge_travels(
    admin_client, draft_profile
):
    response, state, verifier = start(admin_client, draft_profile)
    params = parse_qs(urlsplit(response["Location"]).query)

    digest = hashlib.sha256(verifier.encode()).digest()
    assert params["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert params["code_challenge_method"] == ["S256"]
    assert len(verifier) >= 43  # RFC 7636 §4.1
    # Not in the redirect, its headers, body or cookies: the browser only holds a session id.
    assert verifier not in response["Location"]
    assert verifier not in str(response.headers) and verifier not in response.content.decode()
    assert all(verifier not in morsel.value for morsel in response.cookies.values())
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    session_key = admin_client.cookies[settings.SESSION_COOKIE_NAME].value
    assert verifier not in session_key
    assert Session.objects.filter(session_key=session_key).exists()


def test_the_fake_refuses_a_code_exchanged_with_another_verifier(
    admin_client, draft_profile, sandbox
):
    _, state, verifier = start(admin_client, draft_profile)
    back = urlsplit(consent(start(admin_client, draft_profile)[0]["Location"]))
    code = parse_qs(back.query)["code"][0]
    redirect_uri = f"http://testserver{reverse('calendly:oauth-callback')}"
    wrong_verifier, _ = oauth.make_pkce_pair()

    with pytest.raises(InvalidGrant):
        oauth.exchange_code(
            sandbox.url,
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            code,
            redirect_uri,
            wrong_verifier,
        )
    with pytest.raises(InvalidGrant):  # the verifier of another connection attempt
        oauth.exchange_code(
            sandbox.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, code, redirect_uri, verifier
        )
    with pytest.raises(InvalidGrant):  # no verifier at all
        oauth.exchange_code(
            sandbox.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, code, redirect_uri, ""
        )
    assert not any(t.kind == "oauth" for t in sandbox.state.tokens.values())  # nothing issued

    # The callback, which sends the verifier kept in the session for this state, succeeds.
    done = admin_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    alias = ConnectionAlias.objects.get(pk=draft_profile.alias_id)
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.CONNECTED


def test_a_callback_without_its_server_side_verifier_is_refused(
    admin_client, client, django_user_model, draft_profile, sandbox
):
    response, _, _ = start(admin_client, draft_profile)
    back = urlsplit(consent(response["Location"]))

    # Another signed-in manager (another session) replays the callback URL: no verifier there.
    other = django_user_model.objects.create_superuser("other", "o@example.com", "pw")
    client.force_login(other)
    page = client.get(f"{back.path}?{back.query}", follow=True)
    assert "does not match a connection started here" in page.content.decode()
    alias = ConnectionAlias.objects.get(pk=draft_profile.alias_id)
    assert alias.access_token == ""
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.NOT_CONNECTED
