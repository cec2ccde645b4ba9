"""The report engine: a report is a model, base rows, a FilterSet, columns and the permission
it needs. The definitions are in :mod:`.definitions` (the core's) and in the apps that
register theirs (:func:`sam_saas.extensions.register_report`); :mod:`.registry` finds them.

One code path serves every way in:

- the admin's "Export CSV" button passes its changelist's queryset (filters, search and
  ordering applied by the ModelAdmin itself) to :meth:`Report.stream`;
- ``/reports/<name>.csv?...`` and ``manage.py export_report <name> key=value ...`` build the
  queryset with :meth:`Report.filter` (the report's FilterSet, strictly validated) and pass it
  to the same :meth:`Report.stream`.

Rows are read with ``values_list()`` and ``iterator(chunk_size=2000)`` in batches, and each
batch is formatted column by column (``csv_stream``), so an export of 100,000 rows needs
neither model instances nor memory proportional to the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.contrib import admin
from django.db.models import F, Func, QuerySet, TextField
from django.http import QueryDict
from django.utils import timezone

from .csv_stream import (
    date_fields,
    fields,
    flag_fields,
    money_fields,
    number_fields,
    stream_batches,
    stream_chunks,
    text_fields,
    utc_text_fields,
)

CHUNK_SIZE = 2000
OPTIONS = ("bom",)  # request parameters that are not filters


class ReportFilterError(Exception):
    """The filters did not validate: ``errors`` maps a parameter to its messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(self.text())

    def text(self) -> str:
        return "\n".join(
            f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
            for name, messages in self.errors.items()
        )


# -- columns ------------------------------------------------------------------------------------


class UtcText(Func):
    """A datetime as naive UTC text, ``YYYY-MM-DD HH:MM:SS[.ffffff]``: the database's own
    output format, so rows need no datetime parsing in Python (the costliest part of reading
    them); :func:`~.csv_stream.utc_text_fields` slices it into ISO 8601."""

    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        template = "((%(expressions)s) AT TIME ZONE 'UTC')::text"
        return self.as_sql(compiler, connection, template=template, **extra_context)

    def as_sql(self, compiler, connection, **extra_context):
        # SQLite stores aware datetimes as naive UTC text already.
        extra_context.setdefault("template", "CAST(%(expressions)s AS text)")
        return super().as_sql(compiler, connection, **extra_context)


def days_since_column(now: dt.datetime):
    reference = now.astimezone(dt.UTC).replace(tzinfo=None)
    parse = dt.datetime.fromisoformat

    def days(values):
        return ["" if v is None else str((reference - parse(v[:19])).days) for v in values]

    return days


@dataclass(frozen=True)
class Column:
    """One CSV column: its header, the value(s) it reads and how it formats them.

    ``source`` is a ``values_list`` path or an annotation name. ``kind`` says how the values
    are selected and formatted: one of ``KINDS``; ``"choice"`` (``fmt``: value → label);
    ``"lookup"`` (``fmt``: a :class:`Lookup` and the index of its field); ``"days_since"``;
    or ``"row"``, which passes the values of several ``sources`` to the callable ``fmt`` row
    by row (for the few derived columns)."""

    header: str
    source: str | tuple[str, ...]
    kind: str = "number"
    fmt: object = None


def text(header, source):
    return Column(header, source, "text")


def number(header, source):
    return Column(header, source, "number")


def money(header, source):
    return Column(header, source, "money")


def when(header, source):
    """A datetime, as ISO 8601 in UTC to the second."""
    return Column(header, source, "datetime")


def day(header, source):
    return Column(header, source, "date")


def flag(header, source):
    return Column(header, source, "flag")


def choice(header, source, choices):
    """A choice field, written as its label."""
    return Column(header, source, "choice", dict(choices))


def derived(header, sources: tuple[str, ...], fmt):
    """A value computed row by row from several sources (raw database values)."""
    return Column(header, sources, "row", fmt)


def inactive_days(header, source):
    return Column(header, source, "days_since")


@dataclass(frozen=True)
class Lookup:
    """A small related table read once per export (id → values): profiles, software models,
    identifiers. The big query then selects the foreign key instead of joining the table,
    which saves the database a join and the export a string per row and column."""

    model: type
    fields: tuple[str, ...]

    def load(self) -> dict:
        rows = self.model._default_manager.order_by().values_list("pk", *self.fields)
        return {row[0]: row[1:] for row in rows}


def looked_up(header, foreign_key: str, lookup: Lookup, field_name: str):
    """A text column read from ``lookup`` by the row's ``foreign_key``."""
    return Column(header, foreign_key, "lookup", (lookup, lookup.fields.index(field_name)))


class FieldTable(dict):
    """Value → CSV field, for columns with few distinct values (labels, looked-up names).
    A value not in the table goes through ``fallback`` (once: the result is kept)."""

    def __init__(self, fields: dict, fallback: Callable):
        super().__init__(fields)
        self.fallback = fallback

    def __missing__(self, key):
        self[key] = field = self.fallback(key)
        return field

    def column(self, values) -> list[str]:
        return list(map(self.__getitem__, values))


def _text_field(value) -> str:
    return text_fields([None if value is None else str(value)])[0]


# The formatter of each kind of column: the values of one column of a batch → CSV fields.
KINDS = {
    "number": number_fields,
    "text": text_fields,
    "money": money_fields,
    "date": date_fields,
    "flag": flag_fields,
    "datetime": utc_text_fields,
}


# -- reports ------------------------------------------------------------------------------------


@dataclass
class Report:
    name: str
    title: str
    model: type
    columns: Callable[[dt.datetime], list[Column]]
    filterset: Callable[[], type]
    description: str = ""
    scope: Callable[[QuerySet], QuerySet] | None = None
    annotations: Callable[[], dict] = field(default=dict)

    @property
    def permissions(self) -> tuple[str, str]:
        opts = self.model._meta
        return (
            f"{opts.app_label}.view_{opts.model_name}",
            f"{opts.app_label}.change_{opts.model_name}",
        )

    def has_permission(self, user) -> bool:
        """The admin's rule: the view (or change) permission on the model."""
        return bool(
            user.is_active and any(user.has_perm(permission) for permission in self.permissions)
        )

    def base_queryset(self, request=None) -> QuerySet:
        """The rows before filters. With a request, the model's changelist queryset
        (``ModelAdmin.get_queryset``), so row scoping matches the admin."""
        model_admin = admin.site._registry.get(self.model)
        if request is not None and model_admin is not None:
            queryset = model_admin.get_queryset(request)
        else:
            queryset = self.model._default_manager.all()
        return self.scope(queryset) if self.scope else queryset

    def filter(self, data, request=None) -> QuerySet:
        """Apply the report's FilterSet to ``data`` (a QueryDict or a dict). Raises
        :class:`ReportFilterError` on an unknown parameter or an invalid value."""
        if not isinstance(data, QueryDict):
            query = QueryDict(mutable=True)
            for key, value in data.items():
                query.setlist(key, value if isinstance(value, list | tuple) else [value])
            data = query
        filterset_class = self.filterset()
        unknown = sorted(set(data) - set(filterset_class.base_filters) - set(OPTIONS))
        if unknown:
            known = ", ".join(sorted(filterset_class.base_filters))
            raise ReportFilterError(
                {
                    name: [f"Unknown filter for {self.name}. Known filters: {known}."]
                    for name in unknown
                }
            )
        filterset = filterset_class(data, queryset=self.base_queryset(request), request=request)
        if not filterset.is_valid():
            raise ReportFilterError(
                {name: [str(m) for m in messages] for name, messages in filterset.errors.items()}
            )
        # In id order: stable, and cheap for the database (sorting 100,000 rows by e-mail is
        # not). The admin's button keeps the order of the list on screen instead.
        return filterset.qs.order_by("pk")

    def header(self) -> list[str]:
        return [column.header for column in self.columns(timezone.now())]

    def batches(self, queryset: QuerySet, now: dt.datetime | None = None) -> Iterator[list]:
        """The rows of ``queryset`` (any queryset of the report's model) in batches of up to
        ``CHUNK_SIZE``, each a list of columns of CSV fields, formatted column by column."""
        now = now or timezone.now()
        selected: list[str] = []
        text_of: dict[str, str] = {}

        def select(name: str, as_text: bool = False) -> int:
            if as_text:
                if name not in text_of:
                    text_of[name] = f"report_text_{len(text_of)}"
                name = text_of[name]
            if name not in selected:
                selected.append(name)
            return selected.index(name)

        plan = []
        tables: dict[Lookup, dict] = {}
        for column in self.columns(now):
            if column.kind == "row":
                plan.append(("row", [select(s) for s in column.source], column.fmt))
                continue
            if column.kind == "lookup":
                lookup, position = column.fmt
                if lookup not in tables:
                    tables[lookup] = lookup.load()
                keys = list(tables[lookup])
                values = text_fields([tables[lookup][k][position] for k in keys])
                table = FieldTable(dict(zip(keys, values, strict=True)), lambda key: "")
                plan.append(("column", select(column.source), [table.column]))
                continue
            if column.kind == "choice":
                labels = text_fields(list(column.fmt.values()))
                table = FieldTable(dict(zip(column.fmt, labels, strict=True)), _text_field)
                plan.append(("column", select(column.source), [table.column]))
                continue
            as_text = column.kind in ("datetime", "days_since")
            index = select(column.source, as_text=as_text)
            steps = [column.fmt] if column.fmt else []
            steps.append(
                days_since_column(now) if column.kind == "days_since" else KINDS[column.kind]
            )
            plan.append(("column", index, steps))

        annotations = self.annotations()
        if annotations:
            queryset = queryset.annotate(**annotations)
        if text_of:
            queryset = queryset.annotate(
                **{alias: UtcText(F(name)) for name, alias in text_of.items()}
            )
        rows = queryset.values_list(*selected).iterator(chunk_size=CHUNK_SIZE)
        while batch := list(islice(rows, CHUNK_SIZE)):
            columns = list(zip(*batch, strict=True))
            out = []
            for kind, where, steps in plan:
                if kind == "row":
                    derived = [
                        steps(*values) for values in zip(*(columns[i] for i in where), strict=True)
                    ]
                    out.append(fields(derived))
                    continue
                values = columns[where]
                for step in steps:
                    values = step(values)
                out.append(values)
            yield out

    def stream(
        self, queryset: QuerySet, *, bom: bool = False, method: str = "auto"
    ) -> Iterator[bytes]:
        """The CSV of ``queryset`` as byte chunks. On PostgreSQL, ``COPY`` formats the rows
        when every column can be formatted in SQL (:mod:`.pg_copy`); otherwise (or with
        ``method="values"``) the rows are read with ``values_list`` and formatted here. Both
        write the same bytes."""
        from . import pg_copy

        now = timezone.now()
        header = [column.header for column in self.columns(now)]
        if method == "copy" or (method == "auto" and pg_copy.supports(self, queryset, now)):
            return stream_chunks(header, pg_copy.body(self, queryset, now), bom=bom)
        return stream_batches(header, self.batches(queryset, now), bom=bom)

    def filename(self, on: dt.date | None = None) -> str:
        return f"{self.name}-{(on or timezone.localdate()).isoformat()}.csv"
