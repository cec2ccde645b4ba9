"""The PostgreSQL ``COPY`` path of the CSV export writes the same bytes as the value path.

Both paths run on the same queryset with the clock stopped, on data chosen to break one or
the other: quotes, commas, CR and LF inside fields, non-ASCII, every formula trigger, empty
strings and NULLs, fractional seconds, inactive days on the boundary of a day, unknown choice
values, seats without person, software model or identifier."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from sam_saas.models import SoftwareSubscription
from sam_saas.reports import pg_copy, registry
from tests import factories

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        "connection.vendor != 'postgresql'", reason="COPY is PostgreSQL's; SQLite keeps values"
    ),
]

NOW = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
Sub = SoftwareSubscription
HOSTILE = [
    '=HYPERLINK("http://evil")',
    "+1 555 0100",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "Lima, Ana",
    'Say "hi"',
    "two\nlines",
    "cr\rhere",
    "Åsa Hernández 日本 🙂",
    "",
    "'already quoted",
    "\\.",
    " spaced ",
]


@pytest.fixture
def stopped_clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


@pytest.fixture
def hostile_data(stopped_clock):
    publisher = factories.PublisherFactory(name="=Evil, Inc.")
    model = factories.SoftwareModelFactory(
        publisher=publisher, product='Cal "endly"', edition="Teams\nPlus"
    )
    profile = factories.IntegrationProfileFactory(name="+Acme, Ünited")
    identifier = factories.SubscriptionIdentifierFactory(software_model=model, value="@teams")
    profile.last_listed_at = NOW - dt.timedelta(hours=1, microseconds=5)
    profile.save(update_fields=["last_listed_at"])
    day = dt.timedelta(days=1)
    moments = [
        None,
        NOW - 3 * day,  # exactly three days: 3
        NOW - 3 * day + dt.timedelta(microseconds=1),  # a microsecond short: 2
        NOW - 3 * day - dt.timedelta(microseconds=999_999),
        NOW + dt.timedelta(hours=5),  # in the future: -1
        dt.datetime(1999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        NOW - dt.timedelta(days=400, seconds=1),
    ]
    for n, text in enumerate(HOSTILE):
        person = None
        if n % 3:
            person = factories.PersonFactory(
                name=text,
                email=f"p{n}@corp.example",
                department=HOSTILE[-1 - n],
                cost_center="" if n % 2 else "-CC",
                active=bool(n % 4),
            )
        factories.SoftwareSubscriptionFactory(
            profile=profile,
            person=person,
            identifier=identifier if n % 2 else None,
            software_model=model if n % 5 else None,
            user_principal_name=text or f"nobody{n}@ext.example",
            user_name=text,
            role=HOSTILE[(n + 3) % len(HOSTILE)],
            kind=Sub.Kind.INVITATION if n % 4 == 1 else Sub.Kind.MEMBER,
            status=[Sub.Status.ACTIVE, Sub.Status.PENDING, Sub.Status.REMOVED][n % 3],
            external_created_at=moments[n % len(moments)],
            last_activity_at=moments[(n + 1) % len(moments)],
            last_login_at=moments[(n + 2) % len(moments)],
            last_activity_evidence=HOSTILE[(n + 5) % len(HOSTILE)],
            excluded_from_cost=n % 2 == 0,
            cost_exclusion_reason=HOSTILE[(n + 7) % len(HOSTILE)],
            reclamation_exclusion_reason="=cmd|' /C calc'!A0" if n == 4 else "",
        )
    # A choice value the model no longer declares is written as itself, escaped.
    Sub.objects.filter(user_name="-2+3").update(status="=retired")
    return profile


def both(report, queryset, *, bom=False) -> tuple[bytes, bytes]:
    values = b"".join(report.stream(queryset, bom=bom, method="values"))
    copied = b"".join(report.stream(queryset, bom=bom, method="copy"))
    return values, copied


@pytest.mark.parametrize("bom", [False, True])
def test_copy_writes_the_same_bytes_as_the_value_path(hostile_data, bom):
    report = registry.get("subscriptions")
    queryset = report.filter({})

    assert pg_copy.supports(report, queryset, NOW)
    values, copied = both(report, queryset, bom=bom)

    assert copied == values
    assert values.count(b"\r\n") > len(HOSTILE)  # rows were written, line breaks inside fields
    assert b"'=HYPERLINK" in copied and b"'=retired" in copied and b"'@teams" in copied
    assert copied.startswith(b"\xef\xbb\xbf") is bom


def test_every_report_copy_can_format_agrees_with_the_value_path(hostile_data):
    factories.PersonFactory(name="=Boss", email="boss@corp.example", department='R&D, "lab"')
    compared = []
    for report in registry.all_reports().values():
        queryset = report.filter({})
        if not pg_copy.supports(report, queryset, NOW):
            continue
        values, copied = both(report, queryset)
        assert copied == values, report.name
        compared.append(report.name)

    assert {"subscriptions", "subscriptions-without-user", "people"} <= set(compared)


def test_filters_and_the_admins_order_are_the_same_rows(hostile_data):
    report = registry.get("subscriptions")
    filtered = report.filter({"status": "active"})
    ordered = Sub.objects.order_by("-user_name", "pk")  # the admin button keeps its order

    for queryset in (filtered, ordered):
        values, copied = both(report, queryset)
        assert copied == values


def test_a_report_with_a_python_column_keeps_the_value_path(hostile_data):
    report = registry.get("entitlements")  # "annual cost" is computed in Python

    assert not pg_copy.supports(report, report.filter({}), NOW)


def test_stopping_halfway_leaves_the_connection_usable(hostile_data, monkeypatch):
    monkeypatch.setattr(pg_copy, "ROWS_PER_CHUNK", 2)
    report = registry.get("subscriptions")
    chunks = report.stream(report.filter({}), method="copy")

    next(chunks), next(chunks)  # the header and the first two rows
    chunks.close()  # the client went away

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
