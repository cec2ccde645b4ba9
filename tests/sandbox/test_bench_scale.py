"""``bench_scale``: the benchmark itself works (CI runs it small); its numbers are not tested.

Timings are never asserted anywhere: this checks that the command builds the data set it
promises, measures every figure and writes its table, and that it keeps away from real data.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from calendly_integration.sandbox.bench import guard
from reclamation.models import CandidateState
from tests import factories

ROOT = Path(settings.BASE_DIR)


def scratch_url() -> str:
    """A scratch database next to the configured one (``<name>_bench_smoke``)."""
    params = connection.settings_dict
    name = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1] or params["NAME"]
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{name}_bench_smoke"


def drop(url: str) -> None:
    import psycopg
    from psycopg import sql

    config = guard.prepare(url)
    options = {"dbname": "postgres", "autocommit": True, "user": config["USER"]}
    if config.get("HOST"):
        options["host"] = config["HOST"]
    if config.get("PORT"):
        options["port"] = config["PORT"]
    if config.get("PASSWORD"):
        options["password"] = config["PASSWORD"]
    with psycopg.connect(**options) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(config["NAME"])
            )
        )


@pytest.mark.postgres
def test_it_builds_the_data_set_and_measures_every_figure_at_20000(tmp_path):
    url = scratch_url()
    output = tmp_path / "bench.json"
    try:
        finished = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
            [
                sys.executable,
                "manage.py",
                "bench_scale",
                "--subscriptions=20000",
                "--repeat=1",
                "--rebuild",
                "--download-members=300",
                "--import-rows=2000",
                f"--database-url={url}",
                f"--json={output}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        )
    finally:
        drop(url)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "| Candidate identification |" in finished.stdout

    table = json.loads(output.read_text())
    rows = table["meta"]["rows"]
    assert rows["subscriptions"] == 20_000
    assert rows["profiles"] == 8 and rows["people"] == 10_000 and rows["entitlements"] > 2
    assert set(rows["candidates"]) == {state.value for state in CandidateState}
    names = [figure["name"] for figure in table["figures"]]
    for expected in (
        "Building the data set",
        "Subscription changelist",
        "… filtered by profile",
        "… filtered by last activity (120+ days)",
        "… has user: No",
        "… searched by e-mail",
        "… sorted by inactive days",
        "Job-run changelist",
        "Dashboard",
        "Candidate changelist",
        "Rule preview (rule page)",
        "CSV export /reports/subscriptions.csv",
        "CSV memory growth 10,000 → 20,000 rows",
        "Candidate identification",
        "Re-judging all seats after a rule change",
        "People import of 2,000 rows",
        "Download: first run, ratio to the floor",
        "Download: unchanged re-run, ratio to the floor",
    ):
        assert expected in names, expected
    for figure in table["figures"]:
        assert len(figure["runs"]) == 1, figure
        assert figure["name"].startswith("Download: HTTP") or figure["target"], figure
        assert "HTTP " not in figure["note"], figure  # every page answered 200
    assert table["meta"]["load_before"] and table["meta"]["load_after"]
    build = next(f for f in table["figures"] if f["name"] == "Building the data set")
    assert set(build["extra"]["steps"]) >= {"people", "subscriptions", "indexes"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_refuses_a_database_holding_real_data():
    factories.IntegrationProfileFactory(name="Acme production")

    with pytest.raises(CommandError, match="Refusing to run.*integration profiles: 1"):
        call_command("bench_scale", "--subscriptions=10")


@pytest.mark.django_db
def test_it_counts_only_benchmark_rows_as_harmless():
    factories.PersonFactory(email="p1@bench-scale.example")
    factories.IntegrationProfileFactory(name="bench-scale-org-0")
    assert guard.foreign_data() == []

    factories.PersonFactory(email="alice@acme.example")
    assert guard.foreign_data() == ["people: 1"]
