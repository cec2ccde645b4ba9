"""Changelists that accept only what they declare.

Django's admin lets any local-field lookup through the query string: a viewer could send
``?user_name__regex=^(A?){26}A{26}$`` (a regular expression that took 21 s on SQLite and
stalled everyone), an invalid pattern (a 500 on PostgreSQL), or a number too large for the
database (``?queued_at__year=99999999999``, ``?profile__id__exact=9999...``: a 500). The Export
CSV button builds the same changelist, so it accepted the same parameters.

``StrictLookupsMixin`` makes a changelist accept only:

* the parameters of its ``list_filter`` entries and of its ``date_hierarchy``;
* ``allowed_lookups``: the few extra lookups the product's own links use (the dashboard's
  ``status__in=active,pending``), declared on the ModelAdmin;
* the search box (control characters removed, at most ``SEARCH_MAX_LENGTH`` characters) and
  the ordering columns, which Django already limits to ``list_display``.

Anything else, and any integer outside the database's range, gets the admin's "invalid filter"
answer (``IncorrectLookupParameters``: the changelist redirects to ``?e=1``, the export
answers 400), never a 500 and never a query built from it.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models.constants import LOOKUP_SEP

SEARCH_MAX_LENGTH = 200
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _target_field(model, key: str):
    """The model field a lookup key filters on, and the lookup name ("" for exact)."""
    opts, field, parts = model._meta, None, key.split(LOOKUP_SEP)
    for position, part in enumerate(parts):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return field, LOOKUP_SEP.join(parts[position:])
        if field.is_relation and field.related_model is not None:
            opts = field.related_model._meta
    return field, ""


def check_value(model, key: str, values) -> None:
    """Refuse integers the database cannot hold (SQLite raises OverflowError, PostgreSQL
    NumericValueOutOfRange, both only once the query runs)."""
    field, lookup = _target_field(model, key)
    if field is None or lookup == "isnull":
        return
    if field.is_relation and getattr(field, "target_field", None) is not None:
        field = field.target_field
    if not isinstance(field, models.IntegerField | models.AutoField):
        return
    for value in values:
        for item in str(value).split(",") if lookup == "in" else [value]:
            try:
                number = int(str(item).strip())
            except ValueError:
                continue  # Django refuses it as an invalid filter itself
            if not BIGINT_MIN <= number <= BIGINT_MAX:
                raise IncorrectLookupParameters(f"{key}: {item} is out of range.")


class StrictChangeList(ChangeList):
    def get_filters(self, request):
        params = self.get_filters_params()
        for key, values in params.items():
            check_value(self.model, key, values)
        try:
            result = super().get_filters(request)
        except (OverflowError, ValueError) as exc:  # e.g. a date_hierarchy year out of range
            raise IncorrectLookupParameters(exc) from exc
        remaining = result[2]
        allowed = set(getattr(self.model_admin, "allowed_lookups", ()))
        if self.date_hierarchy:
            allowed |= {f"{self.date_hierarchy}__gte", f"{self.date_hierarchy}__lt"}
        unknown = sorted(set(remaining) - allowed)
        if unknown:
            raise IncorrectLookupParameters(
                f"This list cannot be filtered by {', '.join(unknown)}."
            )
        return result


class StrictLookupsMixin:
    """Mix into every ModelAdmin (before ``admin.ModelAdmin``)."""

    allowed_lookups: tuple[str, ...] = ()

    def get_changelist(self, request, **kwargs):
        return StrictChangeList

    def lookup_allowed(self, lookup, value, request=None):
        # StrictChangeList refuses every parameter no filter declares, with the admin's
        # "invalid filter" answer rather than Django's 400 for relation lookups.
        return True

    def get_search_results(self, request, queryset, search_term):
        search_term = _CONTROL.sub(" ", search_term or "")[:SEARCH_MAX_LENGTH]
        return super().get_search_results(request, queryset, search_term)


class StrictModelAdmin(StrictLookupsMixin, admin.ModelAdmin):
    """The product's ModelAdmin base: changelists accept only their declared filters."""
