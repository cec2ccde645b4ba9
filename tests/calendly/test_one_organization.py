"""One organization, one profile: a second profile reaching a Calendly organization another
profile holds is refused, naming that profile, on every way in (a personal access token with
``create_calendly_profile``, the admin's "Validate connection", the OAuth callback, a second
child alias of one OAuth app, a download) and by the database constraint itself. Real HTTP to
the fake Calendly, real database."""

from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun
from sam_saas.services import jobs, lifecycle
from tests.helpers import consent

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(sandbox, make_pat_profile):
    """A validated profile holding the fake's default organization."""
    profile = make_pat_profile(name="Acme", status=IntegrationProfile.Status.DRAFT)
    assert lifecycle.validate(profile).passed
    profile.refresh_from_db()
    assert profile.organization_uri == sandbox.state.default_org.uri
    return profile


def _child(oauth_parent, name):
    alias = ConnectionAlias.objects.create(
        name=f"{name} child", parent=oauth_parent, auth_type=ConnectionAlias.AuthType.OAUTH2
    )
    return IntegrationProfile.objects.create(name=name, alias=alias, provider="calendly")


def _connect(admin_client, profile):
    start = admin_client.get(reverse("calendly:connect-profile", args=[profile.pk]))
    back = urlsplit(consent(start["Location"]))
    return admin_client.get(f"{back.path}?{back.query}", follow=True).content.decode()


def test_it_refuses_a_token_for_an_organization_a_profile_holds(sandbox, holder):
    token = sandbox.state.default_org.admin_token

    with pytest.raises(CommandError) as refused:
        call_command("create_calendly_profile", "Acme again", token=token, api_url=sandbox.url)

    assert "already connected by the profile “Acme”" in str(refused.value)
    # Nothing is left behind for the refused profile.
    assert not IntegrationProfile.objects.filter(name="Acme again").exists()
    assert not ConnectionAlias.objects.filter(name="Acme again").exists()


def test_the_token_path_creates_the_first_profile_of_an_organization(sandbox, capsys):
    token = sandbox.state.default_org.admin_token

    call_command("create_calendly_profile", "Acme", token=token, api_url=sandbox.url)

    profile = IntegrationProfile.objects.get(name="Acme")
    assert profile.status == IntegrationProfile.Status.PUBLISHED
    assert profile.organization_uri == sandbox.state.default_org.uri


def test_validating_in_the_admin_fails_naming_the_holder(sandbox, holder, make_pat_profile):
    second = make_pat_profile(name="Acme twin", status=IntegrationProfile.Status.DRAFT)

    validation = lifecycle.validate(second)

    assert not validation.passed
    (failed,) = [c for c in validation.checks if not c["ok"]]
    assert failed["label"] == "One organization, one profile"
    assert "“Acme”" in failed["detail"]
    second.refresh_from_db()
    assert second.organization_uri == "" and second.status == IntegrationProfile.Status.DRAFT
    with pytest.raises(lifecycle.PublishRefused):
        lifecycle.publish(second)


def test_it_refuses_the_oauth_callback_for_an_organization_a_profile_holds(
    sandbox, admin_client, holder, oauth_parent
):
    profile = _child(oauth_parent, "Acme via OAuth")

    page = _connect(admin_client, profile)

    assert "already connected by the profile “Acme”" in page
    alias = ConnectionAlias.objects.get(pk=profile.alias_id)
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.NOT_CONNECTED
    assert alias.access_token == "" and alias.refresh_token == ""
    assert "“Acme”" in alias.status_message
    profile.refresh_from_db()
    assert profile.organization_uri == "" and profile.status == IntegrationProfile.Status.DRAFT


def test_a_second_child_alias_of_one_app_cannot_connect_the_same_organization(
    sandbox, admin_client, oauth_parent
):
    first = _child(oauth_parent, "Acme EU")
    second = _child(oauth_parent, "Acme US")

    assert "is connected to Calendly" in _connect(admin_client, first)
    page = _connect(admin_client, second)

    assert "already connected by the profile “Acme EU”" in page
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.organization_uri == sandbox.state.default_org.uri
    assert second.organization_uri == ""
    assert ConnectionAlias.objects.get(pk=second.alias_id).access_token == ""


def test_a_download_on_an_organization_another_profile_holds_fails_and_stores_nothing(
    sandbox, holder, make_pat_profile
):
    twin = make_pat_profile(name="Acme twin")  # e.g. one left over from before the constraint

    run = jobs.run_now(twin, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)

    assert run.status == JobRun.Status.FAILED
    assert "already connected by the profile “Acme”" in run.error_message
    assert not twin.subscriptions.exists()


def test_the_database_refuses_two_profiles_on_one_organization(holder, make_pat_profile):
    twin = make_pat_profile(name="Acme twin")

    with pytest.raises(IntegrityError), transaction.atomic():
        IntegrationProfile.objects.filter(pk=twin.pk).update(
            organization_uri=holder.organization_uri
        )
    # Profiles whose organization is not known yet are many, and that is fine.
    make_pat_profile(name="Not validated yet")
    assert IntegrationProfile.objects.filter(organization_uri="").count() == 2
