"""``INSERT … SELECT`` from ``generate_series``: building a million rows inside PostgreSQL.

Why not ``bulk_create``: a million model instances cost minutes of Python, while one
set-based statement writes them in seconds (the data never leaves the server). Columns the
benchmark does not spell out get the model field's own default, read from the model, so a
field added later (with a default) needs no change here.
"""

from __future__ import annotations

from django.db import connection


def insert_select(model, expressions: dict[str, str], source: str, params=()) -> int:
    """``INSERT INTO <model> (columns) SELECT <expressions> FROM <source>``.

    ``expressions`` maps a column name to an SQL expression over ``source``; every other
    concrete column (except the primary key) gets its field's default as a parameter, or
    NULL. ``source`` may hold ``%s`` parameters (``params``), so its modulo is written ``%%``.
    Returns the number of rows written."""
    columns, selects, defaults = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        column = field.column
        columns.append(connection.ops.quote_name(column))
        if column in expressions:
            # Expressions take no parameters, so their ``%`` (modulo) is doubled here.
            selects.append(expressions[column].replace("%", "%%"))
            continue
        if field.has_default():
            value = field.get_db_prep_save(field.get_default(), connection)
        elif field.null:
            value = None
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            selects.append("now()")
            continue
        else:
            value = field.get_db_prep_save(field.get_default(), connection)
        selects.append("%s")
        defaults.append(value)
    unknown = set(expressions) - {f.column for f in model._meta.concrete_fields}
    if unknown:
        raise ValueError(f"{model.__name__} has no column {sorted(unknown)}")
    # Built from model metadata and the benchmark's own constant expressions, never input.
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)} FROM {source}"  # noqa: S608
    ordered = [*defaults, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, ordered)
        return cursor.rowcount


def execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None
