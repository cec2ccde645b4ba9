"""Reclamation's CSV reports, registered with the core (:mod:`sam_saas.extensions`): the
candidates, with a summary of their events, and the candidate events themselves (who moved
which candidate from which state to which, when and why)."""

from __future__ import annotations

import django_filters
from django.db.models import Count, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from sam_saas import extensions
from sam_saas.models import IntegrationProfile, SoftwareSubscription
from sam_saas.reports.csv_stream import plain_decimal
from sam_saas.reports.engine import (
    Report,
    choice,
    derived,
    inactive_days,
    number,
    text,
    when,
)
from sam_saas.reports.filters import BooleanFilter, ReportFilterSet, search

from .models import (
    OPEN_STATES,
    CandidateEvent,
    CandidateState,
    ReclamationCandidate,
    ReclamationRule,
)

Sub = SoftwareSubscription


def candidate_columns(now):
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


class CandidateFilterSet(ReportFilterSet):
    state = django_filters.MultipleChoiceFilter(choices=ReclamationCandidate.State.choices)
    open = BooleanFilter(method="filter_open", label="open (not closed)")
    justification = django_filters.MultipleChoiceFilter(
        choices=ReclamationCandidate.Justification.choices
    )
    profile = django_filters.ModelMultipleChoiceFilter(queryset=IntegrationProfile.objects.all())
    rule = django_filters.ModelMultipleChoiceFilter(queryset=ReclamationRule.objects.all())
    department = django_filters.CharFilter(lookup_expr="iexact")
    cost_center = django_filters.CharFilter(lookup_expr="iexact")
    savings_known = BooleanFilter()
    raised_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    raised_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    closed_from = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__gte")
    closed_to = django_filters.DateFilter(field_name="closed_at", lookup_expr="date__lte")
    q = django_filters.CharFilter(
        method=search(["user_principal_name", "user_name", "department", "profile_name"]),
        label="search",
    )

    labels = {
        "state": "State",
        "open": "Open (not closed)",
        "justification": "Justification",
        "profile": "Profile",
        "rule": "Rule",
        "department": "Department",
        "cost_center": "Cost center",
        "savings_known": "Saving known",
        "raised_from": "Raised from",
        "raised_to": "Raised to",
        "closed_from": "Closed from",
        "closed_to": "Closed to",
        "q": "Search (e-mail, name, department, profile)",
    }

    class Meta:
        model = ReclamationCandidate
        fields = []

    def filter_open(self, queryset, name, value):
        condition = Q(state__in=OPEN_STATES)
        return queryset.filter(condition) if value else queryset.exclude(condition)


class CandidateEventFilterSet(ReportFilterSet):
    candidate = django_filters.NumberFilter(field_name="candidate_id")
    to_state = django_filters.MultipleChoiceFilter(choices=CandidateState.choices)
    from_state = django_filters.MultipleChoiceFilter(choices=CandidateState.choices)
    profile = django_filters.ModelMultipleChoiceFilter(
        field_name="candidate__profile", queryset=IntegrationProfile.objects.all()
    )
    at_from = django_filters.DateFilter(field_name="at", lookup_expr="date__gte")
    at_to = django_filters.DateFilter(field_name="at", lookup_expr="date__lte")
    q = django_filters.CharFilter(
        method=search(["candidate__user_principal_name", "actor_label", "note"]),
        label="search",
    )

    labels = {
        "candidate": "Candidate id",
        "to_state": "To state",
        "from_state": "From state",
        "profile": "Profile",
        "at_from": "From date",
        "at_to": "To date",
        "q": "Search (e-mail, by, note)",
    }

    class Meta:
        model = CandidateEvent
        fields = []


def candidate_event_columns(now):
    states = dict(CandidateState.choices)
    return [
        number("event id", "pk"),
        number("candidate id", "candidate_id"),
        when("at", "at"),
        text("e-mail", "candidate__user_principal_name"),
        text("profile", "candidate__profile_name"),
        derived("from", ("from_state",), lambda s: states.get(s, s) if s else "raised"),
        choice("to", "to_state", CandidateState.choices),
        text("by", "actor_label"),
        text("note", "note"),
    ]


def register() -> None:
    extensions.register_report(
        "candidates",
        lambda: Report(
            "candidates",
            "Reclamation candidates",
            ReclamationCandidate,
            candidate_columns,
            lambda: CandidateFilterSet,
            "Candidates with their state, justification, savings and a summary of their events.",
            annotations=candidate_annotations,
        ),
        order=25,
    )
    extensions.register_report(
        "candidate-events",
        lambda: Report(
            "candidate-events",
            "Reclamation candidate events",
            CandidateEvent,
            candidate_event_columns,
            lambda: CandidateEventFilterSet,
            "Every transition of every candidate: from, to, by whom, when and why.",
        ),
        order=26,
    )
