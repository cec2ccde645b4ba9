"""The core's report definitions: columns, base rows and FilterSets of subscriptions,
identifiers, the licence position, job runs, entitlements and people. Apps define theirs next
to their models and register them (:func:`sam_saas.extensions.register_report`)."""

from __future__ import annotations

from django.db.models import Count, Q
from django.utils import timezone

from .. import money
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
from ..models.entitlements import in_force_on
from . import filters
from .csv_stream import escape, plain_decimal, yes_no
from .engine import (
    Lookup,
    Report,
    choice,
    day,
    derived,
    flag,
    inactive_days,
    looked_up,
    number,
    text,
    when,
)
from .engine import (
    money as money_column,
)

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


def subscription_annotations():
    """ "Last seen" as the model defines it (held seats: the profile's last listing)."""
    return {"report_last_seen": SoftwareSubscription.last_seen_expression()}


def identifier_annotations():
    return {
        "report_subscriptions": Count("subscriptions", distinct=True),
        "report_seats_held": Count(
            "subscriptions", filter=Q(subscriptions__status__in=Sub.HOLDING), distinct=True
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
    ]


def entitlement_columns(now):
    today = timezone.localdate(now)
    annual_unit = money.annual_unit_cost

    def in_force(start, end):
        return yes_no(in_force_on(start, end, today))

    return [
        number("entitlement id", "pk"),
        text("publisher", "software_model__publisher__name"),
        text("product", "software_model__product"),
        text("edition", "software_model__edition"),
        derived("profile", ("profile__name",), _profile_name),
        number("rights purchased", "purchased_rights"),
        money_column("unit cost", "unit_cost"),
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
            lambda c, p, n: plain_decimal(money.annual_cost(c, p, n)),
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
        money_column("true-up cost / year", "shortfall_cost"),
        money_column("over-licensed cost / year", "over_licensed_cost"),
        money_column("annual unit cost", "annual_unit_cost"),
        money_column("annual spend", "annual_spend"),
        number("stale seats", "stale"),
        number("open candidates", "open_candidates"),
        money_column("potential savings / year", "potential_savings"),
        number("candidates of unknown cost", "savings_unknown"),
        number("freed seats this year", "freed_seats_ytd"),
        money_column("freed value this year", "freed_value_ytd"),
    ]


def core_reports() -> list[Report]:
    """The core's reports, in the order the reports page lists them (apps' reports are
    placed among them by their ``order``: these are 10, 20, 30, ...)."""
    return [
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
            scope=lambda qs: qs.holding_seats().filter(person__isnull=True),
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
