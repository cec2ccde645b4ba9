"""Finding 8 of issue 11: the OAuth callback is a URL anyone can send an administrator, so its
``error_description`` (attacker text) must never become an admin message; known RFC 6749
error codes map to the product's own words."""

from urllib.parse import urlencode

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

pytestmark = pytest.mark.django_db

PHISHING = "Your session expired. Sign in again at https://evil.example/login"


def callback(client, **params):
    return client.get(f"{reverse('calendly:oauth-callback')}?{urlencode(params)}", follow=True)


def shown(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request)) + (
        response.content.decode()
    )


def test_the_error_description_of_a_forged_callback_is_never_shown(admin_client):
    response = callback(admin_client, error="access_denied", error_description=PHISHING)
    text = shown(response)
    assert "evil.example" not in text and "session expired" not in text
    assert "the Calendly user declined the authorization request" in text


def test_an_unknown_error_code_is_not_echoed_either(admin_client):
    response = callback(admin_client, error="visit-evil.example-now", error_description=PHISHING)
    text = shown(response)
    assert "evil.example" not in text
    assert "Calendly answered with an error." in text
