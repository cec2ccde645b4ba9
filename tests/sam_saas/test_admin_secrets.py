"""Connection alias secrets are write-only in the admin: kept when left empty, replaced when
entered, erased when "clear" is ticked, and never shown (nor their ciphertext) on any page or
in the change history."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test import Client
from django.urls import reverse

from sam_saas.models import ConnectionAlias
from tests.factories import ConnectionAliasFactory, UserFactory
from tests.helpers import alias_form

SECRETS = {
    "client_secret": "client-secret-Hk29sLq0",
    "access_token": "access-token-Wv83nRt5",
    "refresh_token": "refresh-token-Ue71mPd4",
}


@pytest.fixture
def alias(db):
    return ConnectionAliasFactory(name="calendly-prod", **SECRETS)


def _change_url(alias):
    return reverse("admin:sam_saas_connectionalias_change", args=[alias.pk])


def _ciphertexts(alias):
    columns = ", ".join(ConnectionAlias.SECRET_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM sam_saas_connectionalias WHERE id = %s",  # noqa: S608
            [alias.pk],
        )
        return [v for v in cursor.fetchone() if v]


def _assert_no_secret(html, alias, extra=()):
    for value in [*SECRETS.values(), *_ciphertexts(alias), *extra]:
        assert value not in html


@pytest.mark.django_db
def test_it_keeps_the_stored_secrets_when_the_inputs_are_left_empty(admin_client, alias):
    response = admin_client.post(_change_url(alias), alias_form(alias, client_id="new-client"))

    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.client_id == "new-client"
    assert {name: getattr(alias, name) for name in SECRETS} == SECRETS


@pytest.mark.django_db
def test_it_replaces_a_secret_with_a_new_value(admin_client, alias):
    response = admin_client.post(
        _change_url(alias), alias_form(alias, access_token="  pat-NEW-1  ")
    )

    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.access_token == "pat-NEW-1"
    assert alias.client_secret == SECRETS["client_secret"]
    assert alias.refresh_token == SECRETS["refresh_token"]


@pytest.mark.django_db
def test_it_clears_a_secret_when_asked(admin_client, alias):
    response = admin_client.post(_change_url(alias), alias_form(alias, clear_refresh_token="on"))

    assert response.status_code == 302
    alias.refresh_from_db()
    assert alias.refresh_token == ""
    assert alias.access_token == SECRETS["access_token"]
    assert len(_ciphertexts(alias)) == 2


@pytest.mark.django_db
def test_it_refuses_a_new_value_and_clear_at_once(admin_client, alias):
    response = admin_client.post(
        _change_url(alias),
        alias_form(alias, access_token="pat-NEW-2", clear_access_token="on"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "not both" in html
    _assert_no_secret(html, alias, extra=["pat-NEW-2"])
    alias.refresh_from_db()
    assert alias.access_token == SECRETS["access_token"]


@pytest.mark.django_db
def test_it_does_not_echo_a_new_secret_when_the_form_has_errors(admin_client, alias):
    response = admin_client.post(
        _change_url(alias), alias_form(alias, name="", client_secret="typed-Secret-99")
    )

    assert response.status_code == 200
    _assert_no_secret(response.content.decode(), alias, extra=["typed-Secret-99"])


@pytest.mark.django_db
def test_it_shows_only_whether_a_secret_is_set(admin_client, alias):
    alias.refresh_token = ""
    alias.save()

    html = admin_client.get(_change_url(alias)).content.decode()

    _assert_no_secret(html, alias)
    assert html.count("Stored encrypted. Leave empty to keep the current value.") == 3
    assert html.count("Currently: set.") == 2
    assert html.count("Currently: not set.") == 1
    assert 'type="password" name="client_secret"' in html


@pytest.mark.django_db
def test_it_shows_a_view_only_user_the_state_but_never_the_secret(alias):
    viewer = UserFactory(groups=["SAM viewer"])
    client = Client()
    client.force_login(viewer)

    html = client.get(_change_url(alias)).content.decode()
    listing = client.get(reverse("admin:sam_saas_connectionalias_changelist")).content.decode()

    assert 'name="client_secret"' not in html
    assert ">set<" in html.replace("\n", "").replace(" ", "")
    _assert_no_secret(html, alias)
    _assert_no_secret(listing, alias)


@pytest.mark.django_db
def test_it_keeps_secret_values_out_of_the_change_history(admin_client, alias):
    admin_client.post(_change_url(alias), alias_form(alias, client_secret="cs-ROTATED-7"))
    admin_client.post(_change_url(alias), alias_form(alias, clear_access_token="on"))

    entries = LogEntry.objects.filter(object_id=str(alias.pk)).order_by("pk")
    messages = [entry.get_change_message() for entry in entries]
    raw = " ".join(entry.change_message for entry in entries)
    history = admin_client.get(
        reverse("admin:sam_saas_connectionalias_history", args=[alias.pk])
    ).content.decode()

    assert messages == ["Changed Client secret (replaced).", "Changed Access token (cleared)."]
    for text in (raw, history):
        _assert_no_secret(text, alias, extra=["cs-ROTATED-7"])


@pytest.mark.django_db
def test_it_stores_a_secret_entered_on_the_add_page(admin_client):
    response = admin_client.post(
        reverse("admin:sam_saas_connectionalias_add"),
        {
            "name": "new-alias",
            "provider": "calendly",
            "auth_type": "personal_token",
            "access_token": "pat-ADDED-3",
        },
    )

    assert response.status_code == 302
    alias = ConnectionAlias.objects.get(name="new-alias")
    assert alias.access_token == "pat-ADDED-3"
    assert alias.client_secret == ""
    entry = LogEntry.objects.get(object_id=str(alias.pk))
    assert "pat-ADDED-3" not in entry.change_message


@pytest.mark.django_db
def test_it_offers_only_top_level_aliases_as_parent(admin_client, alias):
    child = ConnectionAliasFactory(name="calendly-child", parent=alias)
    url = reverse("admin:autocomplete")

    response = admin_client.get(
        url,
        {
            "app_label": "sam_saas",
            "model_name": "connectionalias",
            "field_name": "parent",
            "term": "calendly",
        },
    )

    ids = {result["id"] for result in response.json()["results"]}
    assert str(alias.pk) in ids
    assert str(child.pk) not in ids
