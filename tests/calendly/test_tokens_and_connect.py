"""OAuth: refresh on 401 and ahead of expiry, one refresh per alias at a time, invalid_grant,
and the connect flow through the callback view. Real HTTP to the fake Calendly."""

import datetime as dt
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from calendly_integration.tokens import AliasTokenSource
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun
from sam_saas.services import jobs
from tests.helpers import consent

pytestmark = pytest.mark.django_db


def download(profile):
    return jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)


def test_it_refreshes_once_on_a_401_then_succeeds(sandbox, make_oauth_profile):
    profile = make_oauth_profile()
    old_access, old_refresh = profile.alias.access_token, profile.alias.refresh_token
    sandbox.faults.expire_access_tokens_now()  # Calendly now answers 401 to the stored token

    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert sandbox.state.token_requests == 1
    alias = ConnectionAlias.objects.get(pk=profile.alias_id)
    assert alias.access_token != old_access and alias.refresh_token != old_refresh
    assert alias.token_expires_at > timezone.now() + dt.timedelta(minutes=100)
    statuses = [s for (_m, p, s) in sandbox.state.request_log if p.startswith("/users/me")]
    assert statuses[:2] == [401, 200]


def test_it_refreshes_ahead_of_expiry_without_a_401(sandbox, make_oauth_profile):
    profile = make_oauth_profile()
    ConnectionAlias.objects.filter(pk=profile.alias_id).update(
        token_expires_at=timezone.now() + dt.timedelta(seconds=30)
    )
    profile.refresh_from_db()
    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED
    assert sandbox.state.token_requests == 1
    assert not any(s == 401 for (_m, _p, s) in sandbox.state.request_log)


def test_it_marks_the_alias_for_reconnection_on_invalid_grant(sandbox, make_oauth_profile):
    profile = make_oauth_profile()
    sandbox.state.revoke_token(profile.alias.refresh_token)  # revoked from Calendly's side
    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert "Connect to Calendly" in run.hint
    alias = ConnectionAlias.objects.get(pk=profile.alias_id)
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
    assert "Connect to Calendly" in alias.status_message
    assert profile.alias.refresh_token not in run.error_message


def test_a_single_use_refresh_token_is_never_spent_twice(sandbox, make_oauth_profile):
    profile = make_oauth_profile()
    first = AliasTokenSource(profile.alias)
    second = AliasTokenSource(profile.alias)  # another worker, loaded before the refresh
    rejected = profile.alias.access_token
    new_token = first.refresh_after_unauthorized(rejected)
    # The second worker saw the same rejected token: it must reuse the new one, not refresh.
    assert second.refresh_after_unauthorized(rejected) == new_token
    assert sandbox.state.token_requests == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eight_workers_needing_a_token_at_once_make_one_token_request(sandbox, make_oauth_profile):
    profile = make_oauth_profile()
    rejected = profile.alias.access_token
    sandbox.faults.update(delay_seconds=0.2)  # hold the lock long enough for a real pile-up
    barrier = threading.Barrier(8)
    tokens, errors = [], []

    def worker():
        try:
            source = AliasTokenSource(ConnectionAlias.objects.get(pk=profile.alias_id))
            barrier.wait()
            tokens.append(source.refresh_after_unauthorized(rejected))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sandbox.state.token_requests == 1
    assert len(set(tokens)) == 1 and len(tokens) == 8


# -- connect flow ------------------------------------------------------------------------------


@pytest.fixture
def draft_profile(oauth_parent):
    alias = ConnectionAlias.objects.create(
        name="Acme child", parent=oauth_parent, auth_type=ConnectionAlias.AuthType.OAUTH2
    )
    return IntegrationProfile.objects.create(name="Acme", alias=alias, provider="calendly")


def test_it_connects_through_the_callback_and_validates_the_profile(
    sandbox, admin_client, draft_profile
):
    start = admin_client.get(reverse("calendly:connect-profile", args=[draft_profile.pk]))
    assert start.status_code == 302
    params = parse_qs(urlsplit(start["Location"]).query)
    assert params["code_challenge_method"] == ["S256"] and params["state"][0]
    assert "code_verifier" not in start["Location"]

    back = urlsplit(consent(start["Location"]))
    assert back.path == reverse("calendly:oauth-callback")
    done = admin_client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302
    assert done["Location"] == reverse(
        "admin:sam_saas_integrationprofile_change", args=[draft_profile.pk]
    )

    alias = ConnectionAlias.objects.get(pk=draft_profile.alias_id)
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.CONNECTED
    assert alias.access_token.startswith("sbx_at_") and alias.refresh_token.startswith("sbx_rt_")
    assert "organizations:write" in alias.granted_scopes
    draft_profile.refresh_from_db()
    # Connecting validates every enabled process; publishing stays the manager's decision.
    assert draft_profile.status == IntegrationProfile.Status.VALIDATED
    assert draft_profile.organization_name == "Acme Demo"
    assert draft_profile.validations.get().passed

    # The same callback again (a replay) is refused and changes nothing.
    replay = admin_client.get(f"{back.path}?{back.query}", follow=True)
    assert "does not match a connection started here" in replay.content.decode()
    assert ConnectionAlias.objects.get(pk=alias.pk).access_token == alias.access_token
    assert sandbox.state.token_requests == 1


def test_it_refuses_a_forged_state(sandbox, admin_client, draft_profile):
    start = admin_client.get(reverse("calendly:connect-profile", args=[draft_profile.pk]))
    back = urlsplit(consent(start["Location"]))
    code = parse_qs(back.query)["code"][0]
    forged = admin_client.get(
        reverse("calendly:oauth-callback"), {"code": code, "state": "forged"}, follow=True
    )
    assert "does not match a connection started here" in forged.content.decode()
    alias = ConnectionAlias.objects.get(pk=draft_profile.alias_id)
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.NOT_CONNECTED
    assert alias.access_token == ""
    assert sandbox.state.token_requests == 0


def test_it_refuses_to_connect_a_non_admin_account(sandbox, admin_client, draft_profile):
    org = sandbox.state.default_org
    plain = next(m.user for m in org.members if m.role == "user")
    start = admin_client.get(reverse("calendly:connect-profile", args=[draft_profile.pk]))
    back = urlsplit(consent(start["Location"], account=f"{org.uuid}:{plain.uuid}"))
    page = admin_client.get(f"{back.path}?{back.query}", follow=True)
    assert "need an admin" in page.content.decode()
    draft_profile.refresh_from_db()
    assert draft_profile.status == IntegrationProfile.Status.DRAFT


def test_connecting_needs_the_change_permission(sandbox, client, django_user_model, draft_profile):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(viewer)
    response = client.get(reverse("calendly:connect-profile", args=[draft_profile.pk]))
    assert response.status_code == 403
    response = client.get(reverse("calendly:oauth-callback"), {"code": "x", "state": "y"})
    assert response.status_code == 403


def test_the_create_command_prepares_an_oauth_profile_and_prints_the_connect_url(sandbox, capsys):
    from django.core.management import call_command

    call_command(
        "create_calendly_profile",
        "Initech",
        client_id="sandbox-client",
        client_secret="sandbox-secret",
        api_url=sandbox.url,
        auth_url=sandbox.url,
    )
    out = capsys.readouterr().out
    profile = IntegrationProfile.objects.select_related("alias__parent").get(name="Initech")
    assert profile.status == IntegrationProfile.Status.DRAFT
    assert profile.alias.parent.client_secret == "sandbox-secret"
    assert reverse("calendly:connect-profile", args=[profile.pk]) in out
    assert reverse("calendly:oauth-callback") in out
    assert "sandbox-secret" not in out
