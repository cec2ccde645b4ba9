"""Shared fixtures and the service gates.

Tests that need PostgreSQL or Redis carry the ``postgres`` or ``redis`` marker. Without the
service they skip with a reason, unless REQUIRE_SERVICES=1 (CI), where they fail instead, so a
misconfigured CI cannot pass by skipping.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _redis_reachable() -> tuple[bool, str]:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL")
    if not url:
        return False, "REDIS_URL is not set"
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True, ""
    except OSError as exc:
        return False, f"Redis at {parsed.hostname}:{parsed.port} is unreachable ({exc})"


def _gate(item, ok: bool, reason: str):
    if ok:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        _gate(
            item,
            connection.vendor == "postgresql",
            f"needs PostgreSQL (DATABASE_URL points at {connection.vendor})",
        )
    if item.get_closest_marker("redis"):
        ok, reason = _redis_reachable()
        _gate(item, ok, f"needs Redis: {reason}")


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client
