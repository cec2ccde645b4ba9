"""The profile lifecycle over the fake Calendly: Draft → Validate → Published.

Publishing is refused unless the latest validation passed for every enabled process; each
check that fails is shown on the profile page with its hint."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from calendly_integration.sandbox.records import ALL_SCOPES
from sam_saas.models import IntegrationProfile, ProfileValidation
from sam_saas.services import lifecycle

pytestmark = pytest.mark.django_db


def page_of(client, profile):
    return client.get(reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk]))


def press(client, profile, button):
    url = reverse(f"admin:sam_saas_profile_{button}", args=[profile.pk])
    return client.post(url, follow=True)


def checks(validation):
    return {f"{c['process']}.{c['key']}": c for c in validation.checks}


def failed(validation):
    return {f"{c['process']}.{c['key']}" for c in validation.failed_checks}


def draft(make_pat_profile, **kwargs):
    return make_pat_profile(status=IntegrationProfile.Status.DRAFT, **kwargs)


def test_it_validates_every_enabled_process_then_publishes(sandbox, admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    page = press(admin_client, profile, "validate").content.decode()
    assert "Validation passed: 5 checks" in page
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.VALIDATED
    validation = profile.validations.get()
    assert list(checks(validation)) == [
        "download.role",
        "download.members",
        "download.invitations",
        "activity.activity_log",
        "reclaim.role",
    ]
    assert validation.processes == ["download", "activity", "reclaim"]
    assert 'data-check="download.invitations"' in page and "Passed" in page

    page = press(admin_client, profile, "publish").content.decode()
    assert "is published; its daily refresh runs next at" in page
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.PUBLISHED
    assert 'id="unpublish-profile"' in page


def test_publishing_is_refused_without_a_validation(admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    page = press(admin_client, profile, "publish").content.decode()
    assert "Not published: The profile has never been validated" in page
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.DRAFT


def refused(admin_client, profile, expected_failures):
    page = press(admin_client, profile, "validate").content.decode()
    assert "Validation failed" in page
    validation = lifecycle.latest_validation(profile)
    assert failed(validation) == expected_failures
    for key in expected_failures:
        assert f'class="check-failed" data-check="{key}"' in page
        assert checks(validation)[key]["hint"], f"{key} has no hint"
    page = press(admin_client, profile, "publish").content.decode()
    assert "Not published: The latest validation failed" in page
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.DRAFT
    return validation


def test_the_gate_fails_on_the_callers_role(sandbox, admin_client, make_pat_profile):
    profile = draft(make_pat_profile, token=sandbox.state.default_org.user_token)
    # A plain user may list members but not invitations or the activity log (Calendly's rule).
    validation = refused(
        admin_client,
        profile,
        {"download.role", "download.invitations", "activity.activity_log", "reclaim.role"},
    )
    assert checks(validation)["download.members"]["ok"]
    assert "“user”" in checks(validation)["download.role"]["detail"]
    assert "admin or the owner" in checks(validation)["reclaim.role"]["hint"]


def test_the_gate_fails_on_the_members_listing(sandbox, admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    # Requests: /users/me, the organization, the caller's membership, then the listing.
    sandbox.state.faults.status_on_request = {4: 403}
    validation = refused(admin_client, profile, {"download.members"})
    assert "/organization_memberships" in checks(validation)["download.members"]["detail"]


def test_the_gate_fails_on_the_invitations_listing(sandbox, admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    sandbox.state.faults.status_on_request = {5: 403}
    validation = refused(admin_client, profile, {"download.invitations"})
    assert "/invitations" in checks(validation)["download.invitations"]["detail"]


def test_the_gate_fails_on_the_activity_log_on_enterprise(sandbox, admin_client, make_pat_profile):
    org = sandbox.state.default_org
    admin = next(m.user for m in org.members if m.role == "admin")
    scopes = [s for s in ALL_SCOPES if s != "activity_log:read"]
    token = sandbox.state.issue_token(org, admin, scopes=scopes)
    profile = draft(make_pat_profile, token=token)
    validation = refused(admin_client, profile, {"activity.activity_log"})
    assert "Insufficient scope" in checks(validation)["activity.activity_log"]["detail"]


def test_the_gate_checks_scheduled_events_below_enterprise(sandbox, admin_client, make_pat_profile):
    org = sandbox.state.default_org
    sandbox.state.set_plan(org, "teams")
    admin = next(m.user for m in org.members if m.role == "admin")
    scopes = [s for s in ALL_SCOPES if s != "scheduled_events:read"]
    profile = draft(make_pat_profile, token=sandbox.state.issue_token(org, admin, scopes=scopes))
    validation = refused(admin_client, profile, {"activity.scheduled_events"})
    assert "plan teams" in checks(validation)["activity.scheduled_events"]["label"]

    # With the scope the same organization passes: the activity log is not asked for.
    profile.alias.access_token = sandbox.state.issue_token(org, admin)
    profile.alias.save()
    validation = lifecycle.validate(profile)
    assert validation.passed and "activity.scheduled_events" in checks(validation)


def test_the_gate_fails_on_the_reclaim_scope_for_oauth(sandbox, admin_client, make_oauth_profile):
    scopes = [s for s in ALL_SCOPES if s != "organizations:write"]
    profile = make_oauth_profile(scopes=scopes)
    IntegrationProfile.objects.filter(pk=profile.pk).update(status="draft")
    profile.refresh_from_db()
    validation = refused(admin_client, profile, {"reclaim.scope"})
    assert "Connect to Calendly" in checks(validation)["reclaim.scope"]["hint"]

    # Without the reclaim process the same token publishes.
    profile.reclaim_enabled = False
    profile.save()
    assert lifecycle.validate(profile).passed
    lifecycle.publish(profile)
    assert profile.status == IntegrationProfile.Status.PUBLISHED


def test_the_gate_fails_when_calendly_rejects_the_token(sandbox, admin_client, make_pat_profile):
    profile = draft(make_pat_profile, token="sbx_pat_revoked")
    validation = refused(admin_client, profile, {"download.connection"})
    assert "Unauthenticated" in checks(validation)["download.connection"]["detail"]


def test_toggling_a_process_sends_a_published_profile_back_to_draft(
    sandbox, admin_client, make_pat_profile
):
    profile = draft(make_pat_profile)
    lifecycle.validate(profile)
    lifecycle.publish(profile)
    profile.activity_enabled = False
    profile.save()
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.DRAFT

    page = press(admin_client, profile, "publish").content.decode()
    assert "The processes changed since the latest validation" in page
    press(admin_client, profile, "validate")
    press(admin_client, profile, "publish")
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.PUBLISHED
    assert lifecycle.latest_validation(profile).processes == ["download", "reclaim"]

    # Through the admin form, as a SAM manager would.
    form = page_of(admin_client, profile).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(activity_enabled="on", alias=profile.alias_id)
    data.pop("reclaim_enabled", None)
    data["reclaim_enabled"] = "on"
    response = admin_client.post(
        reverse("admin:sam_saas_integrationprofile_change", args=[profile.pk]), data
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    profile.refresh_from_db()
    assert profile.status == IntegrationProfile.Status.DRAFT


def test_the_status_cannot_be_set_by_hand(admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    form = page_of(admin_client, profile).context["adminform"].form
    assert "status" not in form.fields


def test_a_new_profile_reclaims_and_its_rule_requires_approval(sandbox, make_pat_profile):
    from reclamation.services.rules import ensure_rule

    profile = draft(make_pat_profile)
    assert profile.reclaim_enabled
    assert IntegrationProfile._meta.get_field("reclaim_enabled").default is True
    rule = ensure_rule(profile)
    assert rule.require_approval and rule.needs_review


def test_the_buttons_need_the_change_permission(client, django_user_model, make_pat_profile):
    profile = draft(make_pat_profile)
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.groups.add(Group.objects.get(name="SAM viewer"))
    client.force_login(viewer)
    page = page_of(client, profile).content.decode()
    assert 'id="profile-lifecycle"' in page and 'id="validate-profile"' not in page
    for button in ("validate", "publish", "draft"):
        url = reverse(f"admin:sam_saas_profile_{button}", args=[profile.pk])
        assert client.post(url).status_code == 403
    assert not ProfileValidation.objects.exists()


def test_the_buttons_only_answer_post(admin_client, make_pat_profile):
    profile = draft(make_pat_profile)
    url = reverse("admin:sam_saas_profile_publish", args=[profile.pk])
    assert admin_client.get(url).status_code == 405
