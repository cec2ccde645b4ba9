"""The SAM manager's journey in a real browser, against live_server and the fake Calendly."""

import re

import pytest
from django.contrib.auth.models import Group

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "journey-Pa55word!"


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


def test_a_sam_manager_connects_refreshes_and_reviews(live_server, sandbox, manager, page, shoot):
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
