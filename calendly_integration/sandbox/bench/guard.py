"""Keeping the benchmark away from real data.

``bench_scale`` writes a million rows and deletes them again. Against the configured database
it runs only when that database holds nothing but benchmark data (an empty, migrated database
qualifies); otherwise it refuses and names what it found. ``--database-url`` names the
database explicitly: it is created and migrated when missing, and the operator's choice is
taken as consent (the benchmark still deletes only its own rows, recognizable by name).
"""

from __future__ import annotations

import os
import subprocess
import sys

import environ
from django.db.models import Q

from sam_saas.models import Entitlement, IntegrationProfile, Person

BENCH_PROFILE = Q(name__startswith="bench")
BENCH_PERSON = Q(email__contains="bench") & Q(email__endswith=".example")


def foreign_data() -> list[str]:
    """What in the configured database is not benchmark data, e.g. ``["people: 3"]``."""
    found = []
    profiles = IntegrationProfile.objects.exclude(BENCH_PROFILE).count()
    if profiles:
        found.append(f"integration profiles: {profiles}")
    people = Person.objects.exclude(BENCH_PERSON).count()
    if people:
        found.append(f"people: {people}")
    entitlements = Entitlement.objects.exclude(
        software_model__publisher__name__startswith="bench"
    ).count()
    if entitlements:
        found.append(f"entitlements: {entitlements}")
    return found


def refusal(found: list[str], alias_name: str) -> str:
    return (
        f"Refusing to run: the database {alias_name!r} holds data that is not benchmark data "
        f"({', '.join(found)}). The benchmark writes and deletes a million rows; give it a "
        "scratch database with --database-url postgres://user@host:5432/sam_bench "
        "(created and migrated when missing)."
    )


def prepare(url: str) -> dict:
    """Create the database ``url`` names when it does not exist; return its settings."""
    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise ValueError("bench_scale needs a PostgreSQL --database-url.")
    import psycopg
    from psycopg import sql

    maintenance = {
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**{k: v for k, v in maintenance.items() if v is not None}) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    return config


def rerun_against(url: str, argv: list[str]) -> int:
    """Migrate the named database and run this command again with it as the default
    database (a fresh process: Django's connection settings are fixed at start-up)."""
    prepare(url)
    env = {**os.environ, "DATABASE_URL": url}
    manage = [sys.executable, sys.argv[0]]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True)  # noqa: S603
    return subprocess.run([*manage, *argv], env=env, check=False).returncode  # noqa: S603
