"""``/reports/``: a form per report with the lists' labels; labels accepted in the URL; the
two CSV formats ("CSV for Excel" with a byte-order mark, "CSV (UTF-8)")."""

import pytest
from django.urls import reverse

from reclamation.models import ReclamationCandidate
from tests import factories

from .conftest import read_csv

pytestmark = pytest.mark.django_db

BOM = b"\xef\xbb\xbf"


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


def _excel_reads(data: bytes) -> str:
    """What Excel shows when it opens a CSV: UTF-8 only after a byte-order mark, otherwise
    the Windows code page (1252 in Western Europe and the Americas)."""
    if data.startswith(BOM):
        return data[len(BOM) :].decode("utf-8")
    return data.decode("cp1252", errors="replace")


def _candidates():
    waiting = factories.ReclamationCandidateFactory.create_batch(2)
    ready = factories.ReclamationCandidateFactory(state=ReclamationCandidate.State.READY)
    return waiting, ready


def test_it_shows_a_form_per_report_with_the_labels_of_the_lists(admin_client):
    html = admin_client.get(reverse("sam_reports:index")).content.decode()

    assert html.count('class="report-form aligned"') >= 8
    assert 'id="report-candidates"' in html
    assert 'action="/reports/candidates.csv"' in html
    assert ">Awaiting Approval</label>" in html  # the label, next to its checkbox
    assert 'value="awaiting_approval"' in html  # the value the URL carries
    assert ">State:</label>" in html and ">Has user:</label>" in html
    assert "Exclude person is null" not in html and "[invalid name]" not in html
    assert ">CSV for Excel</option>" in html and ">CSV (UTF-8)</option>" in html


def test_submitting_a_form_without_javascript_downloads_the_filtered_csv(admin_client):
    waiting, ready = _candidates()
    # A GET form sends every field, the empty ones too.
    params = {
        "state": "awaiting_approval",
        "open": "",
        "profile": "",
        "department": "",
        "raised_from": "",
        "q": "",
        "bom": "1",
    }

    response = admin_client.get(reverse("sam_reports:csv", args=["candidates"]), params)

    assert response.status_code == 200
    body = _body(response)
    assert body.startswith(BOM)
    rows = read_csv(type("R", (), {"streaming_content": [body]}))
    ids = {int(row[0]) for row in rows[1:]}
    assert ids == {c.pk for c in waiting}


@pytest.mark.parametrize("typed", ["Awaiting Approval", "awaiting approval", "awaiting_approval"])
def test_it_accepts_a_label_typed_into_the_url(admin_client, typed):
    waiting, ready = _candidates()

    response = admin_client.get(reverse("sam_reports:csv", args=["candidates"]), {"state": typed})

    assert response.status_code == 200
    ids = {int(row[0]) for row in read_csv(response)[1:]}
    assert ids == {c.pk for c in waiting}


def test_it_accepts_a_profile_by_its_name(admin_client):
    acme = factories.IntegrationProfileFactory(name="Acme Europe")
    mine = factories.SoftwareSubscriptionFactory(profile=acme)
    factories.SoftwareSubscriptionFactory()

    response = admin_client.get(
        reverse("sam_reports:csv", args=["subscriptions"]), {"profile": "acme europe"}
    )

    assert response.status_code == 200
    assert [int(row[0]) for row in read_csv(response)[1:]] == [mine.pk]


def test_an_unknown_label_still_fails_with_the_filters_error(admin_client):
    response = admin_client.get(
        reverse("sam_reports:csv", args=["candidates"]), {"state": "Awaiting Godot"}
    )

    assert response.status_code == 400
    assert "state:" in response.content.decode()


def test_the_admin_button_gives_excel_a_file_with_its_accents_intact(admin_client):
    factories.PersonFactory(name="Åsa Hernández", email="asa@example.com")
    changelist = admin_client.get(reverse("admin:sam_saas_person_changelist")).content.decode()
    export = reverse("admin:sam_saas_person_export")

    excel = _body(admin_client.get(export))
    plain = _body(admin_client.get(export, {"bom": "0"}))

    assert ">CSV for Excel</a>" in changelist and ">CSV (UTF-8)</a>" in changelist
    assert f'href="{export}"' in changelist  # the main button is the Excel file
    assert f'href="{export}?bom=0"' in changelist
    assert excel.startswith(BOM)
    assert "Åsa Hernández" in _excel_reads(excel)
    assert not plain.startswith(BOM)
    assert "Åsa Hernández" in plain.decode("utf-8")
    assert "Ã…sa HernÃ¡ndez" in _excel_reads(plain)  # why the Excel file is the default


def test_the_report_url_stays_plain_utf8_unless_asked(admin_client):
    factories.PersonFactory(name="Zoë")
    url = reverse("sam_reports:csv", args=["people"])

    assert not _body(admin_client.get(url)).startswith(BOM)
    assert _body(admin_client.get(url, {"bom": "1"})).startswith(BOM)


def test_the_job_runs_form_lists_the_registered_job_kinds(admin_client):
    html = admin_client.get(reverse("sam_reports:index")).content.decode()

    form = html.split('id="report-job-runs"', 1)[1].split("</form>", 1)[0]
    assert 'name="kind" value="download"' in form
    assert 'name="kind" value="candidates"' in form  # registered by reclamation
