"""The permission matrix of the sam_saas admin actions and custom views, for a superuser, a SAM
manager, a SAM approver, a SAM viewer and an anonymous visitor, including forged POSTs (an
action the page does not offer to that role, posted by hand). The candidate actions are
covered in tests/reclamation/test_admin.py.

Managers change things; approvers and viewers only look; anonymous visitors are sent to the
login page. Whatever the role, a refused request changes nothing."""

import io
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from reclamation.models import ReclamationCandidate
from sam_saas.models import ConnectionAlias, JobRun, Person, SubscriptionIdentifier
from sam_saas.reports import registry
from tests import factories

from .conftest import MANAGERS, ROLES, client_for, role_id

pytestmark = pytest.mark.django_db

VIEWERS = MANAGERS | {"SAM approver", "SAM viewer"}
PROFILES = "admin:sam_saas_integrationprofile_changelist"
IDENTIFIERS = "admin:sam_saas_subscriptionidentifier_changelist"


def sent_to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response["Location"]).path == reverse(
        "admin:login"
    )


def refused(response, role) -> bool:
    """How the admin refuses: the login page for anonymous visitors; for the others a 403, or
    (an action the changelist does not offer to them) the list again, having done nothing.
    What matters is checked by each test: nothing changed."""
    if role is None:
        return sent_to_login(response)
    return response.status_code in (200, 302, 403)


@pytest.fixture
def profile(quiet):
    alias = factories.ConnectionAliasFactory(provider="quiet", last_validated_at=None)
    return factories.IntegrationProfileFactory(provider="quiet", alias=alias)


# -- profile actions -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize(
    ("action", "kind"),
    [("refresh_now", JobRun.Kind.DOWNLOAD), ("refresh_activity_now", JobRun.Kind.ACTIVITY)],
)
def test_refresh_actions(profile, quiet, role, action, kind, django_capture_on_commit_callbacks):
    client = client_for(role)
    with django_capture_on_commit_callbacks(execute=True):  # the queued job runs inline
        response = client.post(
            reverse(PROFILES), {"action": action, "_selected_action": [profile.pk]}
        )
    runs = JobRun.objects.filter(profile=profile, kind=kind)
    if role in MANAGERS:
        assert response.status_code == 302
        assert runs.count() == 1 and runs.get().status == JobRun.Status.SUCCEEDED
        assert (kind, profile.pk) in quiet.calls
    else:
        assert refused(response, role)
        assert not runs.exists() and quiet.calls == []


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_validate_connection_action(profile, quiet, role):
    client = client_for(role)
    response = client.post(
        reverse(PROFILES), {"action": "validate_connection", "_selected_action": [profile.pk]}
    )
    alias = ConnectionAlias.objects.get(pk=profile.alias_id)
    if role in MANAGERS:
        assert response.status_code == 302
        assert alias.last_validated_at is not None and ("validate", profile.pk) in quiet.calls
    else:
        assert refused(response, role)
        assert alias.last_validated_at is None and quiet.calls == []


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_the_actions_offered_on_the_profile_list(profile, role):
    response = client_for(role).get(reverse(PROFILES))
    if role is None:
        assert sent_to_login(response)
        return
    assert response.status_code == 200
    page = response.content.decode()
    for action in ("refresh_now", "refresh_activity_now", "validate_connection"):
        assert (f'value="{action}"' in page) == (role in MANAGERS), action


# -- identifiers: "Map to software model" --------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_map_to_software_model(role):
    identifier = factories.SubscriptionIdentifierFactory(unrecognized=True)
    subscription = factories.SoftwareSubscriptionFactory(identifier=identifier, software_model=None)
    model = factories.SoftwareModelFactory()
    client = client_for(role)
    data = {"action": "map_to_software_model", "_selected_action": [identifier.pk]}

    page = client.post(reverse(IDENTIFIERS), data)
    applied = client.post(reverse(IDENTIFIERS), {**data, "apply": "1", "software_model": model.pk})

    identifier.refresh_from_db()
    subscription.refresh_from_db()
    if role in MANAGERS:
        assert page.status_code == 200 and "Map to software model" in page.content.decode()
        assert applied.status_code == 302
        assert identifier.software_model_id == model.pk == subscription.software_model_id
    else:
        assert refused(page, role) and refused(applied, role)
        assert "Map to software model" not in page.content.decode()
        assert identifier.software_model_id is None and subscription.software_model_id is None


# -- the people import page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_people_import(role):
    client = client_for(role)
    url = reverse("admin:sam_saas_person_import")
    upload = io.BytesIO(b"email,name,active\nnew.hire@example.com,New Hire,true\n")
    upload.name = "people.csv"

    page = client.get(url)
    posted = client.post(url, {"file": upload})
    listed = client.get(reverse("admin:sam_saas_person_changelist"))

    imported = Person.objects.filter(email__iexact="new.hire@example.com").exists()
    if role is None:
        assert sent_to_login(page) and sent_to_login(posted) and not imported
    elif role in MANAGERS:
        assert page.status_code == 200 and posted.status_code == 302 and imported
        assert url in listed.content.decode()
    else:
        assert page.status_code == 403 and posted.status_code == 403 and not imported
        assert listed.status_code == 200 and url not in listed.content.decode()


# -- Calendly connect and callback ---------------------------------------------------------------


@pytest.fixture
def oauth_profile():
    parent = factories.ConnectionAliasFactory(
        name="Calendly app",
        auth_type=ConnectionAlias.AuthType.OAUTH2,
        auth_base_url="https://auth.calendly.example",
    )
    child = ConnectionAlias.objects.create(
        name="Acme child", parent=parent, auth_type=ConnectionAlias.AuthType.OAUTH2
    )
    return factories.IntegrationProfileFactory(
        alias=child, status="draft", organization_uri="", organization_name=""
    )


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_calendly_connect_and_callback(oauth_profile, role):
    client = client_for(role)
    alias = oauth_profile.alias
    connect_profile = client.get(reverse("calendly:connect-profile", args=[oauth_profile.pk]))
    connect_alias = client.get(reverse("calendly:connect-alias", args=[alias.pk]))
    callback = client.get(reverse("calendly:oauth-callback"), {"code": "c0de", "state": "s7ate"})
    forged_post = client.post(reverse("calendly:oauth-callback"), {"code": "c", "state": "s"})

    alias.refresh_from_db()
    assert alias.access_token == "" and alias.connection_status == "not_connected"
    if role is None:
        for response in (connect_profile, connect_alias, callback, forged_post):
            assert sent_to_login(response)
    elif role in MANAGERS:
        for response in (connect_profile, connect_alias):
            assert response.status_code == 302
            assert response["Location"].startswith("https://auth.calendly.example/oauth/authorize")
        assert callback.status_code == 302  # back to the admin, with "does not match" shown
        assert "calendly_oauth_pending" in client.session
    else:
        for response in (connect_profile, connect_alias, callback, forged_post):
            assert response.status_code == 403
        assert "calendly_oauth_pending" not in client.session


# -- reports, exports, dashboard, reconcile ------------------------------------------------------


@pytest.fixture
def report_data(profile):
    factories.SoftwareSubscriptionFactory(profile=profile)
    factories.JobRunFactory(profile=profile)
    factories.EntitlementFactory()
    factories.PersonFactory()


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_reports_and_exports_are_for_signed_in_staff_with_the_view_permission(report_data, role):
    client = client_for(role)
    urls = [reverse("sam_reports:index"), reverse("sam_dashboard")]
    urls += [reverse("sam_reports:csv", args=[name]) for name in registry.all_reports()]
    urls += [
        reverse(f"admin:sam_saas_{model}_export")
        for model in ("softwaresubscription", "person", "jobrun", "entitlement")
    ]
    for url in urls:
        response = client.get(url)
        if role is None:
            assert sent_to_login(response), url
        else:
            assert response.status_code == 200, (url, response.status_code)


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_reconcile_now(role):
    client = client_for(role)
    response = client.post(reverse("admin:sam_saas_licencepositionsnapshot_reconcile"))
    runs = JobRun.objects.filter(kind=JobRun.Kind.RECONCILE)
    if role is None:
        assert sent_to_login(response) and not runs.exists()
    elif role in MANAGERS:
        assert response.status_code == 302 and runs.count() == 1
    else:
        assert response.status_code == 403 and not runs.exists()


# -- job results and connection aliases ------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_job_results_are_read_only_and_nobody_deletes_them(profile, role):
    run = factories.JobRunFactory(profile=profile)
    client = client_for(role)
    change = client.post(
        reverse("admin:sam_saas_jobrun_change", args=[run.pk]), {"status": "queued"}
    )
    delete = client.post(reverse("admin:sam_saas_jobrun_delete", args=[run.pk]), {"post": "yes"})
    exists = JobRun.objects.filter(pk=run.pk).exists()
    if role is None:
        assert sent_to_login(change) and sent_to_login(delete) and exists
    else:  # superusers included: old runs leave only through prune_job_runs
        assert change.status_code == 403 and delete.status_code == 403 and exists


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_only_managers_change_connection_aliases(profile, role):
    alias = profile.alias
    client = client_for(role)
    response = client.post(
        reverse("admin:sam_saas_connectionalias_change", args=[alias.pk]),
        {
            "name": "renamed",
            "provider": alias.provider,
            "auth_type": alias.auth_type,
            "client_id": "forged-client",
        },
    )
    alias.refresh_from_db()
    if role is None:
        assert sent_to_login(response)
    elif role not in MANAGERS:
        assert response.status_code == 403
    if role not in MANAGERS:
        assert alias.name != "renamed" and alias.client_id != "forged-client"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
def test_forged_candidate_edits_change_nothing(profile, role):
    """The change form of a candidate is read-only for everyone (it moves through actions)."""
    candidate = factories.ReclamationCandidateFactory(
        subscription=factories.SoftwareSubscriptionFactory(profile=profile)
    )
    response = client_for(role).post(
        reverse("admin:reclamation_reclamationcandidate_change", args=[candidate.pk]),
        {"state": ReclamationCandidate.State.CLOSED_COMPLETE},
    )
    assert response.status_code in (302, 403)
    assert ReclamationCandidate.objects.get(pk=candidate.pk).state == candidate.state


def test_identifier_mapping_by_hand_posts_needs_the_change_permission():
    """A viewer who knows the URL of the change form cannot map an identifier either."""
    identifier = factories.SubscriptionIdentifierFactory(unrecognized=True)
    model = factories.SoftwareModelFactory()
    response = client_for("SAM viewer").post(
        reverse("admin:sam_saas_subscriptionidentifier_change", args=[identifier.pk]),
        {"software_model": model.pk},
    )
    assert response.status_code == 403
    assert SubscriptionIdentifier.objects.get(pk=identifier.pk).software_model_id is None
