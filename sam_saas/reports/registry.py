"""The reports: name → model, base rows, FilterSet, columns and the permission they need.

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

from django.apps import apps
from django.contrib import admin
from django.db.models import Count, F, Func, OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce
from django.http import QueryDict
from django.utils import timezone

from ..models import (
    Entitlement,
    IntegrationProfile,
    JobRun,
    LicencePositionSnapshot,
    Person,
    SoftwareModel,
    SoftwareSubscription,
    SubscriptionIdentifier,
)
from . import filters
from .csv_stream import (
    date_fields,
    escape,
    fields,
    flag_fields,
    money_fields,
    number_fields,
    plain_decimal,
    stream_batches,
    text_fields,
    utc_text_fields,
    yes_no,
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

    def rows(self, queryset: QuerySet, now: dt.datetime | None = None) -> Iterator[tuple]:
        """The CSV fields row by row (for tests and callers that want rows)."""
        for columns in self.batches(queryset, now):
            yield from zip(*columns, strict=True)

    def stream(self, queryset: QuerySet, *, bom: bool = False) -> Iterator[bytes]:
        now = timezone.now()
        header = [column.header for column in self.columns(now)]
        return stream_batches(header, self.batches(queryset, now), bom=bom)

    def filename(self, on: dt.date | None = None) -> str:
        return f"{self.name}-{(on or timezone.localdate()).isoformat()}.csv"


# -- the report definitions ---------------------------------------------------------------------

Sub = SoftwareSubscription
PROFILES = Lookup(IntegrationProfile, ("name", "provider"))
SOFTWARE_MODELS = Lookup(SoftwareModel, ("publisher__name", "product", "edition"))
IDENTIFIERS = Lookup(SubscriptionIdentifier, ("value",))


def subscription_columns(now):
    return [
        number("subscription id", "pk"),
        text("e-mail", "user_principal_name"),
        text("user name", "user_name"),
        text("person", "person__name"),
        text("person e-mail", "person__email"),
        flag("person active", "person__active"),
        text("department", "person__department"),
        text("cost center", "person__cost_center"),
        looked_up("profile", "profile_id", PROFILES, "name"),
        looked_up("provider", "profile_id", PROFILES, "provider"),
        looked_up("publisher", "software_model_id", SOFTWARE_MODELS, "publisher__name"),
        looked_up("product", "software_model_id", SOFTWARE_MODELS, "product"),
        looked_up("edition", "software_model_id", SOFTWARE_MODELS, "edition"),
        looked_up("subscription identifier", "identifier_id", IDENTIFIERS, "value"),
        choice("kind", "kind", Sub.Kind.choices),
        text("role", "role"),
        choice("status", "status", Sub.Status.choices),
        when("created at vendor", "external_created_at"),
        when("first seen", "first_seen_at"),
        when("last seen", "report_last_seen"),
        when("last activity", "last_activity_at"),
        text("last activity source", "last_activity_source"),
        text("last activity evidence", "last_activity_evidence"),
        inactive_days("inactive days", "last_activity_at"),
        when("last login", "last_login_at"),
        flag("excluded from cost", "excluded_from_cost"),
        text("cost exclusion reason", "cost_exclusion_reason"),
        flag("excluded from reclamation", "excluded_from_reclamation"),
        text("reclamation exclusion reason", "reclamation_exclusion_reason"),
        text("external user id", "external_user_id"),
        text("vendor seat", "external_seat_id"),
    ]


def subscription_annotations():
    return {"report_last_seen": Sub.last_seen_expression()}


def identifier_columns(now):
    return [
        text("provider", "provider"),
        text("subscription identifier", "value"),
        derived("recognized", ("software_model_id",), lambda m: yes_no(m is not None)),
        text("publisher", "software_model__publisher__name"),
        text("product", "software_model__product"),
        text("edition", "software_model__edition"),
        number("subscriptions", "report_subscriptions"),
        number("seats held", "report_seats_held"),
        number("profiles", "report_profiles"),
        when("first seen", "first_seen_at"),
    ]


def identifier_annotations():
    holding = [Sub.Status.ACTIVE, Sub.Status.PENDING]
    return {
        "report_subscriptions": Count("subscriptions", distinct=True),
        "report_seats_held": Count(
            "subscriptions", filter=Q(subscriptions__status__in=holding), distinct=True
        ),
        "report_profiles": Count("subscriptions__profile", distinct=True),
    }


def _profile_name(name):
    return escape(name) if name else "all profiles"


def _duration(started, finished):
    if started is None or finished is None:
        return None
    return int((finished - started).total_seconds())


def job_run_columns(now):
    return [
        number("job run id", "pk"),
        choice("job", "kind", JobRun.Kind.choices),
        derived("profile", ("profile__name",), _profile_name),
        choice("trigger", "trigger", JobRun.Trigger.choices),
        choice("status", "status", JobRun.Status.choices),
        when("queued at", "queued_at"),
        when("started at", "started_at"),
        when("finished at", "finished_at"),
        derived("duration (seconds)", ("started_at", "finished_at"), _duration),
        number("fetched", "fetched"),
        number("created", "created"),
        number("updated", "updated"),
        number("removed", "removed"),
        number("unmatched", "unmatched"),
        number("api calls", "api_calls"),
        number("rate-limit waits", "rate_limit_waits"),
        number("progress %", "progress"),
        text("progress message", "progress_message"),
        text("error class", "error_class"),
        text("error message", "error_message"),
        text("troubleshooting hint", "hint"),
        derived("warnings", ("warnings",), lambda w: escape("; ".join(map(str, w or [])))),
        text("task id", "task_id"),
    ]


def entitlement_columns(now):
    today = timezone.localdate(now)

    def annual_unit(unit_cost, period):
        return unit_cost * 12 if period == Entitlement.Period.MONTHLY else unit_cost

    def in_force(start, end):
        return yes_no(start <= today and (end is None or end >= today))

    return [
        number("entitlement id", "pk"),
        text("publisher", "software_model__publisher__name"),
        text("product", "software_model__product"),
        text("edition", "software_model__edition"),
        derived("profile", ("profile__name",), _profile_name),
        number("rights purchased", "purchased_rights"),
        money("unit cost", "unit_cost"),
        text("currency", "currency"),
        choice("period", "period", Entitlement.Period.choices),
        derived(
            "annual unit cost",
            ("unit_cost", "period"),
            lambda c, p: plain_decimal(annual_unit(c, p)),
        ),
        derived(
            "annual cost",
            ("unit_cost", "period", "purchased_rights"),
            lambda c, p, n: plain_decimal(annual_unit(c, p) * n),
        ),
        day("start date", "start_date"),
        day("end date", "end_date"),
        derived("in force", ("start_date", "end_date"), in_force),
        text("cost center", "cost_center"),
        text("vendor contract or PO", "contract_reference"),
    ]


def person_columns(now):
    return [
        text("e-mail", "email"),
        text("name", "name"),
        text("department", "department"),
        text("cost center", "cost_center"),
        text("manager e-mail", "manager__email"),
        flag("active", "active"),
        when("created at", "created_at"),
        when("updated at", "updated_at"),
    ]


def position_columns(now):
    return [
        day("date", "date"),
        text("publisher", "software_model__publisher__name"),
        text("product", "software_model__product"),
        text("edition", "software_model__edition"),
        derived("profile", ("profile__name",), _profile_name),
        text("currency", "currency"),
        choice("status", "status", LicencePositionSnapshot.Status.choices),
        number("rights purchased", "purchased"),
        number("seats assigned", "assigned"),
        number("pending invitations", "pending"),
        number("excluded from cost", "excluded"),
        number("available", "available"),
        number("shortfall (true-up seats)", "shortfall"),
        money("true-up cost / year", "shortfall_cost"),
        money("over-licensed cost / year", "over_licensed_cost"),
        money("annual unit cost", "annual_unit_cost"),
        money("annual spend", "annual_spend"),
        number("stale seats", "stale"),
        number("open candidates", "open_candidates"),
        money("potential savings / year", "potential_savings"),
        number("candidates of unknown cost", "savings_unknown"),
        number("freed seats this year", "freed_seats_ytd"),
        money("freed value this year", "freed_value_ytd"),
    ]


def candidate_columns(now):
    from reclamation.models import ReclamationCandidate

    Candidate = ReclamationCandidate
    states = dict(Candidate.State.choices)

    def savings(amount, known):
        return plain_decimal(amount) if known else "unknown"

    def last_event(from_state, to_state):
        if to_state is None:
            return None
        origin = states.get(from_state, from_state) if from_state else "raised"
        return f"{origin} → {states.get(to_state, to_state)}"

    return [
        number("candidate id", "pk"),
        choice("state", "state", Candidate.State.choices),
        choice("justification", "justification", Candidate.Justification.choices),
        text("e-mail", "user_principal_name"),
        text("person", "user_name"),
        text("department", "department"),
        text("cost center", "cost_center"),
        text("profile", "profile_name"),
        text("provider", "provider"),
        text("rule", "rule_name"),
        choice("seat kind", "seat_kind", Sub.Kind.choices),
        when("last activity", "last_activity_at"),
        text("last activity source", "last_activity_source"),
        inactive_days("inactive days", "last_activity_at"),
        derived("potential savings / year", ("potential_savings", "savings_known"), savings),
        text("currency", "currency"),
        when("raised at", "created_at"),
        when("state changed at", "state_changed_at"),
        when("closed at", "closed_at"),
        when("user notified at", "notified_at"),
        choice("user response", "user_response", Candidate.UserResponse.choices),
        number("events", "report_events"),
        when("last event at", "report_last_event_at"),
        derived("last event", ("report_last_event_from", "report_last_event_to"), last_event),
        text("last event by", "report_last_event_by"),
        text("last event note", "report_last_event_note"),
        text("message", "message"),
    ]


def candidate_annotations():
    from reclamation.models import CandidateEvent

    events = CandidateEvent.objects.filter(candidate=OuterRef("pk"))
    latest = events.order_by("-at", "-pk")

    def last(name):
        return Subquery(latest.values(name)[:1])

    return {
        "report_events": Coalesce(
            Subquery(events.order_by().values("candidate").annotate(n=Count("pk")).values("n")[:1]),
            Value(0),
        ),
        "report_last_event_at": last("at"),
        "report_last_event_from": last("from_state"),
        "report_last_event_to": last("to_state"),
        "report_last_event_by": last("actor_label"),
        "report_last_event_note": last("note"),
    }


def _candidate_model():
    return apps.get_model("reclamation", "ReclamationCandidate")


def _reports() -> dict[str, Report]:
    reports = [
        Report(
            "subscriptions",
            "Software subscriptions",
            SoftwareSubscription,
            subscription_columns,
            lambda: filters.SubscriptionFilterSet,
            "Every seat: person, department, cost center, role, kind, status, last activity "
            "and its source, inactive days, exclusion reasons.",
            annotations=subscription_annotations,
        ),
        Report(
            "subscriptions-without-user",
            "Subscriptions without user",
            SoftwareSubscription,
            subscription_columns,
            lambda: filters.SubscriptionFilterSet,
            "Seats held (members and pending invitations) whose e-mail matches no person.",
            scope=lambda qs: qs.filter(
                status__in=[Sub.Status.ACTIVE, Sub.Status.PENDING], person__isnull=True
            ),
            annotations=subscription_annotations,
        ),
        Report(
            "identifiers",
            "Subscription identifiers",
            SubscriptionIdentifier,
            identifier_columns,
            lambda: filters.IdentifierFilterSet,
            "The vendors' licence identifiers and the software models they map to.",
            annotations=identifier_annotations,
        ),
        Report(
            "unrecognized-identifiers",
            "Unrecognized subscription identifiers",
            SubscriptionIdentifier,
            identifier_columns,
            lambda: filters.IdentifierFilterSet,
            "Identifiers not mapped to a software model yet.",
            scope=lambda qs: qs.filter(software_model__isnull=True),
            annotations=identifier_annotations,
        ),
        Report(
            "licence-position",
            "Licence position",
            LicencePositionSnapshot,
            position_columns,
            lambda: filters.LicencePositionFilterSet,
            "The reconciliation snapshots, per date, software model, profile and currency "
            "(latest=true: the latest snapshot only).",
        ),
        Report(
            "job-runs",
            "Job runs",
            JobRun,
            job_run_columns,
            lambda: filters.JobRunFilterSet,
            "Every scheduled and manual job run, with its counters and errors.",
        ),
        Report(
            "entitlements",
            "Entitlements",
            Entitlement,
            entitlement_columns,
            lambda: filters.EntitlementFilterSet,
            "Purchased rights, unit and annual costs, dates, cost centers and contracts.",
        ),
        Report(
            "people",
            "People",
            Person,
            person_columns,
            lambda: filters.PersonFilterSet,
            "The company directory.",
        ),
    ]
    if filters.reclamation_installed():
        reports.insert(
            2,
            Report(
                "candidates",
                "Reclamation candidates",
                _candidate_model(),
                candidate_columns,
                filters.candidate_filterset,
                "Candidates with their state, justification, savings and a summary of "
                "their events.",
                annotations=candidate_annotations,
            ),
        )
    return {report.name: report for report in reports}


_registry: dict[str, Report] | None = None


def all_reports() -> dict[str, Report]:
    global _registry
    if _registry is None:
        _registry = _reports()
    return _registry


def get(name: str) -> Report:
    """The report called ``name``; KeyError when there is none."""
    return all_reports()[name]
