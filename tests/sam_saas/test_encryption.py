"""Secrets are ciphertext in the database, and key rotation re-encrypts with the first key."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from sam_saas import crypto
from sam_saas.models import ConnectionAlias

pytestmark = pytest.mark.django_db

OLD = "dGVzdC1rZXktb25lLW5vdC1zZWNyZXQtMDEyMzQ1Njc="
NEW = Fernet.generate_key().decode()


def raw(alias, column):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM sam_saas_connectionalias WHERE id = %s", [alias.pk])
        return cursor.fetchone()[0]


def test_it_stores_only_ciphertext_and_reads_plaintext():
    alias = ConnectionAlias.objects.create(
        name="x", client_secret="s3cret-client", access_token="tok-123", refresh_token=""
    )
    stored = raw(alias, "access_token")
    assert stored and "tok-123" not in stored
    assert Fernet(OLD.encode()).decrypt(stored.encode()) == b"tok-123"
    assert raw(alias, "refresh_token") == ""
    assert ConnectionAlias.objects.get(pk=alias.pk).access_token == "tok-123"


def test_it_rotates_every_secret_to_the_first_key(settings, capsys):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    alias = ConnectionAlias.objects.create(
        name="y", client_secret="cs", access_token="at", refresh_token="rt"
    )
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_encryption_keys")
    out = capsys.readouterr().out
    assert "Rotated 3 secret(s)" in out

    for column, plain in (("client_secret", "cs"), ("access_token", "at"), ("refresh_token", "rt")):
        assert Fernet(NEW.encode()).decrypt(raw(alias, column).encode()).decode() == plain
    settings.FIELD_ENCRYPTION_KEYS = [NEW]  # the old key can go now
    fresh = ConnectionAlias.objects.get(pk=alias.pk)
    assert (fresh.client_secret, fresh.access_token, fresh.refresh_token) == ("cs", "at", "rt")


def test_it_fails_clearly_when_a_key_was_dropped_too_early(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    alias = ConnectionAlias.objects.create(name="z", access_token="at")
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(crypto.DecryptionError, match="rotate_encryption_keys"):
        ConnectionAlias.objects.get(pk=alias.pk)


def test_it_refuses_to_start_without_keys(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.FIELD_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
        crypto.encrypt("x")
