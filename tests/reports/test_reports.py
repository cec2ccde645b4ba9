"""The CSV reports: columns, filters, permissions, and the three ways in."""

import csv
import datetime as dt
import io

import pytest
from django.contrib import admin
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from reclamation.models import ReclamationCandidate
from sam_saas.models import JobRun, SoftwareSubscription
from sam_saas.reports import registry
from tests import factories

from .conftest import read_csv, seats

pytestmark = pytest.mark.django_db

SUBSCRIPTION_COLUMNS = [
    "subscription id", "e-mail", "user name", "person", "person e-mail", "person active",
    "department", "cost center", "profile", "provider", "publisher", "product", "edition",
    "subscription identifier", "kind", "role", "status", "created at vendor", "first seen",
    "last seen", "last activity", "last activity source", "last activity evidence",
    "inactive days", "last login", "excluded from cost", "cost exclusion reason",
    "excluded from reclamation", "reclamation exclusion reason", "external user id",
    "vendor seat",
]  # fmt: skip
IDENTIFIER_COLUMNS = [
    "provider", "subscription identifier", "recognized", "publisher", "product", "edition",
    "subscriptions", "seats held", "profiles", "first seen",
]  # fmt: skip
COLUMNS = {
    "subscriptions": SUBSCRIPTION_COLUMNS,
    "subscriptions-without-user": SUBSCRIPTION_COLUMNS,
    "candidates": [
        "candidate id", "state", "justification", "e-mail", "person", "department",
        "cost center", "profile", "provider", "rule", "seat kind", "last activity",
        "last activity source", "inactive days", "potential savings / year", "currency",
        "raised at", "state changed at", "closed at", "user notified at", "user response",
        "events", "last event at", "last event", "last event by", "last event note", "message",
    ],
    "candidate-events": [
        "event id", "candidate id", "at", "e-mail", "profile", "from", "to", "by", "note",
    ],
    "identifiers": IDENTIFIER_COLUMNS,
    "unrecognized-identifiers": IDENTIFIER_COLUMNS,
    "licence-position": [
        "date", "publisher", "product", "edition", "profile", "currency", "status",
        "rights purchased", "seats assigned", "pending invitations", "excluded from cost",
        "available", "shortfall (true-up seats)", "true-up cost / year",
        "over-licensed cost / year", "annual unit cost", "annual spend", "stale seats",
        "open candidates", "potential savings / year", "candidates of unknown cost",
        "freed seats this year", "freed value this year",
    ],
    "job-runs": [
        "job run id", "job", "profile", "trigger", "status", "queued at", "started at",
        "finished at", "duration (seconds)", "fetched", "created", "updated", "removed",
        "unmatched", "api calls", "rate-limit waits", "progress %", "progress message",
        "error class", "error message", "troubleshooting hint", "warnings",
    ],
    "entitlements": [
        "entitlement id", "publisher", "product", "edition", "profile", "rights purchased",
        "unit cost", "currency", "period", "annual unit cost", "annual cost", "start date",
        "end date", "in force", "cost center", "vendor contract or PO",
    ],
    "people": [
        "e-mail", "name", "department", "cost center", "manager e-mail", "active",
        "created at", "updated at",
    ],
}  # fmt: skip


def _url(name):
    return reverse("sam_reports:csv", args=[name])


def _dicts(response):
    rows = read_csv(response)
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture
def data(model, profile):
    """A little of everything, so every report has rows."""
    factories.EntitlementFactory(software_model=model, purchased_rights=5)
    subscription = seats(2, model=model, profile=profile)[0]
    seats(1, model=model, profile=profile, person=None)
    factories.SubscriptionIdentifierFactory(unrecognized=True)
    factories.ReclamationCandidateFactory(subscription=subscription, rich=True)
    factories.JobRunFactory(failed=True)
    factories.LicencePositionSnapshotFactory(software_model=model)
    return subscription


def test_it_knows_every_report():
    assert set(registry.all_reports()) == set(COLUMNS)


@pytest.mark.parametrize("name", sorted(COLUMNS))
def test_it_exports_each_report_with_its_columns(admin_client, data, name):
    response = admin_client.get(_url(name))

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    rows = read_csv(response)
    assert rows[0] == COLUMNS[name]
    assert len(rows) > 1
    assert all(len(row) == len(COLUMNS[name]) for row in rows)


def test_it_exports_every_column_a_sam_manager_needs_for_a_seat(admin_client, model, profile):
    person = factories.PersonFactory(
        name="Ana Lima", email="ana@corp.example", department="Sales", cost_center="CC-7"
    )
    last = timezone.now() - dt.timedelta(days=45, hours=1)
    (seat,) = seats(
        1,
        model=model,
        profile=profile,
        person=person,
        user_principal_name="Ana@Corp.example",
        role="admin",
        last_activity_at=last,
        last_activity_source="activity_log",
        excluded_from_cost=True,
        cost_exclusion_reason="Owner seat",
        excluded_from_reclamation=True,
        reclamation_exclusion_reason="-owner- cannot be removed",
    )

    (row,) = _dicts(admin_client.get(_url("subscriptions")))

    assert row["subscription id"] == str(seat.pk)
    assert row["e-mail"] == "Ana@Corp.example"
    assert (row["person"], row["department"], row["cost center"]) == ("Ana Lima", "Sales", "CC-7")
    assert (row["profile"], row["provider"]) == ("Acme", "calendly")
    assert (row["publisher"], row["product"], row["edition"]) == ("Calendly", "Calendly", "Teams")
    assert (row["role"], row["kind"], row["status"]) == ("admin", "Member", "Active")
    assert row["last activity"] == last.isoformat(timespec="seconds")
    assert row["last activity source"] == "activity_log"
    assert row["inactive days"] == "45"
    assert (row["excluded from cost"], row["cost exclusion reason"]) == ("yes", "Owner seat")
    assert row["reclamation exclusion reason"] == "'-owner- cannot be removed"  # escaped
    assert row["last login"] == ""


def test_it_escapes_formulas_in_names_and_emails_from_the_vendor(admin_client, model, profile):
    seats(
        1,
        model=model,
        profile=profile,
        person=None,
        user_name='=HYPERLINK("http://x.example","click")',
        user_principal_name="@evil.example",
    )

    (row,) = _dicts(admin_client.get(_url("subscriptions")))

    assert row["user name"] == '\'=HYPERLINK("http://x.example","click")'
    assert row["e-mail"] == "'@evil.example"


def test_it_exports_candidates_with_their_events_summary(admin_client, data):
    candidate = ReclamationCandidate.objects.get()
    factories.CandidateEventFactory(
        candidate=candidate,
        at=timezone.now() + dt.timedelta(minutes=5),
        actor_label="root",
        from_state=ReclamationCandidate.State.AWAITING_APPROVAL,
        to_state=ReclamationCandidate.State.READY,
        note="Approved",
    )

    (row,) = _dicts(admin_client.get(_url("candidates")))

    assert row["candidate id"] == str(candidate.pk)
    assert row["state"] == "Awaiting Approval"
    assert row["potential savings / year"] == "120.00"
    assert row["events"] == "3"
    assert row["last event"] == "Awaiting Approval → Ready"
    assert (row["last event by"], row["last event note"]) == ("root", "Approved")


def test_it_says_unknown_for_savings_of_unknown_cost(admin_client, model, profile):
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0], savings_known=False
    )

    (row,) = _dicts(admin_client.get(_url("candidates")))

    assert row["potential savings / year"] == "unknown"


def test_it_exports_amounts_as_plain_numbers(admin_client, model):
    factories.EntitlementFactory(
        software_model=model, purchased_rights=1000, unit_cost="1250.50", period="monthly"
    )

    (row,) = _dicts(admin_client.get(_url("entitlements")))

    assert (row["unit cost"], row["annual unit cost"]) == ("1250.50", "15006.00")
    assert row["annual cost"] == "15006000.00"
    assert row["in force"] == "yes"
    assert row["start date"] == (timezone.localdate() - dt.timedelta(days=30)).isoformat()


def test_it_scopes_the_fixed_reports(admin_client, data):
    without_user = _dicts(admin_client.get(_url("subscriptions-without-user")))
    unrecognized = _dicts(admin_client.get(_url("unrecognized-identifiers")))

    assert [r["person"] for r in without_user] == [""]
    assert len(without_user) == 1
    assert {r["recognized"] for r in unrecognized} == {"no"}


def test_it_filters_a_report_with_its_filterset(admin_client, model, profile):
    other = factories.IntegrationProfileFactory()
    seats(2, model=model, profile=profile, days_inactive=100)
    seats(3, model=model, profile=profile, days_inactive=5)
    seats(4, model=model, profile=other, days_inactive=100)

    response = admin_client.get(
        _url("subscriptions"), {"profile": profile.pk, "activity": "90-120", "status": "active"}
    )

    rows = _dicts(response)
    assert len(rows) == 2
    assert {r["profile"] for r in rows} == {"Acme"}


@pytest.mark.parametrize(
    ("name", "query", "field"),
    [
        ("subscriptions", "status=bogus", "status"),
        ("subscriptions", "profile=999999", "profile"),
        ("subscriptions", "profile=abc", "profile"),
        ("subscriptions", "has_user=maybe", "has_user"),
        ("subscriptions", "activity=soon", "activity"),
        ("subscriptions", "inactive_days_min=-1", "inactive_days_min"),
        ("subscriptions", "stauts=active", "stauts"),
        ("job-runs", "queued_after=yesterday", "queued_after"),
        ("candidates", "open=perhaps", "open"),
        ("licence-position", "date=2026-13-45", "date"),
    ],
)
def test_it_rejects_an_invalid_filter_with_400_and_the_error(
    admin_client, data, name, query, field
):
    response = admin_client.get(f"{_url(name)}?{query}")

    assert response.status_code == 400
    body = response.content.decode()
    assert f"{field}:" in body
    assert "subscription id" not in body and "," not in body.split("\n")[0]


def test_it_validates_filtersets_the_same_way_for_every_caller(model, profile):
    report = registry.get("subscriptions")
    seats(2, model=model, profile=profile)
    seats(1, model=model, profile=profile, status=SoftwareSubscription.Status.REMOVED)

    assert report.filter({"status": ["active"]}).count() == 2
    assert report.filter({"status": ["active", "removed"], "has_user": "yes"}).count() == 3
    with pytest.raises(registry.ReportFilterError) as error:
        report.filter({"status": "gone", "nope": "1"})
    assert set(error.value.errors) == {"nope"}  # unknown names are checked first
    with pytest.raises(registry.ReportFilterError) as error:
        report.filter({"status": "gone"})
    assert "status" in error.value.errors


def test_it_requires_login(client, data):
    response = client.get(_url("subscriptions"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_it_requires_the_view_permission_on_the_model(client, data):
    nobody = factories.UserFactory()
    viewer = factories.UserFactory(groups=["SAM viewer"])
    client.force_login(nobody)
    assert client.get(_url("subscriptions")).status_code == 403
    assert client.get(reverse("admin:sam_saas_softwaresubscription_export")).status_code == 403

    client.force_login(viewer)
    assert client.get(_url("subscriptions")).status_code == 200
    assert client.get(_url("candidates")).status_code == 200
    assert client.get(reverse("admin:sam_saas_softwaresubscription_export")).status_code == 200


def test_it_requires_the_report_models_own_permission(client, data):
    from django.contrib.auth.models import Permission

    user = factories.UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_softwaresubscription"))
    client.force_login(user)

    assert client.get(_url("subscriptions")).status_code == 200
    assert client.get(_url("job-runs")).status_code == 403
    assert client.get(_url("candidates")).status_code == 403


def test_it_names_the_file_after_the_report_and_the_date(admin_client, data):
    response = admin_client.get(_url("job-runs"), {"bom": "1"})

    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="job-runs-{today}.csv"'
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).startswith(b"\xef\xbb\xbfjob run id,")


def test_it_answers_404_for_an_unknown_report(admin_client):
    assert admin_client.get(_url("nothing")).status_code == 404


# -- the admin's Export CSV button ----------------------------------------------------------


def _changelist_ids(client, url, params):
    response = client.get(url, params)
    assert response.status_code == 200
    return [obj.pk for obj in response.context["cl"].result_list]


def test_it_exports_exactly_the_filtered_and_searched_changelist(admin_client, model, profile):
    other = factories.IntegrationProfileFactory()
    for name in ("alpha", "alphonse", "beta"):
        seats(2, model=model, profile=profile, user_name=f"{name} one")
        seats(1, model=model, profile=other, user_name=f"{name} two")
    seats(1, model=model, profile=profile, user_name="alpha three", status="removed")
    params = {"profile__id__exact": profile.pk, "status__exact": "active", "q": "alph", "o": "-1"}
    changelist = reverse("admin:sam_saas_softwaresubscription_changelist")

    expected = _changelist_ids(admin_client, changelist, params)
    page = admin_client.get(changelist, params).content.decode()
    response = admin_client.get(reverse("admin:sam_saas_softwaresubscription_export"), params)
    exported = [int(r["subscription id"]) for r in _dicts(response)]
    via_url = _dicts(
        admin_client.get(
            _url("subscriptions"), {"profile": profile.pk, "status": "active", "q": "alph"}
        )
    )

    assert len(expected) == 4
    assert exported == expected  # same rows, same order
    assert sorted(int(r["subscription id"]) for r in via_url) == sorted(expected)
    export_href = reverse("admin:sam_saas_softwaresubscription_export") + "?"
    assert f'href="{export_href}' in page and "q=alph" in page.split(export_href, 1)[1][:200]


def test_it_exports_the_list_of_subscriptions_without_user_from_the_admin(admin_client, data):
    response = admin_client.get(
        reverse("admin:sam_saas_softwaresubscription_export"), {"has_user": "no"}
    )

    assert [r["person"] for r in _dicts(response)] == [""]


def test_it_gives_400_for_an_invalid_changelist_filter(admin_client, data):
    url = reverse("admin:sam_saas_softwaresubscription_export")

    assert admin_client.get(url, {"profile__id__exact": "abc"}).status_code == 400
    assert admin_client.get(url, {"activity": "someday"}).status_code == 400


@pytest.mark.parametrize(
    "model_name",
    [
        "sam_saas_softwaresubscription",
        "sam_saas_subscriptionidentifier",
        "sam_saas_jobrun",
        "sam_saas_entitlement",
        "sam_saas_person",
        "sam_saas_licencepositionsnapshot",
        "reclamation_reclamationcandidate",
    ],
)
def test_it_shows_an_export_button_on_each_changelist(admin_client, data, model_name):
    if model_name.startswith("reclamation"):
        factories.ReclamationCandidateFactory.create_batch(2)
    changelist = reverse(f"admin:{model_name}_changelist")
    export = reverse(f"admin:{model_name}_export")

    html = admin_client.get(changelist).content.decode()
    response = admin_client.get(export)

    assert 'id="export-csv"' in html and f'href="{export}"' in html
    assert response.status_code == 200
    assert len(read_csv(response)) >= 2


def test_it_keeps_the_changelist_row_scoping(admin_client, model, profile, monkeypatch):
    hidden = factories.IntegrationProfileFactory()
    seats(2, model=model, profile=profile)
    seats(3, model=model, profile=hidden)
    model_admin = admin.site._registry[SoftwareSubscription]
    original = type(model_admin).get_queryset

    def scoped(self, request):
        return original(self, request).exclude(profile=hidden)

    monkeypatch.setattr(type(model_admin), "get_queryset", scoped)

    changelist = _changelist_ids(
        admin_client, reverse("admin:sam_saas_softwaresubscription_changelist"), {}
    )
    via_url = _dicts(admin_client.get(_url("subscriptions")))
    via_button = _dicts(admin_client.get(reverse("admin:sam_saas_softwaresubscription_export")))

    assert len(changelist) == len(via_url) == len(via_button) == 2


# -- the command line -----------------------------------------------------------------------


def test_it_exports_from_the_command_line(tmp_path, model, profile):
    seats(2, model=model, profile=profile)
    seats(1, model=model, profile=profile, status="removed")
    output = tmp_path / "subs.csv"

    call_command("export_report", "subscriptions", "status=active", "--output", str(output))

    rows = list(csv.reader(io.StringIO(output.read_text("utf-8"))))
    assert rows[0] == SUBSCRIPTION_COLUMNS
    assert len(rows) == 3


def test_it_refuses_an_invalid_filter_on_the_command_line(tmp_path):
    output = tmp_path / "never.csv"

    with pytest.raises(CommandError, match="status"):
        call_command("export_report", "subscriptions", "status=gone", "--output", str(output))
    with pytest.raises(CommandError, match="Unknown filter"):
        call_command("export_report", "job-runs", "colour=red", "--output", str(output))
    with pytest.raises(CommandError, match="No report"):
        call_command("export_report", "nothing", "--output", str(output))
    assert not output.exists()


def test_it_lists_the_reports_a_user_may_export(client, data):
    user = factories.UserFactory()
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_jobrun"))
    client.force_login(user)

    html = client.get(reverse("sam_reports:index")).content.decode()

    assert 'id="report-job-runs"' in html
    assert 'id="report-subscriptions"' not in html


def test_it_exports_job_runs_with_their_error_and_duration(admin_client):
    factories.JobRunFactory(failed=True, profile=None, kind=JobRun.Kind.RECONCILE)

    (row,) = _dicts(admin_client.get(_url("job-runs")))

    assert (row["job"], row["profile"], row["status"]) == ("Reconcile", "all profiles", "Failed")
    assert row["duration (seconds)"] == "95"
    assert row["error class"] == "Unauthorized"


def test_it_streams_in_a_fixed_number_of_queries(admin_client, data, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = admin_client.get(_url("subscriptions"))
        assert isinstance(response, StreamingHttpResponse)
        assert len(read_csv(response)) == 4


def test_it_exports_the_candidate_worklist_through_the_mixin(rf, superuser, model, profile):
    """The candidate worklist's Export CSV exports exactly its filtered list."""
    model_admin = admin.site._registry[ReclamationCandidate]
    wanted = factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0]
    )
    factories.ReclamationCandidateFactory(
        subscription=seats(1, model=model, profile=profile)[0],
        state=ReclamationCandidate.State.CLOSED_SKIPPED,
    )
    request = rf.get("/", {"state__exact": "awaiting_approval"})
    request.user = superuser

    response = model_admin.export_csv_view(request)

    rows = _dicts(response)
    assert [r["candidate id"] for r in rows] == [str(wanted.pk)]
    assert response["Content-Disposition"].startswith('attachment; filename="candidates-')
