"""Secrets (the OAuth client secret, access and refresh tokens) never appear in an export, a log
line, a history record or anywhere in the database in clear: a real OAuth connect, download,
token refresh, activity pull, seat removal, a vendor-side revocation and an admin edit of the
client secret are run, then every log record and every cell of every table (read with raw SQL)
is searched for every token the fake Calendly ever issued.

Admin pages are covered by tests/sam_saas/test_admin_pages.py and test_admin_secrets.py."""

import logging
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.urls import reverse

from calendly_integration import reclaim
from calendly_integration.sandbox import DEFAULT_CLIENT_SECRET, start_sandbox
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.reports import registry
from sam_saas.services import jobs
from tests import factories
from tests.helpers import alias_form, consent, oauth_profile

pytestmark = pytest.mark.django_db

NEW_CLIENT_SECRET = "rotated-client-secret-Qx81Lm"
FERNET_PREFIX = "gAAAAA"


@pytest.fixture
def sandbox():
    with start_sandbox(members=12, plan="enterprise", seed=5, rate_limit=0) as sb:
        yield sb


def issued_secrets(sandbox) -> set[str]:
    state = sandbox.state
    with state.lock:
        return {*state.tokens, *state.refresh_tokens, DEFAULT_CLIENT_SECRET}


def run_everything(sandbox, admin_client) -> tuple[set[str], IntegrationProfile]:
    """Connect, download, refresh a token, pull activity, remove a seat, edit the client
    secret in the admin, then get revoked by the vendor. Returns every secret seen."""
    seen: set[str] = set()
    profile = oauth_profile(sandbox, reclaim_enabled=True)
    child = profile.alias
    parent = child.parent

    start = admin_client.get(reverse("calendly:connect-profile", args=[profile.pk]))
    back = urlsplit(consent(start["Location"]))
    assert admin_client.get(f"{back.path}?{back.query}").status_code == 302
    seen |= issued_secrets(sandbox)

    download = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    assert download.status == JobRun.Status.SUCCEEDED, download.error_message

    sandbox.faults.expire_access_tokens_now()  # the next call answers 401: refresh, once
    activity = jobs.run_now(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.COMMAND)
    assert activity.status == JobRun.Status.SUCCEEDED, activity.error_message
    seen |= issued_secrets(sandbox)

    seat = (
        SoftwareSubscription.objects.filter(profile=profile, role="user", kind="member")
        .select_related("profile__alias__parent")
        .first()
    )
    outcome = reclaim.reclaim_subscription(seat)
    assert outcome.result == "removed", outcome

    response = admin_client.post(
        reverse("admin:sam_saas_connectionalias_change", args=[parent.pk]),
        alias_form(parent, client_secret=NEW_CLIENT_SECRET),
    )
    assert response.status_code == 302
    ConnectionAlias.objects.filter(pk=parent.pk).update(client_secret=DEFAULT_CLIENT_SECRET)
    seen.add(NEW_CLIENT_SECRET)

    child.refresh_from_db()
    sandbox.state.revoke_token(child.refresh_token)  # revoked from Calendly's side
    sandbox.faults.expire_access_tokens_now()
    failed = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
    assert failed.status == JobRun.Status.FAILED and failed.hint
    seen |= issued_secrets(sandbox)
    return seen, profile


def render(record: logging.LogRecord) -> str:
    text = logging.Formatter("%(name)s %(levelname)s %(message)s").format(record)
    return f"{text} {record.args!r} {record.__dict__!r}"


def test_no_log_record_carries_a_secret(sandbox, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    secrets, _ = run_everything(sandbox, admin_client)

    assert len(secrets) >= 6  # client secrets, two access/refresh pairs at least
    records = caplog.records
    assert any("Calendly" in r.getMessage() for r in records)  # the client did log
    for record in records:
        text = render(record)
        leaked = [s for s in secrets if s in text]
        assert leaked == [], f"{record.name}: {record.getMessage()[:200]}"


def test_the_database_holds_only_ciphertext(sandbox, admin_client):
    secrets, profile = run_everything(sandbox, admin_client)

    # Every cell of every table, read with raw SQL, is free of every secret in clear.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                cells = " ".join(str(cell) for cell in row if cell is not None)
                leaked = [s for s in secrets if s in cells]
                assert leaked == [], f"secret in clear in table {table}"

    # The secret columns hold Fernet tokens that decrypt, with the configured keys, to what the
    # application reads.
    fernet = MultiFernet([Fernet(k.encode()) for k in settings.FIELD_ENCRYPTION_KEYS])
    columns = ", ".join(ConnectionAlias.SECRET_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {columns} FROM sam_saas_connectionalias")  # noqa: S608
        rows = cursor.fetchall()
    stored = 0
    for pk, *values in rows:
        alias = ConnectionAlias.objects.get(pk=pk)
        for name, value in zip(ConnectionAlias.SECRET_FIELDS, values, strict=True):
            if not value:
                assert getattr(alias, name) == ""
                continue
            stored += 1
            assert value.startswith(FERNET_PREFIX)
            assert fernet.decrypt(value.encode()).decode() == getattr(alias, name)
    assert stored >= 3

    # The history record of the client-secret change names the field, never the value.
    entry = LogEntry.objects.filter(object_id=str(profile.alias.parent_id)).latest("action_time")
    assert "client" in entry.get_change_message().lower()


def test_no_export_carries_a_secret_or_its_ciphertext(admin_client):
    alias = factories.ConnectionAliasFactory(
        client_secret="cs-EXPORT-9fK2", access_token="at-EXPORT-7hQ1", refresh_token="rt-EXP-3"
    )
    profile = factories.IntegrationProfileFactory(alias=alias)
    factories.SoftwareSubscriptionFactory.create_batch(3, profile=profile)
    factories.JobRunFactory(profile=profile, status="failed", error_message="401 from Calendly")
    factories.EntitlementFactory()
    factories.PersonFactory()
    plain = [alias.client_secret, alias.access_token, alias.refresh_token]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT client_secret, access_token, refresh_token FROM sam_saas_connectionalias"
        )
        ciphertexts = [v for row in cursor.fetchall() for v in row if v]
    assert ciphertexts

    urls = [reverse("sam_reports:csv", args=[name]) for name in registry.all_reports()]
    urls += [
        reverse(f"admin:sam_saas_{model}_export")
        for model in ("softwaresubscription", "person", "jobrun", "entitlement")
    ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert body.count("\n") >= 1, url
        for value in [*plain, *ciphertexts]:
            assert value not in body, url
