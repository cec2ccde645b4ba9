"""Fault drills: the fake Calendly turns hostile in the middle of a run.

A download makes these API requests: 1 ``/users/me``, 2 the organization, 3 the connection's
own membership (its role), 4-6 the three pages of 250 memberships, 7 the pending invitations.
``hostile_after(4, ...)`` therefore strikes after the first page of members.

Every drill ends with the same checks (see ``conftest.DrillCheck``): correct data, a clear job
result with a hint, nothing removed that should stay, and no secret in any log record."""

import pytest

from calendly_integration.constants import identifier_for_plan
from calendly_integration.download import OWNER_REASON
from sam_saas.models import ConnectionAlias, JobRun, SoftwareSubscription

from .conftest import admin_user, holding, run, seats

pytestmark = pytest.mark.django_db

AFTER_FIRST_PAGE = 4


# -- 429 storms ---------------------------------------------------------------------------------


def test_a_short_429_storm_mid_listing_is_waited_out(
    sandbox, org, pat_profile, hostile_after, check
):
    baseline = run(pat_profile)
    before = holding(pat_profile)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.faults.update(rate_limit_next=3))

    job = run(pat_profile)

    assert job.status == JobRun.Status.SUCCEEDED, job.error_message
    assert job.rate_limit_waits == 3
    assert (job.created, job.updated, job.removed) == (0, 0, 0)
    check.matches_vendor(pat_profile, org)
    check.nothing_removed(pat_profile, before)
    check.no_secret_leaked(baseline, job)


def test_a_429_storm_that_outlasts_the_retries_fails_clearly_and_changes_nothing(
    sandbox, org, pat_profile, hostile_after, check
):
    baseline = run(pat_profile)
    before = holding(pat_profile)
    # A seat leaves meanwhile: a half-read listing must not mark it (or anyone) removed.
    sandbox.state.remove_member(org, next(m for m in org.members if m.role == "user"))
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.faults.update(rate_limit_next=50))

    job = run(pat_profile)

    check.clear_failure(job, "rate limit")
    assert job.rate_limit_waits >= 3
    check.nothing_removed(pat_profile, before)
    assert holding(pat_profile) == before

    sandbox.faults.reset()  # the storm passes: the next run catches up
    recovered = run(pat_profile)
    assert recovered.status == JobRun.Status.SUCCEEDED and recovered.removed == 1
    check.matches_vendor(pat_profile, org)
    check.no_secret_leaked(baseline, job, recovered)


# -- 500s and dropped connections ----------------------------------------------------------------


def test_intermittent_500s_mid_listing_are_retried(sandbox, org, pat_profile, hostile_after, check):
    run(pat_profile)
    before = holding(pat_profile)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.faults.update(fail_every=2, fail_status=500))

    job = run(pat_profile)

    assert job.status == JobRun.Status.SUCCEEDED, job.error_message
    assert sum(1 for (_m, _p, s) in sandbox.state.request_log if s == 500) >= 2
    check.matches_vendor(pat_profile, org)
    check.nothing_removed(pat_profile, before)
    check.no_secret_leaked(job)


def test_calendly_down_mid_listing_fails_clearly_and_the_next_run_recovers(
    sandbox, org, pat_profile, hostile_after, check
):
    run(pat_profile)
    before = holding(pat_profile)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.faults.update(fail_every=1, fail_status=500))

    job = run(pat_profile)

    check.clear_failure(job, "500", "next run")
    check.nothing_removed(pat_profile, before)
    assert holding(pat_profile) == before

    sandbox.faults.reset()
    recovered = run(pat_profile)
    assert recovered.status == JobRun.Status.SUCCEEDED
    check.matches_vendor(pat_profile, org)
    check.no_secret_leaked(job, recovered)


def test_dropped_connections_mid_listing_are_retried(
    sandbox, org, pat_profile, hostile_after, check
):
    run(pat_profile)
    before = holding(pat_profile)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.faults.update(drop_on_request=1))
    hostile_after(AFTER_FIRST_PAGE + 2, lambda: sandbox.faults.update(drop_on_request=1))

    job = run(pat_profile)

    assert job.status == JobRun.Status.SUCCEEDED, job.error_message
    dropped = [p for (_m, p, s) in sandbox.state.request_log if s == 0]
    assert len(dropped) == 2
    check.matches_vendor(pat_profile, org)
    check.nothing_removed(pat_profile, before)
    check.no_secret_leaked(job)


# -- a token revoked from the vendor side --------------------------------------------------------


def test_an_oauth_grant_revoked_mid_run_fails_with_reconnect_and_changes_nothing(
    sandbox, org, oauth_profile, hostile_after, check
):
    baseline = run(oauth_profile)
    before = holding(oauth_profile)
    alias = ConnectionAlias.objects.get(pk=oauth_profile.alias_id)
    # Someone disconnects the app in Calendly: the refresh token dies, its access token too.
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.state.revoke_token(alias.refresh_token))

    job = run(oauth_profile)

    check.clear_failure(job, "Connect to Calendly")
    check.nothing_removed(oauth_profile, before)
    assert holding(oauth_profile) == before

    again = run(oauth_profile)  # still revoked: the same clear answer, nothing else
    check.clear_failure(again, "Connect to Calendly")
    assert holding(oauth_profile) == before
    check.no_secret_leaked(baseline, job, again)


def test_a_personal_token_revoked_mid_run_fails_with_a_hint_and_changes_nothing(
    sandbox, org, pat_profile, hostile_after, check
):
    run(pat_profile)
    before = holding(pat_profile)

    def revoke():
        with sandbox.state.lock:
            del sandbox.state.tokens[org.admin_token]

    hostile_after(AFTER_FIRST_PAGE, revoke)
    job = run(pat_profile)

    check.clear_failure(job, "personal access token")
    check.nothing_removed(pat_profile, before)
    assert holding(pat_profile) == before
    check.no_secret_leaked(job)


# -- the plan downgraded from Enterprise ---------------------------------------------------------


def test_a_plan_downgraded_mid_activity_pull_falls_back_to_scheduled_events(
    sandbox, org, pat_profile, hostile_after, check
):
    assert run(pat_profile).status == JobRun.Status.SUCCEEDED
    before = holding(pat_profile)
    # Requests of an activity pull: 1-3 the connection check (plan still "enterprise"), then
    # the activity log, which now answers 403 "Please upgrade ... to Enterprise".
    hostile_after(3, lambda: sandbox.state.set_plan(org, "teams"))

    job = run(pat_profile, JobRun.Kind.ACTIVITY)

    assert job.status == JobRun.Status.SUCCEEDED, job.error_message
    assert any("Enterprise" in w and "scheduled events" in w for w in job.warnings), job.warnings
    active = seats(pat_profile).filter(last_activity_at__isnull=False)
    assert active.exists()
    assert set(active.values_list("last_activity_source", flat=True)) == {
        "calendly_scheduled_events"
    }

    # The next download records the new plan: every seat moves to the Teams identifier and
    # model; nobody is removed for it.
    download = run(pat_profile)
    assert download.status == JobRun.Status.SUCCEEDED
    identifiers = set(
        seats(pat_profile)
        .filter(status__in=["active", "pending"])
        .values_list("identifier__value", "software_model__edition")
    )
    assert identifiers == {(identifier_for_plan("teams"), "Teams")}
    pat_profile.refresh_from_db()
    assert pat_profile.organization_plan == "teams"
    check.nothing_removed(pat_profile, before)
    check.matches_vendor(pat_profile, org)
    check.no_secret_leaked(job, download)


# -- the owner changed ---------------------------------------------------------------------------


def test_an_owner_change_mid_listing_moves_the_protection_to_the_new_owner(
    sandbox, org, pat_profile, hostile_after, check
):
    run(pat_profile)
    before = holding(pat_profile)
    old_owner = org.owner
    # A plain user near the end of the listing, so the change lands on a page not yet read.
    new_owner = next(m.user for m in reversed(org.members) if m.role == "user")
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.state.set_owner(org, new_owner))

    job = run(pat_profile)

    assert job.status == JobRun.Status.SUCCEEDED, job.error_message
    by_user = {s.external_user_id: s for s in seats(pat_profile).filter(kind="member")}
    assert by_user[new_owner.uri].role == "owner"
    assert by_user[new_owner.uri].excluded_from_reclamation
    assert by_user[new_owner.uri].reclamation_exclusion_reason == OWNER_REASON
    if org.members.index(org.membership_of(old_owner)) >= 100:  # read after the change
        assert by_user[old_owner.uri].role == "admin"
    check.matches_vendor(pat_profile, org)
    check.nothing_removed(pat_profile, before)
    check.no_secret_leaked(job)

    # The next run sees the whole organization after the change.
    again = run(pat_profile)
    by_user = {s.external_user_id: s for s in seats(pat_profile).filter(kind="member")}
    assert by_user[old_owner.uri].role == "admin"
    assert by_user[old_owner.uri].reclamation_exclusion_reason != OWNER_REASON
    owners = seats(pat_profile).filter(role="owner", status="active")
    assert list(owners.values_list("external_user_id", flat=True)) == [new_owner.uri]
    check.no_secret_leaked(again)


def test_the_new_owner_is_never_reclaimed(sandbox, org, pat_profile, hostile_after, check):
    """A candidate raised while the seat was a plain user's, then the user became the owner:
    identification closes it, and if it was approved before that, Calendly's refusal puts it in
    Attention Required. The seat stays."""
    from reclamation.models import ReclamationCandidate
    from reclamation.services import identification, reclaiming, workflow

    pat_profile.reclaim_enabled = True
    pat_profile.save(update_fields=["reclaim_enabled"])
    run(pat_profile)
    run(pat_profile, JobRun.Kind.ACTIVITY)
    identification.identify()
    candidates = ReclamationCandidate.objects.filter(
        profile=pat_profile, seat_kind="member", state="awaiting_approval"
    ).select_related("subscription")
    first, second = candidates[0], candidates[1]
    users = {m.user.uri: m.user for m in org.members}
    workflow.approve([first.pk], None)  # approved: its reclaim task is queued ...

    def promote():
        sandbox.state.set_owner(org, users[first.subscription.external_user_id])

    hostile_after(1, promote)  # ... and the seat holder becomes the owner before it runs
    outcome = reclaiming.reclaim(first.pk)

    first.refresh_from_db()
    assert outcome == reclaiming.Outcome.ATTENTION
    assert first.state == ReclamationCandidate.State.ATTENTION_REQUIRED and first.hint
    assert org.membership_of(users[first.subscription.external_user_id]) is not None

    sandbox.state.set_owner(org, users[second.subscription.external_user_id])
    run(pat_profile)
    identification.identify()
    second.refresh_from_db()
    assert second.state == ReclamationCandidate.State.CLOSED_SKIPPED
    sub = SoftwareSubscription.objects.get(pk=second.subscription_id)
    assert sub.status == "active" and sub.excluded_from_reclamation
    check.no_secret_leaked()


# -- the connection's account demoted to user ----------------------------------------------------


def test_the_connection_demoted_to_user_mid_run_fails_clearly_and_changes_nothing(
    sandbox, org, pat_profile, hostile_after, check
):
    run(pat_profile)
    before = holding(pat_profile)
    me = admin_user(org)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.state.set_role(org, me, "user"))

    job = run(pat_profile)  # the pending invitations are admin-only: 403 half-way

    check.clear_failure(job, "admin")
    check.nothing_removed(pat_profile, before)
    assert holding(pat_profile) == before

    again = run(pat_profile)  # now refused up front, by the connection check
    check.clear_failure(again, "“user”", "admin")
    alias = ConnectionAlias.objects.get(pk=pat_profile.alias_id)
    assert "“user”" in alias.status_message
    assert holding(pat_profile) == before

    sandbox.state.set_role(org, me, "admin")  # promoted back: the next run recovers
    recovered = run(pat_profile)
    assert recovered.status == JobRun.Status.SUCCEEDED
    check.matches_vendor(pat_profile, org)
    check.no_secret_leaked(job, again, recovered)


# -- tokens renewed or revoked while a download holds its write transaction ----------------------
#
# What ``tokens.AliasTokenSource`` saves during the listing (a refreshed token pair, "Reconnect
# required") must outlive a failed download: Calendly's refresh tokens are single-use, so a
# rolled-back refresh would leave a dead token stored. Both writers are drilled: the PostgreSQL
# writer thread, and ``download.InlineWriter`` (SQLite, or a caller already in a transaction),
# which writes the buffered seats in one atomic block only once the listing is complete.


def refresh_then_fail_then_recover(sandbox, oauth_profile, hostile_after, check):
    run(oauth_profile)
    before = holding(oauth_profile)
    hostile_after(AFTER_FIRST_PAGE, sandbox.faults.expire_access_tokens_now)  # 401: refresh
    hostile_after(AFTER_FIRST_PAGE + 2, lambda: sandbox.faults.update(fail_every=1))  # then 500s

    failed = run(oauth_profile)
    check.clear_failure(failed, "500")
    assert holding(oauth_profile) == before

    sandbox.faults.update(fail_every=None)  # Calendly is back; the token cut-off stays
    recovered = run(oauth_profile)
    assert recovered.status == JobRun.Status.SUCCEEDED, recovered.error_message
    check.no_secret_leaked(failed, recovered)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_the_postgresql_writer_thread_a_token_refreshed_mid_listing_survives_a_failure(
    sandbox, org, oauth_profile, hostile_after, check
):
    refresh_then_fail_then_recover(sandbox, oauth_profile, hostile_after, check)


def test_a_token_refreshed_mid_listing_survives_a_later_failure(
    sandbox, org, oauth_profile, hostile_after, check
):
    refresh_then_fail_then_recover(sandbox, oauth_profile, hostile_after, check)


def test_a_grant_revoked_mid_listing_marks_the_alias_reconnect_required(
    sandbox, org, oauth_profile, hostile_after
):
    run(oauth_profile)
    alias = ConnectionAlias.objects.get(pk=oauth_profile.alias_id)
    hostile_after(AFTER_FIRST_PAGE, lambda: sandbox.state.revoke_token(alias.refresh_token))

    run(oauth_profile)

    alias.refresh_from_db()
    assert alias.connection_status == ConnectionAlias.ConnectionStatus.RECONNECT_REQUIRED
    assert "Connect to Calendly" in alias.status_message
