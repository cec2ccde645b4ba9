"""Loading a million rows the way PostgreSQL's documentation advises ("Populating a
Database"): secondary indexes built once after the load instead of updated row by row, and
foreign keys not checked by a deferred trigger per row.

A million seats carry two trigram GIN indexes and a dozen B-trees, and Django's foreign keys
are ``DEFERRABLE INITIALLY DEFERRED``, so each inserted row queues one trigger event per key
until commit. Together that was most of a 100-second build. The generated rows point only at
rows the same build created (ids read back from the database), so skipping the per-row
checks loses nothing the data set could get wrong; the unique constraints stay in force.

Everything happens inside the build's transaction: if the build fails, the indexes are back
as they were.

Reference: https://www.postgresql.org/docs/current/populate.html
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

from .sql import execute

MAINTENANCE_WORK_MEM = "256MB"


def secondary_indexes(tables: list[str]) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of ``tables`` that back no constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY 1",
            [tables],
        )
        return list(cursor.fetchall())


def _skip_foreign_key_triggers() -> bool:
    """``session_replication_role = replica`` (superusers only): no RI trigger fires."""
    try:
        with transaction.atomic():
            execute("SET LOCAL session_replication_role = replica")
        return True
    except DatabaseError:
        return False


@contextmanager
def bulk_load(models):
    """Inside a transaction: drop the secondary indexes of ``models``' tables, load, build
    them again. Yields a dict that says what was done (for the benchmark's note)."""
    tables = [model._meta.db_table for model in models]
    indexes = secondary_indexes(tables)
    for name, _ in indexes:
        execute(f"DROP INDEX {name}")
    done = {"indexes_rebuilt": len(indexes), "fk_triggers_skipped": _skip_foreign_key_triggers()}
    yield done
    if done["fk_triggers_skipped"]:
        execute("SET LOCAL session_replication_role = origin")
    execute(f"SET LOCAL maintenance_work_mem = '{MAINTENANCE_WORK_MEM}'")
    for _, definition in indexes:
        execute(definition)
