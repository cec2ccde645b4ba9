"""``INSERT ... SELECT`` from a Django queryset, portable to SQLite and PostgreSQL.

Why: raising 100,000 candidates (and their event rows) through ``bulk_create`` would pull every
row into Python and send it back. Compiling the selecting queryset and prefixing it with
``INSERT INTO table (columns)`` keeps the work inside the database, while the query itself is
still built with the ORM (joins, filters and expressions stay readable and portable).
"""

from __future__ import annotations

import uuid

from django.db import connections, models
from django.db.models import Value


def insert_from_select(
    model: type[models.Model],
    queryset: models.QuerySet,
    columns: dict[str, models.Expression],
    *,
    staged: bool = False,
) -> int:
    """Insert one row into ``model`` per row of ``queryset``; ``columns`` maps the target
    model's field names to expressions evaluated on ``queryset``'s model. Returns the number of
    rows inserted.

    Fields left out get their Python default as a constant (NULL-able fields without a default
    are simply not listed, so the column's NULL applies).

    ``staged`` first selects into a temporary table, then inserts from it. Use it when the
    SELECT reads the table being inserted into (an anti-join on it, say): in one statement,
    PostgreSQL may plan that read as a scan repeated per row, and each repetition also walks
    the pages the statement has inserted so far, which turns 100,000 rows into hours. (SQLite
    stages such a statement by itself.) Only the columns that vary from row to row are
    staged; the constants (the rule's snapshot, names, the state, the run's token, every
    default) are written by the INSERT itself: at a million seats the stage was mostly these
    repeated values, gathered from the parallel workers, written and read back."""
    opts = model._meta
    values: dict[str, models.Expression] = dict(columns)
    for field in opts.concrete_fields:
        if field.primary_key or field.name in values:
            continue
        if field.has_default() or (not field.null and field.empty_strings_allowed):
            values[field.name] = Value(field.get_default(), output_field=field)
        elif not field.null:
            raise ValueError(f"{opts.label}.{field.name} needs a value in the INSERT ... SELECT")

    # Annotation names must not clash with the source model's fields (``profile_id`` is on
    # both models), so every target column gets a private alias.
    aliases = {f"_ins_{name}": name for name in values}
    constants = (
        {alias for alias, name in aliases.items() if isinstance(values[name], Value)}
        if staged
        else set()
    )
    if len(constants) == len(aliases):
        constants = set()
    # No ORDER BY: the rows' order does not matter and sorting 100,000 of them does.
    selecting = queryset.order_by().values(
        **{alias: values[name] for alias, name in aliases.items() if alias not in constants}
    )
    compiler = selecting.query.get_compiler(using=selecting.db)
    select_sql, params = compiler.as_sql()
    # The compiler's own select list gives the column order; never assume it.
    selected = [alias for _, _, alias in compiler.select]
    fixed = sorted(constants)
    target = [opts.get_field(aliases[alias]).column for alias in selected + fixed]

    connection = connections[selecting.db]
    quote = connection.ops.quote_name
    into = f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(c) for c in target)}) "
    with connection.cursor() as cursor:
        if not staged:
            cursor.execute(into + select_sql, params)
            return cursor.rowcount
        stage = quote(f"stage_{opts.db_table}_{uuid.uuid4().hex[:12]}")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} AS {select_sql}", params)
        try:
            columns = [quote(alias) for alias in selected]
            constant_params: list = []
            for alias in fixed:
                sql, value_params = compiler.compile(values[aliases[alias]])
                columns.append(sql)
                constant_params.extend(value_params)
            cursor.execute(
                into + f"SELECT {', '.join(columns)} FROM {stage}",  # noqa: S608
                constant_params,
            )
            return cursor.rowcount
        finally:
            cursor.execute(f"DROP TABLE {stage}")
