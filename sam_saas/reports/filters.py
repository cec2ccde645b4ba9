"""The reports' filters: one validated django-filter FilterSet per report, shared by
``/reports/<name>.csv``, ``manage.py export_report`` and the tests.

Validation is strict on purpose: an unknown parameter or a value that does not parse is an
error (HTTP 400, or a command error), never a silently unfiltered export. django-filter alone
skips invalid fields and ignores unknown ones, which would turn a typo into a full dump, so
:func:`sam_saas.reports.registry.Report.filter` checks both before using ``.qs``."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .. import jobkinds
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
from ..models.subscriptions import ACTIVITY_CHOICES, activity_q

TRUE_VALUES = ("true", "yes", "1")
FALSE_VALUES = ("false", "no", "0")


class StrictBooleanField(forms.Field):
    """true/yes/1 or false/no/0; anything else is an error (Django's NullBooleanField reads
    an unknown word as "no filter")."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise ValidationError(f"“{value}” is not a yes/no value: use true or false.")


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


# Bounds of numeric parameters: past them the date arithmetic overflows (a 500 before), or the
# database cannot hold the number (SQLite raises OverflowError while binding it).
DAYS_MAX = 36_500
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class BoundedModelMultipleChoiceField(django_filters.fields.ModelMultipleChoiceField):
    """Refuses a primary key the database could not hold before it is looked up."""

    def _check_values(self, value):
        pk = self.queryset.model._meta.pk
        if isinstance(pk, models.IntegerField | models.AutoField):
            for item in value:
                try:
                    number = int(str(item).strip())
                except (TypeError, ValueError):
                    continue  # Django's own check names it
                if not BIGINT_MIN <= number <= BIGINT_MAX:
                    raise ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": item},
                    )
        return super()._check_values(value)


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = BoundedModelMultipleChoiceField


def search(fields):
    """A filter method matching ``value`` in any of ``fields`` (case-insensitive)."""

    def search(queryset, name, value):
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": value})
        return queryset.filter(condition)

    return search


class ReportFilterSet(django_filters.FilterSet):
    """Base of the report FilterSets.

    ``labels`` names the filters as the admin's lists do (the ``/reports/`` forms show them).
    A choice may be given by its label as well as its value (``state=Awaiting Approval`` or
    ``state=awaiting_approval``), and a profile, rule or software model by its name as well as
    its id: :func:`sam_saas.reports.labels.accept_labels` turns labels into values first."""

    labels: dict[str, str] = {}

    def __init__(self, data=None, *args, **kwargs):
        from .labels import accept_labels

        if data is not None:
            data = accept_labels(self.base_filters, data)
        super().__init__(data, *args, **kwargs)
        for name, label in self.labels.items():
            if name in self.filters:
                self.filters[name].label = label


class SubscriptionFilterSet(ReportFilterSet):
    profile = ModelMultipleChoiceFilter(queryset=IntegrationProfile.objects.all())
    software_model = ModelMultipleChoiceFilter(queryset=SoftwareModel.objects.all())
    identifier = ModelMultipleChoiceFilter(queryset=SubscriptionIdentifier.objects.all())
    status = django_filters.MultipleChoiceFilter(choices=SoftwareSubscription.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=SoftwareSubscription.Kind.choices)
    role = django_filters.CharFilter(lookup_expr="iexact")
    has_user = BooleanFilter(field_name="person", lookup_expr="isnull", exclude=True)
    department = django_filters.CharFilter(field_name="person__department", lookup_expr="iexact")
    cost_center = django_filters.CharFilter(field_name="person__cost_center", lookup_expr="iexact")
    excluded_from_cost = BooleanFilter()
    excluded_from_reclamation = BooleanFilter()
    activity = django_filters.ChoiceFilter(choices=ACTIVITY_CHOICES, method="filter_activity")
    inactive_days_min = IntegerFilter(
        method="filter_inactive_days",
        min_value=0,
        max_value=DAYS_MAX,
        label="inactive for at least (days)",
    )
    q = django_filters.CharFilter(
        method=search(
            [
                "user_principal_name",
                "user_name",
                "person__email",
                "person__name",
                "external_user_id",
            ]
        ),
        label="search",
    )

    labels = {
        "profile": "Profile",
        "software_model": "Software model",
        "identifier": "Subscription identifier",
        "status": "Status",
        "kind": "Kind",
        "role": "Role",
        "has_user": "Has user",
        "department": "Department",
        "cost_center": "Cost center",
        "excluded_from_cost": "Excluded from cost",
        "excluded_from_reclamation": "Excluded from reclamation",
        "activity": "Last activity",
        "inactive_days_min": "Inactive for at least (days)",
        "q": "Search (e-mail, name, user id)",
    }

    class Meta:
        model = SoftwareSubscription
        fields = []

    def filter_activity(self, queryset, name, value):
        return queryset.filter(activity_q(value, timezone.now()))

    def filter_inactive_days(self, queryset, name, value):
        return queryset.filter(last_activity_at__lt=timezone.now() - dt.timedelta(days=value))


class IdentifierFilterSet(ReportFilterSet):
    provider = django_filters.CharFilter(lookup_expr="iexact")
    recognized = BooleanFilter(field_name="software_model", lookup_expr="isnull", exclude=True)
    software_model = ModelMultipleChoiceFilter(queryset=SoftwareModel.objects.all())
    q = django_filters.CharFilter(
        method=search(["value", "software_model__product", "software_model__edition"]),
        label="search",
    )

    labels = {
        "provider": "Provider",
        "recognized": "Recognized",
        "software_model": "Software model",
        "q": "Search (identifier, product, edition)",
    }

    class Meta:
        model = SubscriptionIdentifier
        fields = []


class JobRunFilterSet(ReportFilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=jobkinds.choices)
    status = django_filters.MultipleChoiceFilter(choices=JobRun.Status.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=JobRun.Trigger.choices)
    profile = ModelMultipleChoiceFilter(queryset=IntegrationProfile.objects.all())
    queued_after = django_filters.IsoDateTimeFilter(field_name="queued_at", lookup_expr="gte")
    queued_before = django_filters.IsoDateTimeFilter(field_name="queued_at", lookup_expr="lt")
    q = django_filters.CharFilter(
        method=search(["error_class", "error_message", "profile__name"]),
        label="search",
    )

    labels = {
        "kind": "Kind",
        "status": "Status",
        "trigger": "Trigger",
        "profile": "Profile",
        "queued_after": "Queued from (date and time)",
        "queued_before": "Queued before (date and time)",
        "q": "Search (error, profile)",
    }

    class Meta:
        model = JobRun
        fields = []


class EntitlementFilterSet(ReportFilterSet):
    software_model = ModelMultipleChoiceFilter(queryset=SoftwareModel.objects.all())
    profile = ModelMultipleChoiceFilter(queryset=IntegrationProfile.objects.all())
    shared = BooleanFilter(field_name="profile", lookup_expr="isnull")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    period = django_filters.ChoiceFilter(choices=Entitlement.Period.choices)
    cost_center = django_filters.CharFilter(lookup_expr="iexact")
    in_force = BooleanFilter(method="filter_in_force")
    ending_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte")

    labels = {
        "software_model": "Software model",
        "profile": "Profile",
        "shared": "Shared by all profiles",
        "currency": "Currency",
        "period": "Period",
        "cost_center": "Cost center",
        "in_force": "In force",
        "ending_before": "Ending on or before",
    }

    class Meta:
        model = Entitlement
        fields = []

    def filter_in_force(self, queryset, name, value):
        in_force = queryset.in_force()
        return in_force if value else queryset.exclude(pk__in=in_force.values("pk"))


class PersonFilterSet(ReportFilterSet):
    active = BooleanFilter()
    department = django_filters.CharFilter(lookup_expr="iexact")
    cost_center = django_filters.CharFilter(lookup_expr="iexact")
    q = django_filters.CharFilter(
        method=search(["email", "name", "department", "cost_center"]), label="search"
    )

    labels = {
        "active": "Active",
        "department": "Department",
        "cost_center": "Cost center",
        "q": "Search (e-mail, name, department, cost center)",
    }

    class Meta:
        model = Person
        fields = []


class LicencePositionFilterSet(ReportFilterSet):
    date = django_filters.DateFilter()
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte")
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte")
    latest = BooleanFilter(method="filter_latest", label="latest snapshot only")
    software_model = ModelMultipleChoiceFilter(queryset=SoftwareModel.objects.all())
    profile = ModelMultipleChoiceFilter(queryset=IntegrationProfile.objects.all())
    all_profiles = BooleanFilter(field_name="profile", lookup_expr="isnull")
    currency = django_filters.CharFilter(lookup_expr="iexact")
    status = django_filters.MultipleChoiceFilter(choices=LicencePositionSnapshot.Status.choices)

    labels = {
        "date": "Snapshot date",
        "date_from": "Snapshot from",
        "date_to": "Snapshot to",
        "latest": "Latest snapshot only",
        "software_model": "Software model",
        "profile": "Profile",
        "all_profiles": "All profiles together",
        "currency": "Currency",
        "status": "Status",
    }

    class Meta:
        model = LicencePositionSnapshot
        fields = []

    def filter_latest(self, queryset, name, value):
        if not value:
            return queryset
        latest = LicencePositionSnapshot.objects.order_by("-date").values("date")[:1]
        return queryset.filter(date=latest)
