"""Admin login throttling: five failed sign-ins for a username from one address lock that pair
out for 15 minutes, even with the right password; the lock expires; nobody else is affected."""

import logging
import time

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from sam_saas.security import LoginThrottle, ThrottledAdminAuthenticationForm

pytestmark = pytest.mark.django_db

LOGIN = reverse("admin:login")
LOCKED = "Too many failed sign-in attempts"
WRONG = "Please enter the correct username and password"


@pytest.fixture
def staff(django_user_model):
    django_user_model.objects.create_user("alice", password="right-pw-1", is_staff=True)
    django_user_model.objects.create_user("bob", password="right-pw-2", is_staff=True)


def sign_in(username, password, address="203.0.113.7"):
    client = Client(REMOTE_ADDR=address)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def fail(times, username="alice", address="203.0.113.7"):
    responses = [sign_in(username, "guess", address)[1] for _ in range(times)]
    return responses


def test_the_admin_uses_the_throttled_login_form():
    from django.contrib import admin

    assert admin.site.login_form is ThrottledAdminAuthenticationForm


def test_it_refuses_even_the_right_password_after_five_failures(staff):
    responses = fail(4)
    assert all(WRONG in r.content.decode() for r in responses)

    fifth = fail(1)[0].content.decode()
    assert LOCKED in fifth and "15 more minute(s)" in fifth  # the attempt that locked it says so

    client, response = sign_in("alice", "right-pw-1")
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert LOCKED in response.content.decode()
    assert not signed_in(client)


def test_it_lets_the_right_password_in_before_the_limit(staff):
    fail(4)
    client, response = sign_in("alice", "right-pw-1")
    assert response.status_code == 302 and signed_in(client)


def test_it_affects_neither_other_users_nor_the_same_user_elsewhere(staff):
    fail(5)
    bob, response = sign_in("bob", "right-pw-2")
    assert response.status_code == 302 and signed_in(bob)
    elsewhere, response = sign_in("alice", "right-pw-1", address="198.51.100.20")
    assert response.status_code == 302 and signed_in(elsewhere)


def test_it_treats_case_variants_of_a_username_as_one(staff):
    for name in ("alice", "Alice", "ALICE", "aLiCe", "alicE"):
        sign_in(name, "guess")
    client, response = sign_in("alice", "right-pw-1")
    assert LOCKED in response.content.decode() and not signed_in(client)


def test_the_lock_expires(staff, settings):
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "LOGIN_LOCKOUT_SECONDS": 1}
    fail(5)
    client, response = sign_in("alice", "right-pw-1")
    assert LOCKED in response.content.decode()
    time.sleep(1.2)
    client, response = sign_in("alice", "right-pw-1")
    assert response.status_code == 302 and signed_in(client)


def test_failures_outside_the_window_do_not_add_up(staff, settings):
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "LOGIN_FAILURE_WINDOW_SECONDS": 1}
    fail(4)
    time.sleep(1.2)
    fail(4)  # 8 failures, but never 5 within one window
    client, response = sign_in("alice", "right-pw-1")
    assert response.status_code == 302 and signed_in(client)


def test_a_successful_sign_in_clears_the_count(staff):
    fail(4)
    sign_in("alice", "right-pw-1")
    fail(4)
    client, response = sign_in("alice", "right-pw-1")
    assert response.status_code == 302 and signed_in(client)


def test_every_way_of_signing_in_is_throttled_not_only_the_admin_form(staff, rf):
    request = rf.post(LOGIN, REMOTE_ADDR="192.0.2.1")
    for _ in range(5):
        assert authenticate(request, username="alice", password="guess") is None
    assert authenticate(request, username="alice", password="right-pw-1") is None
    assert Client(REMOTE_ADDR="192.0.2.1").login(username="bob", password="right-pw-2")


def test_it_keeps_usernames_and_passwords_out_of_the_cache_keys_and_the_log(staff, caplog):
    caplog.set_level(logging.DEBUG)
    fail(5, username="alice")
    throttle = LoginThrottle("alice", "203.0.113.7")
    assert throttle.locked_for() > 0
    assert "alice" not in throttle.lock_key and "alice" not in throttle.failures_key
    assert cache.get(throttle.lock_key) is not None
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "sign-in locked" in text
    assert "alice" not in text and "guess" not in text


PROXY = "10.0.0.5"


def sign_in_via_proxy(username, password, forwarded_for):
    client = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    response = client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"})
    return client, response


def test_behind_a_proxy_an_attacker_cannot_lock_the_real_user_out(staff, settings):
    """Finding 7 of issue 11: behind one proxy every request has the proxy's REMOTE_ADDR, so
    five wrong passwords from anyone locked the user out. With TRUSTED_PROXY_COUNT the lock
    is per real client; a forged X-Forwarded-For prefix does not move the attacker."""
    settings.SAM_SETTINGS = {**settings.SAM_SETTINGS, "TRUSTED_PROXY_COUNT": 1}
    attacker = "203.0.113.66"
    for n in range(5):
        # The attacker sends its own X-Forwarded-For; the proxy appends the real address.
        sign_in_via_proxy("alice", "guess", f"198.51.100.{n}, {attacker}")
    client, response = sign_in_via_proxy("alice", "right-pw-1", "198.51.100.20")
    assert response.status_code == 302 and signed_in(client)

    # The attacker itself is locked, whatever it puts in front of its address.
    client, response = sign_in_via_proxy("alice", "right-pw-1", f"198.51.100.20, {attacker}")
    assert LOCKED in response.content.decode() and not signed_in(client)


def test_without_trusted_proxies_forwarded_for_is_ignored(staff):
    for n in range(5):
        sign_in_via_proxy("alice", "guess", f"198.51.100.{n}")
    client, response = sign_in_via_proxy("alice", "right-pw-1", "192.0.2.1")
    assert LOCKED in response.content.decode() and not signed_in(client)
