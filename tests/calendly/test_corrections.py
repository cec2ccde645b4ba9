"""Manual corrections persist: a person or software model set by hand on a subscription is
kept by the download (real HTTP to the fake Calendly), the resolution rules and identifier
mapping, until "Return to automatic" hands it back to the rules."""

import pytest
from django.urls import reverse

from sam_saas.models import (
    JobRun,
    Person,
    Publisher,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
)
from sam_saas.services import jobs
from sam_saas.services.rules import apply_rules

pytestmark = pytest.mark.django_db


def download(profile):
    result = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    assert result.status == JobRun.Status.SUCCEEDED, (result.error_message, result.hint)


@pytest.fixture
def downloaded(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Fixes Inc", members=12, plan="teams", seed=3)
    for member in org.members:
        Person.objects.create(email=member.user.email, name=member.user.name)
    profile = make_pat_profile(name="Fixes", token=org.admin_token)
    download(profile)
    seat = SoftwareSubscription.objects.filter(profile=profile, role="user").order_by("pk").first()
    assert seat.person is not None and seat.person.email == seat.user_principal_name
    return profile, seat


def change_form(client, seat, **changes):
    data = {
        "person": seat.person_id or "",
        "software_model": seat.software_model_id or "",
        **changes,
    }
    url = reverse("admin:sam_saas_softwaresubscription_change", args=[seat.pk])
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_person_set_by_hand_survives_a_download_and_return_to_automatic_hands_it_back(
    downloaded, admin_client, superuser
):
    profile, seat = downloaded
    automatic = seat.person
    owner = Person.objects.create(email="mailbox-owner@example.com", name="Mailbox Owner")
    change_form(admin_client, seat, person=owner.pk)
    seat.refresh_from_db()
    assert seat.person == owner
    assert seat.person_set_by == superuser.username and seat.person_set_at is not None
    assert seat.software_model_set_at is None  # only what changed is marked

    download(profile)
    apply_rules(profile)
    seat.refresh_from_db()
    assert seat.person == owner, "the download or the rules undid a correction by hand"

    page = admin_client.get(
        reverse("admin:sam_saas_softwaresubscription_change", args=[seat.pk])
    ).content.decode()
    assert superuser.username in page

    response = admin_client.post(
        reverse("admin:sam_saas_softwaresubscription_changelist"),
        {"action": "return_to_automatic", "_selected_action": [seat.pk]},
        follow=True,
    )
    assert "Returned to automatic: 1 person(s)" in response.content.decode()
    seat.refresh_from_db()
    assert seat.person == automatic and seat.person_set_at is None and seat.person_set_by == ""
    download(profile)
    seat.refresh_from_db()
    assert seat.person == automatic


def test_nobody_set_by_hand_stays_nobody(downloaded, admin_client):
    profile, seat = downloaded
    change_form(admin_client, seat, person="")
    download(profile)
    seat.refresh_from_db()
    assert seat.person is None and seat.person_set_at is not None


def test_a_software_model_set_by_hand_survives_download_and_mapping(downloaded, admin_client):
    profile, seat = downloaded
    automatic = seat.software_model
    assert automatic is not None
    other = SoftwareModel.objects.create(
        publisher=Publisher.objects.get_or_create(name="Calendly")[0],
        product="Calendly",
        edition="Enterprise (negotiated)",
    )
    change_form(admin_client, seat, software_model=other.pk)
    download(profile)
    seat.refresh_from_db()
    assert seat.software_model == other and seat.software_model_set_at is not None
    neighbour = SoftwareSubscription.objects.filter(profile=profile).exclude(pk=seat.pk).first()
    assert neighbour.software_model == automatic

    # Re-mapping the identifier re-points every seat but this one.
    identifier = SubscriptionIdentifier.objects.get(pk=seat.identifier_id)
    third = SoftwareModel.objects.create(publisher=other.publisher, product="Calendly", edition="X")
    identifier.map_to(third)
    seat.refresh_from_db()
    neighbour.refresh_from_db()
    assert seat.software_model == other and neighbour.software_model == third

    admin_client.post(
        reverse("admin:sam_saas_softwaresubscription_changelist"),
        {"action": "return_to_automatic", "_selected_action": [seat.pk]},
    )
    seat.refresh_from_db()
    assert seat.software_model == third and seat.software_model_set_at is None
