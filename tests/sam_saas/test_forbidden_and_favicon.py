"""The 403 page inside the admin, naming the permission and the group that grants it; the
favicon."""

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client(*groups):
    client = Client()
    client.force_login(UserFactory(groups=list(groups)))
    return client


def test_it_names_the_group_that_grants_a_refused_admin_page():
    response = _client("SAM viewer").get(reverse("admin:sam_saas_person_add"))

    html = response.content.decode()
    assert response.status_code == 403
    assert 'id="needed-permissions"' in html
    assert "Can add person" in html and "sam_saas.add_person" in html
    assert '<strong class="granting-group">SAM manager</strong>' in html
    assert "SAM viewer</strong>" not in html  # the viewer's own group does not grant it
    assert 'id="site-name"' in html  # the admin's frame, not a bare "403 Forbidden"


def test_it_names_every_permission_an_upload_needs():
    response = _client("SAM viewer").get(reverse("admin:sam_saas_person_import"))

    html = response.content.decode()
    assert response.status_code == 403
    assert "all of these permissions" in html
    assert "sam_saas.add_person" in html and "sam_saas.change_person" in html


def test_it_names_the_groups_of_a_reclamation_approval():
    from sam_saas.forbidden import explain

    (item,) = explain(("reclamation.approve_reclamationcandidate",))

    assert item["groups"] == ["SAM approver", "SAM manager"]


def test_it_says_when_no_group_grants_a_permission():
    from sam_saas.forbidden import explain

    (item,) = explain(("auth.delete_user",))

    assert item["groups"] == []


def test_a_report_refused_to_a_user_without_groups_names_the_viewer_group():
    response = _client().get(reverse("sam_reports:csv", args=["people"]))

    html = response.content.decode()
    assert response.status_code == 403
    for group in ("SAM manager", "SAM approver", "SAM viewer"):
        assert f'<strong class="granting-group">{group}</strong>' in html


def test_it_serves_the_favicon_and_every_admin_page_links_it(admin_client):
    icon = admin_client.get("/favicon.ico")
    index = admin_client.get(reverse("admin:index")).content.decode()

    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/x-icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age" in icon["Cache-Control"]
    assert '<link rel="icon" href="/favicon.ico"' in index
    assert Client().get("/favicon.ico").status_code == 200  # no login needed for an icon
