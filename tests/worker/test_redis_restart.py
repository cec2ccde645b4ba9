"""Redis restarted (without persistence, as configured here) while a refresh runs: the run
completes or fails cleanly, no run is left open, and the next dispatch recovers.

The restart is real: ``redis-cli shutdown nosave`` on the local server, then the same
``redis-server`` command line CI uses. It is always started again (``finally``), and the
outage lasts about a second."""

import contextlib
import datetime as dt
import shutil
import socket
import subprocess
import time
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from config.celery import app
from sam_saas.models import JobRun, SoftwareSubscription
from sam_saas.services import jobs
from sam_saas.tasks import dispatch_due_refreshes, run_job

from .conftest import (
    WORKER_MARKS,
    broker_url,
    finished,
    make_due,
    redis_client,
    runs,
    wait_for,
)

pytestmark = [
    *WORKER_MARKS,
    # The in-process worker also sees the restart; Celery warns about a 6.0 default change.
    pytest.mark.filterwarnings("ignore::celery.exceptions.CPendingDeprecationWarning"),
]

REDIS_SERVER = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def _port_open() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 6379), 0.5):
        return True
    return False


def _pong() -> bool:
    with contextlib.suppress(Exception):
        return bool(redis_client().ping())
    return False


@contextlib.contextmanager
def redis_restarted(down_seconds: float = 1.0):
    """Shut the local Redis down, keep it down ``down_seconds``, start it again (always)."""
    try:
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
            timeout=10,
            capture_output=True,
            check=False,
        )
        wait_for(lambda: not _port_open(), timeout=10, what="Redis to stop")
        time.sleep(down_seconds)
        yield
    finally:
        if not _port_open():
            subprocess.run(REDIS_SERVER, timeout=15, capture_output=True, check=False)
        wait_for(_pong, timeout=20, what="Redis to answer again")


@pytest.fixture
def local_redis():
    parts = urlsplit(broker_url())
    if parts.hostname not in ("127.0.0.1", "localhost") or (parts.port or 6379) != 6379:
        pytest.skip("restarts only the local Redis on 127.0.0.1:6379")
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        pytest.skip("needs redis-server and redis-cli to restart Redis")


def test_a_refresh_whose_message_redis_lost_is_run_by_the_next_dispatch(
    celery_worker, sandbox, make_profile
):
    """What a Redis restart does to a refresh still waiting in the queue (the worker busy with
    others): the run row says "queued", its message is gone. Simulated without a restart: the
    message goes to a queue nobody reads, which is then dropped."""
    profile = make_profile("Lost", activity_enabled=False)
    run = jobs.create_run(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.SCHEDULE)
    run_job.apply_async((run.pk,), queue="nobody-reads-this")
    redis_client().delete("nobody-reads-this")  # lost with the restart
    a_day_ago = timezone.now() - dt.timedelta(days=1)
    JobRun.objects.filter(pk=run.pk).update(queued_at=a_day_ago)

    make_due(profile)  # the next day's dispatch
    dispatch_due_refreshes.delay()
    wait_for(
        lambda: runs(profile).filter(status=JobRun.Status.SUCCEEDED).exists(),
        timeout=10,
        what="a refresh of the profile to succeed",
    )
    wait_for(lambda: not runs(profile).filter(status__in=JobRun.OPEN_STATUSES).exists())


RESTART_DB = 13  # its own broker database: the in-process worker must not take these tasks


class Supervisor:
    """What systemd, Kubernetes or honcho do for a worker: start it, and start it again if it
    exits. (A Celery 5.7 / kombu 5.7 worker can exit with "Unrecoverable error" when Redis goes
    away while it holds an unacknowledged message.)"""

    def __init__(self, start):
        self.start = start
        self.generation = 0
        self.exits: list[str] = []
        self.worker = self._spawn()

    def _spawn(self):
        self.generation += 1
        worker = self.start(
            f"supervised{self.generation}",
            "celery",
            broker=broker_url(RESTART_DB),
            pool="prefork",  # the pool `celery -A config worker` uses in production
        )
        worker.wait_ready(timeout=60)
        return worker

    def tend(self) -> None:
        if self.worker.process.poll() is not None:
            self.exits.append(self.worker.log()[-3000:])
            self.worker = self._spawn()


def send(task, **kwargs):
    """Send a task to the broker database of the supervised workers."""
    with app.connection_for_write(broker_url(RESTART_DB)) as connection:
        return task.apply_async(connection=connection, **kwargs)


def test_a_refresh_survives_a_redis_restart_and_the_next_dispatch_recovers(
    local_redis, sandbox, make_profile, subprocess_workers
):
    redis_client(RESTART_DB).flushdb()
    org = sandbox.state.add_organization(name="Restart", members=250, plan="enterprise", seed=23)
    profile = make_profile("Restart", org=org, activity_enabled=True)
    make_due(profile)
    supervisor = Supervisor(subprocess_workers)
    sandbox.faults.update(delay_seconds=0.3)  # the download takes ~2 s
    before = sandbox.faults.api_requests

    send(dispatch_due_refreshes)
    wait_for(
        lambda: sandbox.faults.api_requests >= before + 4,
        timeout=30,
        what="the download to be half-way",
    )
    assert runs(profile).get().status == JobRun.Status.RUNNING
    # The rest of the listing (3 requests) outlasts the outage, so the download is in flight
    # from before Redis goes away until after it is back.
    sandbox.faults.update(delay_seconds=0.8)
    with redis_restarted(down_seconds=1.0):
        pass
    sandbox.faults.update(delay_seconds=0)

    # The run that was in flight ends, one way or the other, and says how.
    def first_run_over():
        supervisor.tend()
        return finished(profile)

    first = wait_for(first_run_over, timeout=60, what="the in-flight download to end")[0]
    if first.status == JobRun.Status.FAILED:
        assert first.error_message and first.hint
    else:
        assert first.status == JobRun.Status.SUCCEEDED

    # Whatever it queued runs too; nothing is left open.
    def settled():
        supervisor.tend()
        return not JobRun.objects.filter(status__in=JobRun.OPEN_STATUSES).exists()

    wait_for(settled, timeout=60, what="no open runs")

    # The next dispatch recovers: a fresh refresh and activity pull, both succeeding.
    activity_before = runs(profile, JobRun.Kind.ACTIVITY).count()
    make_due(profile)
    send(dispatch_due_refreshes)

    def next_cycle_done():
        supervisor.tend()
        return finished(profile, count=2) and finished(
            profile, JobRun.Kind.ACTIVITY, count=activity_before + 1
        )

    wait_for(next_cycle_done, timeout=60, what="the next refresh and activity pull")
    latest = runs(profile).last()
    assert latest.status == JobRun.Status.SUCCEEDED, latest.error_message
    assert runs(profile, JobRun.Kind.ACTIVITY).last().status == JobRun.Status.SUCCEEDED
    held = SoftwareSubscription.objects.filter(profile=profile, status__in=["active", "pending"])
    assert held.count() == len(org.members) + sum(
        1 for i in org.invitations.values() if i.status == "pending"
    )
