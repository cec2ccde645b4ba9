"""The profile admin's buttons call the same services as the tasks and commands."""

import pytest
from django.urls import reverse

from sam_saas.models import JobRun, SoftwareSubscription

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:sam_saas_integrationprofile_changelist"


def act(client, action, profiles):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [p.pk for p in profiles]},
        follow=True,
    )


def test_refresh_now_queues_the_download_which_runs_inline_without_a_broker(
    sandbox, admin_client, make_pat_profile, django_capture_on_commit_callbacks
):
    profile = make_pat_profile()
    with django_capture_on_commit_callbacks(execute=True):
        page = act(admin_client, "refresh_now", [profile])
    assert "Queued: Acme" in page.content.decode()
    run = JobRun.objects.get(profile=profile, kind=JobRun.Kind.DOWNLOAD)
    link = reverse("admin:sam_saas_jobrun_change", args=[run.pk])
    assert f'Queued: Acme (<a href="{link}">job run {run.pk}</a>)' in page.content.decode()
    assert run.status == JobRun.Status.SUCCEEDED and run.trigger == JobRun.Trigger.MANUAL
    assert SoftwareSubscription.objects.filter(profile=profile).count() == run.fetched > 30


def test_refresh_now_skips_a_profile_whose_refresh_is_still_open(admin_client, make_pat_profile):
    profile = make_pat_profile()
    open_run = JobRun.objects.create(profile=profile, kind=JobRun.Kind.DOWNLOAD, status="running")
    page = act(admin_client, "refresh_now", [profile]).content.decode()
    assert "already queued or running" in page
    assert reverse("admin:sam_saas_jobrun_change", args=[open_run.pk]) in page  # linked
    assert JobRun.objects.filter(profile=profile).count() == 1


def test_validate_connection_reports_the_plan_or_the_reason(
    sandbox, admin_client, make_pat_profile
):
    good = make_pat_profile()
    bad = make_pat_profile(name="Plain user", token=sandbox.state.default_org.user_token)
    page = act(admin_client, "validate_connection", [good, bad]).content.decode()
    assert "Acme Demo on plan enterprise" in page
    assert "Caller&#x27;s role: The connected account is “user”" in page
    assert "needs an admin or the owner" in page


def test_the_profile_page_offers_connect_for_oauth_and_shows_job_results(
    sandbox, admin_client, make_oauth_profile, make_pat_profile
):
    oauth = make_oauth_profile()
    JobRun.objects.create(
        profile=oauth, kind="download", status="running", progress=40, progress_message="Fetched 40"
    )
    page = admin_client.get(
        reverse("admin:sam_saas_integrationprofile_change", args=[oauth.pk])
    ).content.decode()
    assert reverse("calendly:connect-profile", args=[oauth.pk]) in page
    assert "Fetched 40" in page
    pat = make_pat_profile()
    page = admin_client.get(
        reverse("admin:sam_saas_integrationprofile_change", args=[pat.pk])
    ).content.decode()
    assert 'id="connect-vendor"' not in page


def test_the_parent_alias_page_shows_the_redirect_url_to_register(
    admin_client, oauth_parent, make_oauth_profile
):
    child = make_oauth_profile().alias
    parent_page = admin_client.get(
        reverse("admin:sam_saas_connectionalias_change", args=[oauth_parent.pk])
    ).content.decode()
    assert "http://testserver" + reverse("calendly:oauth-callback") in parent_page
    child_page = admin_client.get(
        reverse("admin:sam_saas_connectionalias_change", args=[child.pk])
    ).content.decode()
    assert 'id="connect-vendor"' in child_page
    for secret in (oauth_parent.client_secret, child.access_token, child.refresh_token):
        assert secret not in parent_page + child_page


def test_a_running_job_page_shows_progress_and_reloads(admin_client, make_pat_profile):
    run = JobRun.objects.create(
        profile=make_pat_profile(), kind="download", status="running", progress=55
    )
    page = admin_client.get(reverse("admin:sam_saas_jobrun_change", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' in page and 'value="55"' in page
    run.status = "succeeded"
    run.save()
    page = admin_client.get(reverse("admin:sam_saas_jobrun_change", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page
