"""The SAM manager's journey in a real browser, against live_server and the fake Calendly."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox
from reclamation.models import ReclamationCandidate, ReclamationRule
from sam_saas.models import (
    ConnectionAlias,
    Entitlement,
    IntegrationProfile,
    JobRun,
    Person,
    SoftwareModel,
    SoftwareSubscription,
)
from sam_saas.services import jobs

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "journey-Pa55word!"
MANAGER_EMAIL = "mona.manager@directory.example"


@pytest.fixture
def sandbox():
    with start_sandbox(members=40, plan="enterprise", seed=11, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def manager(django_user_model):
    user = django_user_model.objects.create_user("sam", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="SAM manager"))
    return user


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("vera", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="SAM viewer"))
    return user


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/$"))


def choose_autocomplete(page, field: str, text: str):
    """Pick ``text`` in a Django admin autocomplete (select2) field."""
    page.click(f"#id_{field} + .select2 .select2-selection")
    page.fill(".select2-search__field", text)
    page.click(f".select2-results__option:has-text('{text}')")


def save(page):
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist .success")


def run_action(page, action: str, values):
    for value in values:
        page.check(f"input[name=_selected_action][value='{value}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


@pytest.fixture
def directory(sandbox):
    """The company directory: everyone, in two departments, reporting to one manager."""
    boss = Person.objects.create(email=MANAGER_EMAIL, name="Mona Manager")
    for index, membership in enumerate(sandbox.state.default_org.members):
        user = membership.user
        Person.objects.create(
            email=user.email,
            name=user.name,
            department="Sales" if index % 2 else "Engineering",
            manager=boss,
        )


def test_a_sam_manager_connects_refreshes_and_reclaims(
    live_server, sandbox, directory, manager, viewer, browser, page, shoot
):
    # 1. Log in as a SAM manager.
    log_in(page, live_server, "sam")
    shoot("01-admin-index")

    # 2. Create an OAuth profile: the app on a parent alias, a child alias, the profile.
    page.goto(f"{live_server.url}/admin/sam_saas/connectionalias/add/")
    page.fill("#id_name", "Calendly app")
    page.select_option("#id_auth_type", "oauth2")
    page.fill("#id_api_base_url", sandbox.url)
    page.fill("#id_auth_base_url", sandbox.url)
    page.fill("#id_client_id", DEFAULT_CLIENT_ID)
    page.fill("#id_client_secret", DEFAULT_CLIENT_SECRET)
    save(page)
    page.goto(f"{live_server.url}/admin/sam_saas/connectionalias/add/")
    page.fill("#id_name", "Acme child")
    choose_autocomplete(page, "parent", "Calendly app")
    page.select_option("#id_auth_type", "oauth2")
    save(page)
    page.goto(f"{live_server.url}/admin/sam_saas/integrationprofile/add/")
    page.fill("#id_name", "Acme")
    choose_autocomplete(page, "alias", "Acme child")
    page.check("#id_reclaim_enabled")
    page.fill("#id_analyze_activity_from", "2025-12-01")
    save(page)
    profile = IntegrationProfile.objects.get(name="Acme")
    assert profile.status == IntegrationProfile.Status.DRAFT

    page.goto(f"{live_server.url}/admin/sam_saas/integrationprofile/{profile.pk}/change/")
    page.click("#connect-vendor")
    page.wait_for_url(re.compile(re.escape(sandbox.url) + r"/oauth/authorize.*"))
    shoot("02-calendly-consent")
    page.click("#authorize")
    page.wait_for_url(re.compile(rf".*/admin/sam_saas/integrationprofile/{profile.pk}/change/"))
    assert "is connected to Calendly" in page.inner_text(".messagelist")
    alias = ConnectionAlias.objects.get(name="Acme child")
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.CONNECTED
    profile.refresh_from_db()
    # Connecting validated every enabled process; the manager publishes.
    assert profile.status == IntegrationProfile.Status.VALIDATED
    assert page.locator("#validation-checks .check-failed").count() == 0
    page.click("#publish-profile")
    assert "is published" in page.inner_text(".messagelist")
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.PUBLISHED

    # 3. Refresh now, and watch the job finish.
    page.goto(f"{live_server.url}/admin/sam_saas/integrationprofile/")
    page.check(f"input[name=_selected_action][value='{profile.pk}']")
    page.select_option("select[name=action]", "refresh_now")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist .success")
    run = JobRun.objects.get(profile=profile, kind=JobRun.Kind.DOWNLOAD)
    page.goto(f"{live_server.url}/admin/sam_saas/jobrun/{run.pk}/change/")
    assert "Succeeded" in page.inner_text("#content")
    shoot("03-job-result")

    # 4. Pull activity; review the profile's rule (notify users); identify candidates; filter
    #    by department; approve with the confirmation page.
    page.goto(f"{live_server.url}/admin/sam_saas/integrationprofile/")
    run_action(page, "refresh_activity_now", [profile.pk])
    page.wait_for_selector(".messagelist .success")
    assert JobRun.objects.get(profile=profile, kind="activity").status == "succeeded"
    rule = ReclamationRule.objects.get(profile=profile)
    # The contract: 45 Enterprise seats at 192 USD a year, renewing next month.
    Entitlement.objects.create(
        software_model=SoftwareModel.objects.get(edition="Enterprise"),
        purchased_rights=45,
        unit_cost=Decimal("192.00"),
        currency="USD",
        period=Entitlement.Period.ANNUAL,
        start_date=dt.date.today() - dt.timedelta(days=330),
        end_date=dt.date.today() + dt.timedelta(days=35),
        cost_center="CC-100",
    )
    page.goto(f"{live_server.url}/admin/reclamation/reclamationrule/{rule.pk}/change/")
    page.check("#id_notify_user")
    save(page)
    page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/")
    page.click("#identify-now button")
    page.wait_for_selector(".messagelist .success")  # lands on the job result
    assert "Succeeded" in page.inner_text("#content")
    page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/")
    page.click("#changelist-filter a:has-text('Sales')")
    page.wait_for_url(re.compile(r".*department.*Sales.*"))
    sales = ReclamationCandidate.objects.filter(
        profile=profile, department="Sales", state="awaiting_approval", seat_kind="member"
    ).order_by("pk")
    assert sales.count() >= 4, "the seeded organization has stale Sales seats"
    chosen = list(sales.values_list("pk", flat=True)[:4])
    released, kept = chosen[:3], chosen[3]
    shoot("04-candidates")
    run_action(page, "approve", chosen)
    page.wait_for_selector("#confirm-candidates")
    assert "Calendly Billing" in page.inner_text("#content")
    shoot("05-approve-confirmation")
    page.click("input[type=submit][value='Approve']")
    page.wait_for_selector(".messagelist")
    states = set(ReclamationCandidate.objects.filter(pk__in=chosen).values_list("state", flat=True))
    assert states == {ReclamationCandidate.State.AWAITING_USER}

    # 5. The seat holders answer from the outbox, without logging in: three release their
    #    seat (removed at Calendly: Closed Complete), one says "I still need it", which goes
    #    to their manager (Awaiting Approval); the manager declines from their e-mail, and the
    #    seat is kept (Closed Canceled).
    def answer(address, needle, button_text):
        message = next(m for m in reversed(mail.outbox) if address.lower() in m.to[0].lower())
        assert needle in message.body
        line = next(line for line in message.body.splitlines() if button_text in line)
        answer_page = browser.new_page()
        answer_page.goto(f"{live_server.url}{urlsplit(line.split()[-1]).path}")
        answer_page.wait_for_selector("#answer-form")
        answer_page.click("#answer-form button")
        answer_page.wait_for_selector("#answer-done")
        answer_page.close()

    def upn(pk):
        return ReclamationCandidate.objects.get(pk=pk).user_principal_name

    for pk in released:
        answer(upn(pk), upn(pk), "Release it")
    answer(upn(kept), upn(kept), "I still need it")
    closed = ReclamationCandidate.objects.filter(pk__in=released)
    assert set(closed.values_list("state", flat=True)) == {
        ReclamationCandidate.State.CLOSED_COMPLETE
    }
    gone = SoftwareSubscription.objects.filter(reclamation_candidates__pk__in=released)
    assert set(gone.values_list("status", flat=True)) == {"reclaimed"}
    listed = {m.uri for m in sandbox.state.default_org.members}
    assert not listed & set(gone.values_list("external_seat_id", flat=True))
    keeper = ReclamationCandidate.objects.select_related("subscription").get(pk=kept)
    assert keeper.state == ReclamationCandidate.State.AWAITING_APPROVAL
    assert keeper.manager_email == MANAGER_EMAIL
    answer(MANAGER_EMAIL, keeper.user_principal_name, "Decline")
    keeper.refresh_from_db()
    assert keeper.state == ReclamationCandidate.State.CLOSED_CANCELED
    assert keeper.subscription.external_seat_id in listed
    assert SoftwareSubscription.objects.get(pk=keeper.subscription_id).keep_decision
    page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/{kept}/change/")
    history = page.inner_text("#content")
    assert "The manager declined the removal" in history and MANAGER_EMAIL in history
    assert page.locator("#candidate-actions").count() == 0  # closed: nothing to act on
    shoot("05c-manager-declined")

    # A candidate's own page: its buttons go through the same confirmation page.
    other = sales.exclude(pk__in=chosen).first()
    page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/{other.pk}/change/")
    assert page.locator("#back-to-worklist").inner_text() == "Back to the candidates"
    page.click("#action-reject")
    page.wait_for_selector("#confirm-candidates")
    page.fill("#id_reason", "Needed for the trade show")
    page.click("input[type=submit][value='Reject']")
    page.wait_for_url(re.compile(rf".*/reclamationcandidate/{other.pk}/change/"))
    assert "1 candidate(s) done" in page.inner_text(".messagelist")
    other.refresh_from_db()
    assert other.state == ReclamationCandidate.State.CLOSED_SKIPPED
    page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/?department=Sales")
    shoot("05b-candidates-after")

    # 6. Export the filtered subscriptions and read the downloaded file.
    page.goto(f"{live_server.url}/admin/sam_saas/softwaresubscription/?q=example")
    page.click("#changelist-filter a:has-text('Sales')")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    path = download_info.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8-sig"))))
    expected = SoftwareSubscription.objects.filter(
        profile=profile, person__department="Sales"
    ).count()
    assert len(rows) == expected > 0
    assert {r["department"] for r in rows} == {"Sales"}
    shoot("06-subscriptions")

    # 7. The dashboard shows its charts.
    jobs.run_now(None, JobRun.Kind.RECONCILE, JobRun.Trigger.MANUAL)
    page.goto(f"{live_server.url}/dashboard/")
    assert page.locator("svg").count() >= 3
    shoot("07-dashboard")

    # A viewer sees the candidates but no approve action.
    viewer_context = browser.new_context()
    viewer_page = viewer_context.new_page()
    log_in(viewer_page, live_server, "vera")
    viewer_page.goto(f"{live_server.url}/admin/reclamation/reclamationcandidate/")
    assert viewer_page.locator("#result_list").count() == 1
    options = viewer_page.locator("select[name=action] option").all_inner_texts()
    assert not any("Approve" in o for o in options)
    viewer_context.close()
