"""CSRF is enforced on every POST: no view opts out, and each state-changing POST of the
product is refused without the token (and changes nothing), then accepted with it.

The test client skips CSRF checks unless ``enforce_csrf_checks=True``, so every client here
enforces them, as a browser session would."""

import io

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from reclamation.kinds import JobKind
from reclamation.models import ReclamationCandidate
from sam_saas.models import JobRun, Person, SubscriptionIdentifier
from tests import factories

from .conftest import client_for

pytestmark = pytest.mark.django_db


def _callbacks(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _callbacks(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def test_no_view_is_exempt_from_csrf_protection():
    routes = list(_callbacks(get_resolver().url_patterns))
    assert len(routes) > 50  # the admin, the reports, the OAuth views, the answer links
    exempt = [route for route, view in routes if getattr(view, "csrf_exempt", False)]
    assert exempt == []


def test_the_admin_login_needs_the_token(django_user_model):
    django_user_model.objects.create_user("alice", password="right-pw-1", is_staff=True)
    client = Client(enforce_csrf_checks=True)
    forged = client.post(reverse("admin:login"), {"username": "alice", "password": "right-pw-1"})
    assert forged.status_code == 403 and SESSION_KEY not in client.session

    client.get(reverse("admin:login"))  # sets the CSRF cookie, as the login page does
    token = client.cookies["csrftoken"].value
    real = client.post(
        reverse("admin:login"),
        {"username": "alice", "password": "right-pw-1", "csrfmiddlewaretoken": token},
    )
    assert real.status_code == 302 and SESSION_KEY in client.session


@pytest.fixture
def world(quiet):
    """One of everything the POSTs below act on."""
    profile = factories.IntegrationProfileFactory(
        provider="quiet", alias=factories.ConnectionAliasFactory(provider="quiet")
    )
    identifier = factories.SubscriptionIdentifierFactory(unrecognized=True)
    model = factories.SoftwareModelFactory()
    subscription = factories.SoftwareSubscriptionFactory(profile=profile)
    candidate = factories.ReclamationCandidateFactory(subscription=subscription)
    return {
        "profile": profile,
        "identifier": identifier,
        "model": model,
        "candidate": candidate,
    }


def _csv():
    upload = io.BytesIO(b"email,name\nnew.person@example.com,New Person\n")
    upload.name = "people.csv"
    return upload


def _posts(world):
    """name -> (url, data, did_it_happen)"""
    profile, identifier, model, candidate = (
        world["profile"],
        world["identifier"],
        world["model"],
        world["candidate"],
    )
    return {
        "refresh now": (
            reverse("admin:sam_saas_integrationprofile_changelist"),
            lambda: {"action": "refresh_now", "_selected_action": [profile.pk]},
            lambda: JobRun.objects.filter(profile=profile, kind=JobRun.Kind.DOWNLOAD).exists(),
        ),
        "map to software model": (
            reverse("admin:sam_saas_subscriptionidentifier_changelist"),
            lambda: {
                "action": "map_to_software_model",
                "_selected_action": [identifier.pk],
                "apply": "1",
                "software_model": model.pk,
            },
            lambda: (
                SubscriptionIdentifier.objects.get(pk=identifier.pk).software_model_id == model.pk
            ),
        ),
        "people import": (
            reverse("admin:sam_saas_person_import"),
            lambda: {"file": _csv()},
            lambda: Person.objects.filter(email__iexact="new.person@example.com").exists(),
        ),
        "approve candidate": (
            reverse("admin:reclamation_reclamationcandidate_changelist"),
            lambda: {"action": "approve", "_selected_action": [candidate.pk], "apply": "yes"},
            lambda: (
                ReclamationCandidate.objects.get(pk=candidate.pk).state
                != ReclamationCandidate.State.AWAITING_APPROVAL
            ),
        ),
        "identify candidates now": (
            reverse("admin:reclamation_reclamationcandidate_identify"),
            dict,
            lambda: JobRun.objects.filter(kind=JobKind.CANDIDATES).exists(),
        ),
        "reconcile now": (
            reverse("admin:sam_saas_licencepositionsnapshot_reconcile"),
            dict,
            lambda: JobRun.objects.filter(kind=JobRun.Kind.RECONCILE).exists(),
        ),
        "delete a profile": (
            reverse("admin:sam_saas_integrationprofile_delete", args=[profile.pk]),
            lambda: {"post": "yes"},
            lambda: not type(profile).objects.filter(pk=profile.pk).exists(),
        ),
    }


CASES = [
    "refresh now",
    "map to software model",
    "people import",
    "approve candidate",
    "identify candidates now",
    "reconcile now",
    "delete a profile",
]


@pytest.mark.parametrize("name", CASES)
def test_each_admin_post_is_refused_without_the_token_and_accepted_with_it(world, name):
    url, data, happened = _posts(world)[name]
    client = client_for("superuser", enforce_csrf_checks=True)

    forged = client.post(url, data())
    assert forged.status_code == 403, name
    assert "CSRF" in forged.content.decode()
    assert not happened(), f"{name} acted on a POST without a CSRF token"

    client.get(reverse("admin:index"))  # any admin page hands out the CSRF cookie
    token = client.cookies["csrftoken"].value
    real = client.post(url, {**data(), "csrfmiddlewaretoken": token})
    assert real.status_code in (200, 302), (name, real.status_code)
    assert happened(), f"{name} did not act with a valid CSRF token"


def test_the_seat_holders_answer_link_needs_the_token_too():
    """The e-mailed "Release it" page is public, but its POST is CSRF-protected: another site
    cannot make a signed-in browser release a seat."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("reclamation:answer", args=["any-token"]))
    assert response.status_code == 403 and "CSRF" in response.content.decode()
