"""The download against the fake Calendly: HTTP floor, a first run and an unchanged re-run.

The fake runs in its own process (its CPU and memory are not the download's). Each repeat
downloads into a fresh profile, so every "first run" creates every seat and every "second
run" finds nothing changed; the profile and its seats are removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from sam_saas.models import ConnectionAlias, IntegrationProfile, JobRun, SoftwareSubscription
from sam_saas.services import jobs

from ..demo import wait_until_up
from ..management.commands.bench_download import TOKEN, free_port, http_floor
from .table import Figure

RATIO_TARGET = 1.5
NAME = "bench-download-scale"  # "bench…" for the guard, not data.PREFIX: not the data set


def measure(members: int, repeat: int) -> list[Figure]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = Path(settings.BASE_DIR) / "bench-sandbox.log"
    with open(log_path, "w") as log:
        sandbox = subprocess.Popen(  # noqa: S603 - our own manage.py
            [
                sys.executable,
                sys.argv[0],
                "calendly_sandbox",
                f"--port={port}",
                f"--members={members}",
                "--plan=teams",
                "--seed=1",
                "--rate-limit=0",
                f"--token={TOKEN}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ},
        )
        try:
            wait_until_up(url, TOKEN, timeout=600)
            return _measure(url, members, repeat)
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)


def _measure(url: str, members: int, repeat: int) -> list[Figure]:
    floors, firsts, seconds = [], [], []
    pages = 0
    for n in range(repeat):
        floor, pages = http_floor(url)
        floors.append(floor)
        profile = _profile(url, n)
        try:
            for runs in (firsts, seconds):
                started = time.perf_counter()
                run = jobs.run_now(profile, JobRun.Kind.DOWNLOAD, JobRun.Trigger.COMMAND)
                runs.append(time.perf_counter() - started)
                if run.status != JobRun.Status.SUCCEEDED:
                    raise RuntimeError(f"download failed: {run.error_message}")
        finally:
            _remove(profile)
    floor = sorted(floors)[len(floors) // 2]
    note = f"{members:,} seats, {pages} pages"
    return [
        Figure("Download: HTTP floor (bare requests loop)", "s", floors, note=note),
        Figure(
            "Download: first run, ratio to the floor",
            "×",
            [r / floor for r in firsts],
            RATIO_TARGET,
            note=f"median {sorted(firsts)[len(firsts) // 2]:.2f} s",
        ),
        Figure(
            "Download: unchanged re-run, ratio to the floor",
            "×",
            [r / floor for r in seconds],
            RATIO_TARGET,
            note=f"median {sorted(seconds)[len(seconds) // 2]:.2f} s",
        ),
    ]


def _profile(url: str, n: int) -> IntegrationProfile:
    alias = ConnectionAlias.objects.create(
        name=f"{NAME}-{os.getpid()}-{n}", api_base_url=url, access_token=TOKEN
    )
    return IntegrationProfile.objects.create(
        name=alias.name, alias=alias, status="draft", provider="calendly"
    )


def _remove(profile: IntegrationProfile) -> None:
    from django.apps import apps

    if apps.is_installed("reclamation"):
        from reclamation.models import ReclamationCandidate, ReclamationRule

        ReclamationCandidate.objects.filter(profile=profile).delete()
        ReclamationRule.objects.filter(profile=profile).delete()
    profile.subscriptions.all()._raw_delete(profile.subscriptions.db)
    profile.job_runs.all().delete()
    alias = profile.alias
    profile.delete()
    alias.delete()
    # A hundred thousand dead rows per repeat would make every later first run pay for the
    # bloat (the table and its trigram indexes); each repeat starts from the same state.
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM {connection.ops.quote_name(SoftwareSubscription._meta.db_table)}")
