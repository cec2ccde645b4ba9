"""Session settings for the set-based jobs (identification, re-judging).

Why: over a million seats the planner's cost of these statements passes ``jit_above_cost``,
and PostgreSQL then compiles their long CASE expressions to machine code (with inlining and
optimization above ``jit_optimize_above_cost``) for every statement: 130 to 340 ms each,
measured, more than the compiled code saves on statements that run in a second or less.
"""

from __future__ import annotations

from django.db import connection


def without_jit() -> None:
    """Turn PostgreSQL's JIT off until the current transaction ends (``SET LOCAL``). Does
    nothing outside a transaction or on another database."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


# Enough for the identification's hashes and sorts over a million seats to stay in memory
# (at the default 4 MB the person hash ran in 8 batches through temporary files).
JOB_WORK_MEM = "32MB"


def with_job_work_mem() -> None:
    """Raise ``work_mem`` to :data:`JOB_WORK_MEM` until the current transaction ends (``SET
    LOCAL``): one job's few large statements, not every page's. Does nothing outside a
    transaction or on another database."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{JOB_WORK_MEM}'")
