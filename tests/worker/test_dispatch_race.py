"""Two (or more) dispatchers racing on real worker threads queue a due profile once, and its
refresh runs once."""

from sam_saas.models import JobRun
from sam_saas.tasks import dispatch_due_refreshes

from .conftest import WORKER_MARKS, finished, make_due, runs, wait_for, worker_idle

pytestmark = WORKER_MARKS


def test_racing_dispatchers_queue_and_run_one_refresh(celery_worker, sandbox, make_profile):
    # Two organizations: one organization is held by one profile only.
    orgs = [
        sandbox.state.default_org,
        sandbox.state.add_organization(name="Race Two", members=30, seed=22),
    ]
    profiles = [
        make_profile(f"Race {i}", org=org, activity_enabled=False) for i, org in enumerate(orgs)
    ]
    for profile in profiles:
        make_due(profile)
    sandbox.faults.update(delay_seconds=0.05)  # keep the first download busy while others race

    for _ in range(4):  # four dispatcher messages at once; the worker runs 4 threads
        dispatch_due_refreshes.delay()

    for profile in profiles:
        wait_for(lambda p=profile: finished(p), timeout=60, what=f"the refresh of {profile}")
    wait_for(worker_idle, timeout=60, what="the other dispatchers to finish")

    for profile in profiles:
        assert list(runs(profile).values_list("status", flat=True)) == [JobRun.Status.SUCCEEDED]
        assert runs(profile).get().trigger == JobRun.Trigger.SCHEDULE
    listings = [
        p
        for (_m, p, _s) in sandbox.state.request_log
        if p.startswith("/organization_memberships") and "email=" not in p
    ]
    assert len(listings) == len(profiles)  # one listing each (30 members: one page)
