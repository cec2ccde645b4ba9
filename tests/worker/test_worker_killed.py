"""A worker killed in the middle of a download: the task comes back (acks_late +
reject_on_worker_lost; Redis redelivers an unacknowledged message after the visibility
timeout), another worker finishes it, and nothing is lost or doubled.

The workers are real ``celery worker`` processes on their own queue, so the kill is a real
SIGKILL of a process holding an open database transaction and an unacknowledged message."""

import uuid

from sam_saas.models import JobRun, SoftwareSubscription
from sam_saas.services import jobs
from sam_saas.tasks import run_job

from .conftest import WORKER_MARKS, runs, wait_for

pytestmark = WORKER_MARKS

VISIBILITY_TIMEOUT = 5


def test_a_download_whose_worker_is_killed_is_redelivered_and_finished_once(
    sandbox, make_profile, subprocess_workers
):
    org = sandbox.state.add_organization(name="Killdrill", members=250, plan="teams", seed=22)
    profile = make_profile("Killdrill", org=org, activity_enabled=False)
    vendor_seats = {m.uri for m in org.members} | {
        i.uri for i in org.invitations.values() if i.status == "pending"
    }
    queue = f"drill-kill-{uuid.uuid4().hex[:8]}"
    sandbox.faults.update(delay_seconds=0.4)  # 7 requests: the download takes ~3 s

    first = subprocess_workers("first", queue, VISIBILITY_TIMEOUT)
    first.wait_ready()
    run = jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    requests_before = sandbox.faults.api_requests
    run_job.apply_async((run.pk,), queue=queue)

    # Mid-download: the run is claimed and the first pages of members have been read.
    wait_for(
        lambda: sandbox.faults.api_requests >= requests_before + 5,
        timeout=30,
        what="the first worker to be half-way through the listing",
    )
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING
    first.kill()

    # The dead worker's transaction is gone with it: nothing half-written.
    assert not SoftwareSubscription.objects.filter(profile=profile).exists()
    assert JobRun.objects.get(pk=run.pk).status == JobRun.Status.RUNNING

    sandbox.faults.update(delay_seconds=0)
    second = subprocess_workers("second", queue, VISIBILITY_TIMEOUT)
    second.wait_ready()
    done = wait_for(
        lambda: JobRun.objects.filter(pk=run.pk).exclude(status__in=JobRun.OPEN_STATUSES).first(),
        timeout=40,
        what=f"the redelivered download to finish (second worker log:\n{second.log()[-2000:]})",
    )

    assert done.status == JobRun.Status.SUCCEEDED, (done.error_message, second.log()[-2000:])
    assert "sam_saas.tasks.run_job" in second.log()
    # Nothing lost, nothing doubled: exactly the vendor's seats, once each, in one run.
    stored = list(
        SoftwareSubscription.objects.filter(profile=profile).values_list(
            "external_seat_id", flat=True
        )
    )
    assert len(stored) == len(set(stored)) == len(vendor_seats)
    assert set(stored) == vendor_seats
    assert list(runs(profile).values_list("pk", flat=True)) == [run.pk]
    assert done.created == len(vendor_seats) and done.removed == 0
    assert done.fetched == len(vendor_seats)
    # The listing was read again from the start by the second worker.
    listings = [
        p for (_m, p, s) in sandbox.state.request_log if p.startswith("/organization_memberships")
    ]
    first_pages = [p for p in listings if "page_token" not in p and "email=" not in p]
    assert len(first_pages) == 2
