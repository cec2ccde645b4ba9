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
