"""A real Celery worker (and, where a test asks for it, a real beat) on Redis, against the
PostgreSQL test database, with transactional tests so the worker's threads see what the test
commits and the test sees what the worker commits.

* ``celery_worker`` (session): ``celery.contrib.testing.worker.start_worker`` in this process,
  thread pool of 4, consuming the default queue on a dedicated Redis database (``BROKER_DB``,
  flushed at start). Tasks are sent for real: ``task_always_eager`` is off during each test
  and back on afterwards, so the rest of the suite keeps running tasks inline.
* ``running_beat(...)``: celery beat's own service in a thread, with entries of the real
  schedule (``config/celery.py``) firing every fraction of a second instead of daily.
* ``SubprocessWorker``: ``celery -A config worker`` in its own process, for the drills that
  kill a worker.

Every test here needs PostgreSQL and Redis (markers ``postgres`` and ``redis``) and skips
without them, unless REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.db import connection

from calendly_integration.sandbox import start_sandbox
from config.celery import app
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun

BROKER_DB = 14
BASE_DIR = Path(__file__).resolve().parents[2]
WORKER_MARKS = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def broker_url(db: int = BROKER_DB) -> str:
    """REDIS_URL (or CELERY_BROKER_URL) moved to the dedicated database ``db``."""
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or ""
    parts = urlsplit(url or "redis://127.0.0.1:6379/0")
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", "", ""))


def redis_client(db: int = BROKER_DB):
    import redis

    return redis.Redis.from_url(broker_url(db), socket_timeout=2, socket_connect_timeout=2)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def configure_app() -> None:
    """Point this process's app at the broker database and send tasks for real."""
    url = broker_url()
    if app.conf.broker_url != url:
        app.conf.broker_url = url
        if getattr(app, "_pool", None) is not None:  # made for the old URL
            app._pool.force_close_all()
            app._pool = None
            # The producer pool wraps the connection pool just closed: drop it too, or the
            # next publish fails with "Acquire on closed pool".
            app.amqp._producer_pool = None
    app.conf.broker_connection_retry_on_startup = True
    app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    from celery.contrib.testing.worker import start_worker

    with django_db_blocker.unblock():
        redis_client().flushdb()
        configure_app()
        running = start_worker(
            app,
            pool="threads",
            concurrency=4,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        )
        worker = running.__enter__()
    try:
        yield worker
    finally:
        with django_db_blocker.unblock():
            running.__exit__(None, None, None)
        app.conf.task_always_eager = True


def worker_idle() -> bool:
    from celery.worker import state

    if state.active_requests or state.reserved_requests:
        return False
    try:
        return redis_client().llen("celery") == 0
    except Exception:  # Redis restarting
        return False


@pytest.fixture(autouse=True)
def tasks_go_to_the_broker(request, transactional_db):
    """Send tasks for real during the test; before the database is flushed, wait until the
    worker has finished what the test started."""
    previous = app.conf.task_always_eager
    configure_app()
    yield
    try:
        if "celery_worker" in request.fixturenames:
            wait_for(worker_idle, timeout=60, what="the worker to finish its tasks")
    finally:
        app.conf.task_always_eager = previous


@contextlib.contextmanager
def running_beat(*entry_names: str, every: float = 0.5):
    """Celery beat's service, in a thread, sending the named entries of the real schedule
    every ``every`` seconds."""
    from celery import beat

    schedule = {}
    for name in entry_names:
        entry = dict(app.conf.beat_schedule[name])
        entry["schedule"] = every
        schedule[name] = entry

    class FastScheduler(beat.Scheduler):
        def setup_schedule(self):
            self.merge_inplace(schedule)

    service = beat.EmbeddedService(app, thread=True, scheduler_cls=FastScheduler)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        service.join(10)


@pytest.fixture
def sandbox():
    with start_sandbox(members=30, plan="enterprise", seed=21, rate_limit=0) as sb:
        yield sb


@pytest.fixture
def make_profile(sandbox):
    def make(name="Acme", org=None, **fields):
        org = org or sandbox.state.default_org
        alias = ConnectionAlias.objects.create(
            name=f"{name} token",
            auth_type=ConnectionAlias.AuthType.PERSONAL_TOKEN,
            api_base_url=sandbox.url,
            access_token=org.admin_token,
        )
        return IntegrationProfile.objects.create(
            name=name, alias=alias, status="published", provider="calendly", **fields
        )

    return make


def make_due(profile) -> None:
    """The profile's daily refresh time has passed."""
    from django.utils import timezone

    IntegrationProfile.objects.filter(pk=profile.pk).update(
        next_refresh_at=timezone.now() - dt.timedelta(minutes=1)
    )


def runs(profile, kind=JobRun.Kind.DOWNLOAD):
    return JobRun.objects.filter(profile=profile, kind=kind).order_by("id")


def finished(profile, kind=JobRun.Kind.DOWNLOAD, count: int = 1):
    done = list(runs(profile, kind).exclude(status__in=JobRun.OPEN_STATUSES))
    return done if len(done) >= count else None


# -- a worker in its own process -----------------------------------------------------------------


def database_url() -> str:
    """The test database (pytest-django's ``test_<name>``) as a DATABASE_URL."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s["HOST"] or "127.0.0.1"
    port = s["PORT"] or "5432"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


class SubprocessWorker:
    """``celery worker`` (the product's app, see ``subprocess_app``) on ``queue``, in its own
    process group, with the test settings pointed at the test database and a broker database
    (``broker``, by default the one of the in-process worker)."""

    def __init__(
        self,
        name: str,
        queue: str,
        log_dir: Path,
        visibility_timeout: int,
        broker: str | None = None,
        pool: str = "solo",
    ):
        self.log_path = log_dir / f"{name}.log"
        self.name = name
        broker = broker or broker_url()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": database_url(),
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "CELERY_BROKER_VISIBILITY_TIMEOUT": str(visibility_timeout),
            "CELERY_SKIP_CHECKS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.worker.subprocess_app",
                "worker",
                f"--pool={pool}",
                "--concurrency=1",
                "-Q",
                queue,
                "-n",
                f"{name}@%h",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"worker {self.name} exited:\n{self.log()[-3000:]}")
            return " ready." in self.log()

        wait_for(ready, timeout=timeout, what=f"worker {self.name} to start")

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no acknowledgement, no cleanup."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.fixture
def subprocess_workers(tmp_path):
    started: list[SubprocessWorker] = []

    def start(name: str, queue: str, visibility_timeout: int = 5, **kwargs) -> SubprocessWorker:
        worker = SubprocessWorker(name, queue, tmp_path, visibility_timeout, **kwargs)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
