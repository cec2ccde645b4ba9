"""The PostgreSQL path of a CSV export: ``COPY (SELECT …) TO STDOUT WITH (FORMAT csv)``.

Python formatting costs more than the database's reading: the value path
(:meth:`.engine.Report.batches`) spends most of its time building a Python object per cell.
Here every cell is formatted by PostgreSQL itself (text escaped against formula injection,
choices as their labels, datetimes as ISO 8601, inactive days) and COPY quotes the fields,
so Python only passes the rows on. The output is byte-identical to the value path's (a test
compares both on hostile data), for the same queryset: the admin's filters, search and order,
or the report's FilterSet, and the row scoping of ``ModelAdmin.get_queryset``.

Where the two formats differ by construction, this module closes the gap:

- COPY writes an empty string as ``""`` (to tell it from NULL); every field is wrapped in
  ``NULLIF(…, '')`` so both are written as nothing, as the value path writes them;
- COPY ends lines with LF; each row's LF becomes CRLF (RFC 4180) as the rows pass;
- the small tables the value path reads once (:class:`.engine.Lookup`) are joined instead.

A report with a column computed in Python (``derived``, or a custom ``fmt``) keeps the value
path, as does SQLite.

Reference: https://www.postgresql.org/docs/current/sql-copy.html (CSV Format)
Reference: https://www.psycopg.org/psycopg3/docs/basic/copy.html
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from django.db import connections
from django.db.models import F, Func, QuerySet, TextField

from .csv_stream import FORMULA_TRIGGERS, escape

ROWS_PER_CHUNK = 2000
PIECES = re.compile(r"(\{x\}|%s)")
# ``ascii()`` is the code of the first character: comparing integers costs half as much as
# comparing one-character strings, over a dozen text columns of a million rows.
TRIGGER_CODES = ", ".join(str(ord(t)) for t in FORMULA_TRIGGERS)
ESCAPED = f"CASE WHEN ascii({{x}}) IN ({TRIGGER_CODES}) THEN '''' || {{x}} ELSE {{x}} END"


class Unsupported(Exception):
    """The report has a column only Python can format: use the value path."""


class Template(Func):
    """SQL around one expression: ``{x}`` is the expression (as often as needed), ``%s`` the
    ``values`` in order. Django's ``Func`` templates name the expression once only."""

    output_field = TextField()

    def __init__(self, expression, sql: str, values=()):
        super().__init__(expression)
        self.sql, self.values = sql, list(values)

    def as_sql(self, compiler, connection, **extra_context):
        inner, inner_params = compiler.compile(self.source_expressions[0])
        values, out, params = iter(self.values), [], []
        for piece in PIECES.split(self.sql):
            if piece == "{x}":
                out.append(f"({inner})")
                params.extend(inner_params)
            elif piece == "%s":
                out.append("%s")
                params.append(next(values))
            else:
                out.append(piece)
        return "".join(out), params


def text_sql(sql: str) -> str:
    """Text, escaped as :func:`.csv_stream.escape` does, NULL and '' alike as nothing."""
    x = f"({sql})::text"
    return f"CASE WHEN ascii({x}) IN ({TRIGGER_CODES}) THEN '''' || {x} WHEN {x} <> '' THEN {x} END"


def choice_sql(labels: dict) -> tuple[str, list]:
    """A choice as its label (escaped in Python, as the value path does); an unknown value
    as itself, escaped."""
    whens, values = [], []
    for key, label in labels.items():
        whens.append(" WHEN %s THEN %s")
        values += [str(key), escape(str(label))]
    fallback = ESCAPED.replace("{x}", "{x}::text")
    return f"NULLIF(CASE {{x}}::text{''.join(whens)} ELSE {fallback} END, '')", values


def lookup_path(model, foreign_key: str, field_name: str) -> str:
    """``profile_id`` and ``name`` → ``profile__name``: the join a :class:`~.engine.Lookup`
    stands for."""
    for model_field in model._meta.concrete_fields:
        if model_field.attname == foreign_key and model_field.is_relation:
            return f"{model_field.name}__{field_name}"
    raise Unsupported(f"{foreign_key} is not a foreign key of {model.__name__}")


def cell(report, column, now: dt.datetime):
    """The expression that formats ``column`` in SQL, or :class:`Unsupported`."""
    kind = column.kind
    if kind == "row" or (column.fmt is not None and kind not in ("choice", "lookup")):
        raise Unsupported(column.header)
    if kind == "lookup":
        lookup, position = column.fmt
        path = lookup_path(report.model, column.source, lookup.fields[position])
        return Template(F(path), text_sql("{x}"))
    source = F(column.source)
    if kind == "text":
        return Template(source, text_sql("{x}"))
    if kind in ("number", "money"):
        return Template(source, "({x})::text")
    if kind == "date":
        return Template(source, "to_char({x}, 'YYYY-MM-DD')")
    if kind == "flag":
        return Template(source, "CASE WHEN {x} THEN 'yes' WHEN NOT {x} THEN 'no' END")
    if kind == "datetime":
        return Template(
            source, """to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"')"""
        )
    if kind == "days_since":
        # Whole days from the second the activity happened to ``now``, rounded down, as
        # ``timedelta.days`` counts them in the value path.
        # In float8 seconds since the epoch (``date_part``; ``extract`` is numeric, four
        # times slower): exact to the microsecond at these magnitudes.
        return Template(
            source,
            "floor((%s::float8 - floor(date_part('epoch', {x}))) / 86400)::bigint::text",
            [now.timestamp()],
        )
    if kind == "choice":
        sql, values = choice_sql(column.fmt)
        return Template(source, sql, values)
    raise Unsupported(column.header)


def statement(report, queryset: QuerySet, now: dt.datetime) -> tuple[str, list]:
    """The ``COPY`` statement of ``queryset`` and its parameters."""
    annotations = report.annotations()
    if annotations:
        queryset = queryset.annotate(**annotations)
    cells = {f"report_csv_{n}": cell(report, c, now) for n, c in enumerate(report.columns(now))}
    queryset = queryset.annotate(**cells).values_list(*cells)
    sql, params = queryset.query.sql_with_params()
    if queryset.query.distinct and not queryset.query.distinct_fields:
        # SELECT DISTINCT (a multiple-choice filter's) appends the ordering's columns to the
        # select list; only the report's columns may reach the file. A plain projection of
        # the ordered subquery keeps its order.
        names = ", ".join(connections[queryset.db].ops.quote_name(name) for name in cells)
        sql = f"SELECT {names} FROM ({sql}) AS report_rows"  # noqa: S608 - quoted aliases
    return f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", list(params)


def supports(report, queryset: QuerySet, now: dt.datetime) -> bool:
    if connections[queryset.db].vendor != "postgresql":
        return False
    try:
        for column in report.columns(now):
            cell(report, column, now)
    except Unsupported:
        return False
    return True


def body(report, queryset: QuerySet, now: dt.datetime) -> Iterator[bytes]:
    """The CSV lines of ``queryset``, ``ROWS_PER_CHUNK`` rows per chunk of bytes."""
    sql, params = statement(report, queryset, now)
    connection = connections[queryset.db]
    with connection.cursor() as wrapper, wrapper.cursor.copy(sql, params) as copy:
        chunk: list = []
        for row in copy:  # one row per read, ending with LF
            chunk.append(row[:-1])
            if len(chunk) == ROWS_PER_CHUNK:
                yield b"\r\n".join(chunk) + b"\r\n"
                chunk = []
        if chunk:
            yield b"\r\n".join(chunk) + b"\r\n"
