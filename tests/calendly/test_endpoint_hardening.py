"""Finding 1 of issue 11: a SAM manager must not be able to read the write-only secrets by
pointing an alias at a server of their own.

The attack: change the alias's API URL (or the parent's auth URL) to a server that records
what it receives, then press "Validate connection" (or wait for a token refresh). Wanted: the
change erases the stored credentials, production accepts only https on CALENDLY_ALLOWED_HOSTS,
and nothing the foreign server answers is echoed in the admin."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from sam_saas.models import ConnectionAlias
from tests.helpers import alias_form

pytestmark = pytest.mark.django_db

ECHO = "EVIL-ECHO-Please-sign-in-at-evil.example"


class Recorder(BaseHTTPRequestHandler):
    """Answers every request with an HTML error page, after noting what it was sent."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.server.received.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization", ""),
                "body": self.rfile.read(length).decode(errors="replace"),
            }
        )
        body = f"<h1>{ECHO}</h1>".encode()
        self.send_response(400, ECHO)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def evil():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received = []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def change_alias(client, alias, **changes):
    url = reverse("admin:sam_saas_connectionalias_change", args=[alias.pk])
    return client.post(url, alias_form(alias, **changes), follow=True)


def validate(client, profile):
    return client.post(
        reverse("admin:sam_saas_integrationprofile_changelist"),
        {"action": "validate_connection", "_selected_action": [profile.pk]},
        follow=True,
    ).content.decode()


def test_changing_the_api_url_erases_the_token_so_validate_sends_nothing(
    admin_client, make_pat_profile, evil
):
    profile = make_pat_profile()
    alias = profile.alias
    page = change_alias(admin_client, alias, api_base_url=evil.url).content.decode()
    assert "The endpoint changed, so the stored access token" in page

    alias.refresh_from_db()
    assert alias.api_base_url.startswith(evil.url)
    assert alias.access_token == "" and alias.token_expires_at is None
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.NOT_CONNECTED

    page = validate(admin_client, profile)
    assert "is not connected to Calendly" in page
    assert evil.received == []

    # Entering a new token in the same save keeps it: the operator chose the endpoint.
    change_alias(admin_client, alias, api_base_url=alias.api_base_url, access_token="typed-new")
    alias.refresh_from_db()
    assert alias.access_token == "typed-new"


def test_changing_the_parent_auth_url_erases_its_secret_and_the_children_tokens(
    admin_client, make_oauth_profile, oauth_parent, evil
):
    profile = make_oauth_profile()
    page = change_alias(admin_client, oauth_parent, auth_base_url=evil.url).content.decode()
    assert "client secret" in page and "1 child alias(es)" in page

    oauth_parent.refresh_from_db()
    child = ConnectionAlias.objects.get(pk=profile.alias_id)
    assert oauth_parent.client_secret == ""
    assert child.access_token == "" and child.refresh_token == ""
    assert "connect again" in child.status_message

    validate(admin_client, profile)
    assert evil.received == []


def test_production_accepts_only_https_on_the_allowed_hosts(
    admin_client, make_pat_profile, evil, settings
):
    settings.CALENDLY_ALLOW_LOOPBACK = False  # production.py
    profile = make_pat_profile()
    alias = profile.alias
    token = alias.access_token
    for url in (evil.url, "https://calendly.evil.example", "http://api.calendly.com"):
        response = change_alias(admin_client, alias, api_base_url=url)
        assert response.status_code == 200
        assert "errornote" in response.content.decode(), url
        alias.refresh_from_db()
        assert alias.access_token == token and not alias.api_base_url.startswith(url)

    # A URL stored before the rule (or written around the admin) is refused when used.
    ConnectionAlias.objects.filter(pk=alias.pk).update(api_base_url=evil.url)
    page = validate(admin_client, profile)
    assert "not an allowed Calendly host" in page and "CALENDLY_ALLOWED_HOSTS" in page
    assert evil.received == []

    change_alias(admin_client, alias, api_base_url="https://api.calendly.com")
    alias.refresh_from_db()
    assert alias.api_base_url == "https://api.calendly.com"


def test_a_foreign_server_error_text_is_not_echoed(admin_client, make_pat_profile, evil):
    """Even where the host is allowed (loopback outside production), the admin shows our own
    words, not whatever the server answered."""
    profile = make_pat_profile(url=evil.url, token="deliberate-token")
    page = validate(admin_client, profile)
    assert evil.received, "the fake foreign server was reached"
    assert ECHO not in page
    assert "without a JSON error body" in page
