"""``manage.py bench_download --members 100000``: time the download against the fake Calendly.

Prints the wall time of a real download, the HTTP floor (a bare ``requests`` loop fetching the
same pages), their ratio, database queries per page of 100, and peak RSS. A benchmark, not a
test: it prints numbers and asserts nothing. Run it on PostgreSQL for the figures that count.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import connection
from django.db.backends.signals import connection_created

from calendly_integration import download
from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun
from sam_saas.services import jobs

from ...demo import wait_until_up

TOKEN = "bench-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_floor(url: str) -> tuple[float, int]:
    """Fetch what the download fetches, with nothing else: the fastest any download can be."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    start = time.perf_counter()
    me = session.get(f"{url}/users/me", timeout=30).json()["resource"]
    org_uri = me["current_organization"]
    org_uuid = org_uri.rsplit("/", 1)[-1]
    session.get(f"{url}/organizations/{org_uuid}", timeout=30).json()
    session.get(
        f"{url}/organization_memberships",
        params={"organization": org_uri, "email": me["email"], "count": 1},
        timeout=30,
    ).json()
    pages = 0
    for path, params in (
        ("/organization_memberships", {"organization": org_uri, "count": 100}),
        (f"/organizations/{org_uuid}/invitations", {"status": "pending", "count": 100}),
    ):
        while True:
            body = session.get(f"{url}{path}", params=params, timeout=30).json()
            pages += 1
            next_token = body["pagination"]["next_page_token"]
            if not next_token:
                break
            params = {**params, "page_token": next_token}
    return time.perf_counter() - start, pages


def count_inserts() -> list[int]:
    """Count calls of the downloader's insert step (one statement each)."""
    calls: list[int] = []
    original = download.SeatWriter._insert

    def counted(self, rows):
        calls.append(len(rows))
        return original(self, rows)

    download.SeatWriter._insert = counted
    return calls


class QueryCounter:
    """Counts statements on every connection, including the seat writer's own thread."""

    def __init__(self):
        self.statements: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        connection_created.connect(self._install, weak=False)
        self._install(connection=connection)

    def _install(self, sender=None, connection=None, **kwargs):
        if self not in connection.execute_wrappers:
            connection.execute_wrappers.append(self)

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            with self._lock:
                self.statements.append((time.perf_counter() - start, sql))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Command(BaseCommand):
    help = "Benchmark the Calendly download against the fake Calendly (prints numbers)."

    def add_arguments(self, parser):
        parser.add_argument("--members", type=int, default=100_000)
        parser.add_argument("--plan", default="teams")

    def handle(self, *args, members, plan, **options):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(settings.BASE_DIR) / "bench-sandbox.log", "w")  # noqa: SIM115
        sandbox = subprocess.Popen(  # noqa: S603 - our own manage.py
            [
                sys.executable,
                "manage.py",
                "calendly_sandbox",
                f"--port={port}",
                f"--members={members}",
                f"--plan={plan}",
                "--seed=1",
                "--rate-limit=0",
                f"--token={TOKEN}",
            ],
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
        profile = None
        try:
            started = time.perf_counter()
            wait_until_up(url, TOKEN, timeout=600)
            self.stdout.write(
                f"fake Calendly with {members:,} members up in {time.perf_counter() - started:.1f}s "
                f"(separate process, so its memory is not counted below)"
            )
            floor, pages = http_floor(url)
            alias = ConnectionAlias.objects.create(
                name=f"bench-{os.getpid()}-{port}", api_base_url=url, access_token=TOKEN
            )
            profile = IntegrationProfile.objects.create(
                name=alias.name, alias=alias, status="draft", provider="calendly"
            )
            inserts = count_inserts()
            counter = QueryCounter()
            runs = []
            for label in ("first run", "second run (nothing changed)"):
                inserts.clear()
                counter.statements.clear()
                t0, cpu0 = time.perf_counter(), time.process_time()
                run = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
                wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                queries = list(counter.statements)
                if run.status != JobRun.Status.SUCCEEDED:
                    self.stderr.write(f"{label} failed: {run.error_message}\n{run.hint}")
                    return
                # COPY (PostgreSQL inserts) bypasses Django's query log: count it by hand.
                runs.append((label, wall, len(queries) + len(inserts), run, cpu))
                if options["verbosity"] > 1:
                    total = sum(t for t, _ in queries)
                    self.stdout.write(f"{label}: {total:.2f}s in SQL; slowest statements:")
                    for seconds, sql in sorted(queries, reverse=True)[:5]:
                        self.stdout.write(f"  {seconds:.3f}s {sql[:160]}")
            self.stdout.write(f"database: {connection.vendor}")
            self.stdout.write(
                f"HTTP floor: {floor:.2f}s for {pages} pages of 100 (bare requests loop)"
            )
            for label, wall, n_queries, run, cpu in runs:
                self.stdout.write(
                    f"{label}: {wall:.2f}s wall ({cpu:.2f}s CPU in this process), "
                    f"ratio to floor {wall / floor:.2f}, "
                    f"{n_queries} queries = {n_queries / pages:.2f} per page of 100, "
                    f"fetched {run.fetched:,}, created {run.created:,}, updated {run.updated:,}, "
                    f"removed {run.removed:,}, api calls {run.api_calls:,}"
                )
            self.stdout.write(f"peak RSS of this process: {peak_rss_mb():.0f} MB")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
            log.close()
            if profile is not None:
                profile.subscriptions.all()._raw_delete(profile.subscriptions.db)
                profile.job_runs.all().delete()
                alias = profile.alias
                profile.delete()
                alias.delete()
