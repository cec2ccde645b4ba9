"""Download subscriptions over real HTTP to the fake Calendly, stored in a real database."""

import datetime as dt

import pytest

from calendly_integration.download import OWNER_REASON, SELF_REASON
from sam_saas.models import (
    ConnectionAlias,
    IntegrationProfile,
    JobRun,
    Person,
    SoftwareSubscription,
    SubscriptionUserExclusionRule,
)
from sam_saas.reports import registry
from sam_saas.services import jobs

pytestmark = pytest.mark.django_db

Status = SoftwareSubscription.Status


def download(profile):
    return jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)


def pending_invitations(org):
    return [i for i in org.invitations.values() if i.status == "pending"]


def seats_of(profile):
    return SoftwareSubscription.objects.filter(profile=profile)


def test_it_downloads_every_member_and_pending_invitation_across_pages(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Big Org", members=250, plan="teams", seed=3)
    profile = make_pat_profile(name="Big", token=org.admin_token)
    run = download(profile)

    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    members = seats_of(profile).filter(kind="member")
    invitations = seats_of(profile).filter(kind="invitation")
    assert members.count() == 250
    assert invitations.count() == len(pending_invitations(org))
    assert set(invitations.values_list("status", flat=True)) == {Status.PENDING}
    assert run.fetched == 250 + len(pending_invitations(org))
    assert run.created == run.fetched
    pages = [p for (m, p, s) in sandbox.state.request_log if "/organization_memberships?" in p]
    assert len([p for p in pages if "count=100" in p]) >= 3  # 100 a page: three pages
    assert run.api_calls >= 3 + 3 + 1

    sub = members.select_related("software_model__publisher", "identifier").first()
    assert sub.identifier.value == "calendly-teams"
    assert str(sub.software_model) == "Calendly Teams"
    profile.refresh_from_db()
    assert (profile.organization_name, profile.organization_plan) == ("Big Org", "teams")
    owner = members.get(role="owner")
    assert owner.external_user_id == org.owner.uri


def test_it_reports_zero_changes_on_an_idempotent_rerun(sandbox, make_pat_profile):
    profile = make_pat_profile()
    first = download(profile)
    second = download(profile)
    assert first.created > 0
    assert (second.created, second.updated, second.removed) == (0, 0, 0)
    assert second.fetched == first.fetched


def test_an_unchanged_rerun_writes_no_seat_and_moves_last_seen_on_the_profile(
    sandbox, make_pat_profile
):
    profile = make_pat_profile()
    download(profile)
    profile.refresh_from_db()
    first_listing = profile.last_listed_at
    before = dict(seats_of(profile).values_list("pk", "updated_at"))

    download(profile)

    profile.refresh_from_db()
    assert profile.last_listed_at > first_listing
    assert dict(seats_of(profile).values_list("pk", "updated_at")) == before
    seat = seats_of(profile).select_related("profile").first()
    assert seat.last_seen == profile.last_listed_at
    seen = (
        seats_of(profile)
        .annotate(seen=SoftwareSubscription.last_seen_expression())
        .values_list("seen", flat=True)
    )
    assert set(seen) == {profile.last_listed_at}


def test_a_rerun_asks_the_directory_once_not_once_per_batch(sandbox, make_pat_profile, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from calendly_integration import download as downloading

    monkeypatch.setattr(downloading, "WRITE_BATCH", 50)
    org = sandbox.state.add_organization(name="Many", members=250, plan="teams", seed=5)
    profile = make_pat_profile(name="Many", token=org.admin_token)
    for member in org.members[::2]:  # half of them in the directory, half matching nobody
        Person.objects.create(email=member.user.email.upper())
    first = download(profile)

    with CaptureQueriesContext(connection) as queries:
        second = download(profile)

    lookup = 'SELECT "sam_saas_person"."id" AS "pk", LOWER("sam_saas_person"."email")'
    people = [q for q in queries if q["sql"].startswith(lookup)]
    assert len(people) == 1, [q["sql"][:120] for q in people]  # was one per batch of 50
    assert (second.created, second.updated, second.removed) == (0, 0, 0)
    assert second.unmatched == first.unmatched > 0
    matched = seats_of(profile).filter(person__isnull=False).count()
    assert matched == 125


def test_a_vanished_seat_was_last_seen_in_the_last_listing_that_had_it(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    profile = make_pat_profile()
    download(profile)
    download(profile)
    profile.refresh_from_db()
    had_it = profile.last_listed_at
    leaving = next(m for m in org.members if m.role == "user")
    sandbox.state.remove_member(org, leaving)

    download(profile)

    gone = seats_of(profile).select_related("profile").get(external_seat_id=leaving.uri)
    profile.refresh_from_db()
    assert gone.status == Status.REMOVED and profile.last_listed_at > had_it
    assert gone.last_seen == had_it
    report = registry.get("subscriptions")
    header = report.header()
    columns = next(report.batches(seats_of(profile).filter(pk=gone.pk)))
    row = [column[0] for column in columns]
    assert row[header.index("last seen")] == had_it.astimezone(dt.UTC).isoformat(timespec="seconds")


def test_it_marks_seats_removed_between_runs_and_records_role_changes(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    profile = make_pat_profile()
    download(profile)
    leaving = next(m for m in org.members if m.role == "user")
    promoted = next(m for m in org.members if m.role == "user" and m is not leaving)
    sandbox.state.remove_member(org, leaving)
    sandbox.state.set_role(org, promoted.user, "admin")
    newcomer = sandbox.state.add_member(
        org, email="New.Person@Acme-Demo.example", name="Nová Osoba"
    )

    run = download(profile)
    assert (run.created, run.updated, run.removed) == (1, 1, 1)
    gone = seats_of(profile).get(external_seat_id=leaving.uri)
    assert gone.status == Status.REMOVED
    assert seats_of(profile).get(external_seat_id=promoted.uri).role == "admin"
    assert seats_of(profile).get(external_seat_id=newcomer.uri).user_name == "Nová Osoba"


def test_it_waits_out_a_429_then_succeeds(sandbox, make_pat_profile):
    profile = make_pat_profile()
    sandbox.faults.update(rate_limit_next=1, reset_seconds=1)
    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.rate_limit_waits == 1
    assert any(status == 429 for (_m, _p, status) in sandbox.state.request_log)


def test_it_retries_a_500_on_page_three(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Paged", members=250, plan="teams", seed=4)
    profile = make_pat_profile(name="Paged", token=org.admin_token)
    # Requests: /users/me, the organization, the caller's membership, then pages 1, 2, 3.
    sandbox.faults.update(fail_on_request=6, fail_status=500)
    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED, run.error_message
    assert seats_of(profile).filter(kind="member").count() == 250
    failed = [p for (_m, p, s) in sandbox.state.request_log if s == 500]
    assert len(failed) == 1 and "page_token" in failed[0]


def test_it_leaves_the_last_good_data_untouched_when_retries_run_out(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Flaky", members=250, plan="teams", seed=5)
    profile = make_pat_profile(name="Flaky", token=org.admin_token)
    assert download(profile).status == JobRun.Status.SUCCEEDED
    before = dict(seats_of(profile).values_list("external_seat_id", "status"))
    sandbox.state.remove_member(org, next(m for m in org.members if m.role == "user"))
    # Page 2 of the memberships fails on every attempt (1 try + 3 retries).
    sandbox.faults.update(status_on_request={5: 503, 6: 503, 7: 503, 8: 503})

    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert run.error_class == "ConnectorError"
    assert "503" in run.error_message
    assert run.hint
    assert dict(seats_of(profile).values_list("external_seat_id", "status")) == before


def test_it_fails_with_a_hint_when_page_tokens_go_stale(sandbox, make_pat_profile):
    org = sandbox.state.add_organization(name="Stale", members=150, plan="teams", seed=6)
    profile = make_pat_profile(name="Stale", token=org.admin_token)
    sandbox.faults.update(expire_page_tokens=True)
    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert "page_token" in run.error_message
    assert not seats_of(profile).exists()


def test_it_refuses_a_non_admin_token_with_a_clear_message(sandbox, make_pat_profile):
    profile = make_pat_profile(token=sandbox.state.default_org.user_token)
    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert "need an admin" in run.error_message
    assert "admin" in run.hint
    assert not seats_of(profile).exists()


def test_it_names_a_missing_scope(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    from tests.calendly.conftest import admin_member

    token = sandbox.state.issue_token(
        org, admin_member(org), scopes=["users:read", "organizations:read"]
    )
    profile = make_pat_profile(token=token)
    sandbox.state.set_plan(org, "enterprise")
    run = jobs.run_now(profile, JobRun.Kind.ACTIVITY, JobRun.Trigger.COMMAND)
    # The activity log needs activity_log:read; the events fallback needs scheduled_events:read.
    assert run.status == JobRun.Status.FAILED
    assert "scheduled_events:read" in run.error_message + run.hint
    assert any("activity_log:read" in w for w in run.warnings)


def test_it_warns_when_reclaiming_will_fail_for_want_of_organizations_write(
    sandbox, make_oauth_profile
):
    profile = make_oauth_profile(
        scopes=["users:read", "organizations:read", "activity_log:read", "scheduled_events:read"]
    )
    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED
    assert any("organizations:write" in w for w in run.warnings)
    profile.alias.refresh_from_db()
    assert "organizations:write" in profile.alias.status_message


def test_it_matches_people_and_applies_exclusions_and_protections(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    admin_user = next(m.user for m in org.members if m.role == "admin")
    users = [m.user for m in org.members if m.role == "user"]
    Person.objects.create(email=users[0].email.upper(), department="Sales")
    Person.objects.create(email=users[1].email.lower(), department="Legal")
    SubscriptionUserExclusionRule.objects.create(
        department="Legal", exclude_from_reclamation=True, reason="Legal hold"
    )
    profile = make_pat_profile(token=org.admin_token)
    run = download(profile)

    subs = {s.external_user_id: s for s in seats_of(profile).filter(kind="member")}
    assert subs[users[0].uri].person.department == "Sales"
    assert subs[users[1].uri].excluded_from_reclamation
    assert "Legal hold" in subs[users[1].uri].reclamation_exclusion_reason
    owner = subs[org.owner.uri]
    assert owner.excluded_from_reclamation and owner.reclamation_exclusion_reason == OWNER_REASON
    me = subs[admin_user.uri]
    assert me.excluded_from_reclamation and me.reclamation_exclusion_reason == SELF_REASON
    holding = seats_of(profile).filter(status__in=[Status.ACTIVE, Status.PENDING])
    assert run.unmatched == holding.filter(person__isnull=True).count() == holding.count() - 2


def test_it_matches_a_later_directory_entry_on_the_next_refresh(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    profile = make_pat_profile()
    first = download(profile)
    someone = next(m.user for m in org.members if m.role == "user")
    Person.objects.create(email=someone.email)
    second = download(profile)
    assert second.unmatched == first.unmatched - 1
    assert second.updated == 1
    assert seats_of(profile).get(external_user_id=someone.uri).person is not None


def test_it_downloads_two_organizations_through_child_aliases(sandbox, make_oauth_profile):
    other = sandbox.state.add_organization(name="Globex", members=12, plan="standard", seed=9)
    first = make_oauth_profile(name="Acme")
    second = make_oauth_profile(name="Globex", org=other)
    assert first.alias.parent_id == second.alias.parent_id

    assert download(first).status == JobRun.Status.SUCCEEDED
    assert download(second).status == JobRun.Status.SUCCEEDED
    assert seats_of(second).filter(kind="member").count() == 12
    assert seats_of(first).filter(kind="member").count() == 30
    acme_emails = set(seats_of(first).values_list("user_principal_name", flat=True))
    globex_emails = set(seats_of(second).values_list("user_principal_name", flat=True))
    assert not acme_emails & globex_emails
    second.refresh_from_db()
    assert (second.organization_name, second.organization_plan) == ("Globex", "standard")
    assert seats_of(second).first().identifier.value == "calendly-standard"


def test_it_keeps_an_unknown_plan_as_an_unrecognized_identifier(sandbox, make_pat_profile):
    org = sandbox.state.default_org
    with sandbox.state.lock:  # a plan Calendly may add one day; set_plan only takes known ones
        org.plan = "platinum-2027"
    profile = make_pat_profile()
    run = download(profile)
    assert run.status == JobRun.Status.SUCCEEDED
    sub = seats_of(profile).select_related("identifier").first()
    assert sub.identifier.value == "calendly-platinum-2027"
    assert sub.identifier.software_model is None and sub.software_model is None


def test_it_says_so_when_a_personal_token_is_revoked(sandbox, make_pat_profile):
    profile = make_pat_profile()
    with sandbox.state.lock:  # deleted in Calendly's UI
        del sandbox.state.tokens[profile.alias.access_token]
    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert "personal access token" in run.hint
    assert profile.alias.access_token not in run.error_message + run.hint


def test_the_refresh_command_prints_the_result_and_fails_loudly(sandbox, make_pat_profile, capsys):
    from django.core.management import CommandError, call_command

    make_pat_profile(name="Good")
    make_pat_profile(name="Bad", token="sbx_pat_not-a-real-token")
    call_command("refresh", "Good")
    assert "SUCCEEDED" in capsys.readouterr().out
    with pytest.raises(CommandError, match="1 of 1 job"):
        call_command("refresh", "Bad")
    err = capsys.readouterr().err
    assert "FAILED" in err and "hint:" in err


def test_draft_and_unconnected_profiles_fail_with_a_hint(sandbox):
    alias = ConnectionAlias.objects.create(name="empty", api_base_url=sandbox.url)
    profile = IntegrationProfile.objects.create(name="Empty", alias=alias)
    run = download(profile)
    assert run.status == JobRun.Status.FAILED
    assert "Connect to Calendly" in run.hint


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_writer_thread_commits_only_a_complete_download(
    sandbox, make_pat_profile
):
    """Outside a transaction (a worker) the seats are written on a second connection while
    pages arrive; a failure on a later page rolls all of it back."""
    org = sandbox.state.add_organization(name="Threaded", members=1200, plan="teams", seed=8)
    profile = make_pat_profile(name="Threaded", token=org.admin_token)
    first = download(profile)
    assert first.status == JobRun.Status.SUCCEEDED, first.error_message
    assert seats_of(profile).filter(kind="member").count() == 1200
    before = dict(seats_of(profile).values_list("external_seat_id", "status"))

    sandbox.state.remove_member(org, next(m for m in org.members if m.role == "user"))
    sandbox.state.add_member(org, email="late@threaded.example", name="Late")
    # Page 10 of 13 fails every attempt, after several batches went to the writer.
    sandbox.faults.update(status_on_request={13: 502, 14: 502, 15: 502, 16: 502})
    failed = download(profile)
    assert failed.status == JobRun.Status.FAILED
    assert dict(seats_of(profile).values_list("external_seat_id", "status")) == before

    sandbox.faults.reset()
    again = download(profile)
    assert (again.created, again.removed) == (1, 1)
