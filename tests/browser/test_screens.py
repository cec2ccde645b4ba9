"""The SAM manager's day, checked by eye: screenshots at 1280×800 and 1920×1080 of the pages
a manager works in, the key columns inside the visible width at 1280 px, the reports forms,
the import page, and an admin CSV export as Excel reads it.

Screenshots go to ``test-output/screenshots/`` (``screen-<page>-<width>.png``); the README's
come from there.
"""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from reclamation.models import ReclamationCandidate
from sam_saas.models import Entitlement, SoftwareSubscription
from tests import factories

from .conftest import SCREENSHOTS

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "screens-Pa55word!"
VIEWPORTS = ((1280, 800), (1920, 1080))
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def estate():
    """A small but realistic estate: two profiles, a model with a contract, seats with accents
    in the names, candidates in several states."""
    publisher = factories.PublisherFactory(name="Calendly")
    enterprise = factories.SoftwareModelFactory(
        publisher=publisher, product="Calendly", edition="Enterprise"
    )
    identifier = factories.SubscriptionIdentifierFactory(
        software_model=enterprise, value="enterprise"
    )
    Entitlement.objects.create(
        software_model=enterprise,
        purchased_rights=40,
        unit_cost=Decimal("192.00"),
        currency="USD",
        period=Entitlement.Period.ANNUAL,
        start_date=dt.date.today() - dt.timedelta(days=300),
        end_date=dt.date.today() + dt.timedelta(days=65),
    )
    acme = factories.IntegrationProfileFactory(name="Acme Europe")
    globex = factories.IntegrationProfileFactory(name="Globex")
    names = ["Åsa Hernández", "João Gonçalves", "Zoë Müller", "Łukasz Żółć", "Chloé Dubois"]
    seats = []
    for index in range(30):
        name = names[index % len(names)] + f" {index}"
        person = factories.PersonFactory(
            name=name,
            email=f"user{index}@acme.example",
            department=["Sales", "Finance", "Engineering"][index % 3],
        )
        seats.append(
            factories.SoftwareSubscriptionFactory(
                profile=acme if index % 3 else globex,
                identifier=identifier,
                software_model=enterprise,
                person=person,
                last_activity_at=timezone.now() - dt.timedelta(days=10 + index * 4),
            )
        )
    states = [
        ReclamationCandidate.State.AWAITING_APPROVAL,
        ReclamationCandidate.State.AWAITING_USER,
        ReclamationCandidate.State.READY,
        ReclamationCandidate.State.CLOSED_SKIPPED,
    ]
    for index, seat in enumerate(seats[15:]):
        factories.ReclamationCandidateFactory(
            subscription=seat, state=states[index % len(states)], potential_savings=192
        )
    return {"model": enterprise, "profile": acme, "seats": seats}


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="SAM manager"))
    return user


def log_in(page, live_server):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/$"))


def shoot_both(page, name: str) -> list[Path]:
    """The page as it first shows at 1280×800 and at 1920×1080 (what is visible without
    scrolling), back at 1280×800 afterwards."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    paths = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        path = SCREENSHOTS / f"screen-{name}-{width}.png"
        page.screenshot(path=str(path))
        paths.append(path)
    page.set_viewport_size({"width": 1280, "height": 800})
    return paths


def test_the_reports_page_downloads_what_its_form_says(live_server, estate, manager, page):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/reports/")
    page.click("#report-candidates > summary")
    form = page.locator("#report-candidates form")
    form.get_by_label("Awaiting Approval", exact=True).check()
    form.locator("#id_candidates_department").fill("Sales")
    url = form.locator(".report-url").input_value()
    assert url.endswith("/reports/candidates.csv?state=awaiting_approval&department=Sales&bom=1")
    page.locator("#report-candidates").scroll_into_view_if_needed()
    page.evaluate("window.scrollTo(0, 0)")
    shoot_both(page, "reports")

    with page.expect_download() as download_info:
        form.locator("input[type=submit]").click()
    data = Path(download_info.value.path()).read_bytes()
    assert data.startswith(BOM)
    lines = data[len(BOM) :].decode("utf-8").splitlines()
    expected = ReclamationCandidate.objects.filter(state="awaiting_approval", department="Sales")
    assert len(lines) - 1 == expected.count() > 0
    assert page.url.endswith("/reports/")  # the page stays, with its form filled in


def test_the_import_page_shows_the_columns_and_reports_a_semicolon_file(
    live_server, estate, manager, page, tmp_path
):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/sam_saas/person/import/")
    assert page.locator("#import-columns tbody tr").count() == 6
    with page.expect_download() as example:
        page.click("#import-example")
    assert Path(example.value.path()).read_bytes().startswith(BOM)
    broken = tmp_path / "people.csv"
    broken.write_text("email;name;active\nbob@;Bob;perhaps\n", encoding="utf-8")
    page.set_input_files("#id_file", str(broken))
    page.click("input[type=submit][value=Import]")
    errors = page.locator("#import-errors li").all_inner_texts()
    assert errors == [
        'line 2: "bob@" is not a valid e-mail',
        'line 2: "perhaps" is not a valid value for active '
        "(use true/false, yes/no, 1/0, y/n or leave it empty)",
    ]
    shoot_both(page, "import")


def test_an_admin_export_opens_in_excel_with_its_accents(live_server, estate, manager, page):
    log_in(page, live_server)
    page.goto(f"{live_server.url}/admin/sam_saas/softwaresubscription/")
    assert page.text_content("#export-csv") == "CSV for Excel"  # shown in capitals by CSS
    with page.expect_download() as download_info:
        page.click("#export-csv")
    data = Path(download_info.value.path()).read_bytes()
    # Excel reads a CSV as UTF-8 only after a byte-order mark; otherwise as Windows-1252.
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    assert "Åsa Hernández 0" in text and "Łukasz Żółć 3" in text
    assert len(text.splitlines()) - 1 == SoftwareSubscription.objects.count()


def _inside_1280(page, selector: str) -> dict:
    """The bounding box of the list's first cell in ``selector``'s column, asserted inside
    the visible width at 1280 px."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not on the page"
    assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, (selector, box)
    return box


def test_the_lists_show_their_state_inside_1280_px_and_look_right(
    live_server, estate, manager, page
):
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, live_server)
    base = live_server.url

    page.goto(f"{base}/admin/sam_saas/softwaresubscription/")
    _inside_1280(page, "#result_list th.column-status")
    _inside_1280(page, "#result_list td.field-status")
    _inside_1280(page, "#result_list td.field-inactive")
    assert re.fullmatch(r"\d+ d|never", page.inner_text("#result_list td.field-inactive >> nth=0"))
    shoot_both(page, "subscriptions")

    page.goto(f"{base}/admin/reclamation/reclamationcandidate/")
    _inside_1280(page, "#result_list th.column-state")
    _inside_1280(page, "#result_list td.field-state")
    _inside_1280(page, "#result_list td.field-savings")
    shoot_both(page, "candidates")
    page.locator("#result_list tbody tr").first.locator("a").first.click()
    page.wait_for_url(re.compile(r".*/reclamationcandidate/\d+/change/"))
    shoot_both(page, "candidate")

    page.goto(f"{base}/admin/sam_saas/integrationprofile/")
    _inside_1280(page, "#result_list th.column-status")
    _inside_1280(page, "#result_list td.field-last_download_at")
    _inside_1280(page, "#result_list td.field-seats_held")
    _inside_1280(page, "#result_list td.field-open_candidates")
    _inside_1280(page, "#result_list td.field-rule_needs_review")
    shoot_both(page, "profiles")

    page.goto(f"{base}/admin/sam_saas/softwaremodel/")
    assert page.inner_text("#result_list tbody th a >> nth=0") == "Calendly Enterprise"
    _inside_1280(page, "#result_list td.field-position_status")
    _inside_1280(page, "#result_list td.field-annual_spend")
    assert "7,680.00 USD" in page.inner_text("#result_list td.field-annual_spend")
    shoot_both(page, "software-models")
    page.click("#result_list tbody th a >> nth=0")
    page.wait_for_url(re.compile(r".*/softwaremodel/\d+/change/"))
    assert "30 subscriptions" in page.inner_text("#model-subscriptions")
    assert "1 entitlement" in page.inner_text("#model-entitlements")
    assert "Purchased" in page.inner_text("#model-position")
    shoot_both(page, "software-model")

    page.goto(f"{base}/dashboard/")
    # Nothing spills past the page: no sideways scrolling, the header bar spans it all.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.locator("#header").bounding_box()["width"] == 1280
    page.fill("#id_headroom", "20")
    page.select_option("#id_profile", label="Acme Europe")
    page.click("#dashboard-filters input[type=submit]")
    page.wait_for_url(re.compile(r".*headroom=20.*"))
    assert page.locator("#dashboard-filtered").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    shoot_both(page, "dashboard")
