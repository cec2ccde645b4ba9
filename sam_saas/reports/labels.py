"""Labels typed where values are expected: ``state=Awaiting Approval`` means
``state=awaiting_approval``, ``profile=Acme`` means the profile called Acme.

People copy what they see in the admin's lists into report URLs and ``export_report``
arguments; refusing the label they read would be pedantic. Only exact matches (ignoring case,
spaces and underscores) are accepted, so an ambiguous or unknown word still fails validation
with the FilterSet's own error instead of turning into a guess.
"""

from __future__ import annotations

import django_filters
from django.http import QueryDict


def _key(text) -> str:
    return " ".join(str(text).replace("_", " ").split()).casefold()


def _choice_map(choices) -> dict[str, str]:
    if callable(choices):
        choices = choices()
    table = {}
    for value, label in choices or ():
        if isinstance(label, list | tuple):  # an optgroup
            table.update(_choice_map(label))
            continue
        table.setdefault(_key(label), str(value))
        table[_key(value)] = str(value)
    return table


def _object_map(queryset) -> dict[str, str]:
    """Name (or ``str()``) → pk, for the small tables reports filter by (profiles, rules,
    software models, identifiers). A name two rows share maps to neither."""
    table: dict[str, str] = {}
    shared = set()
    for obj in queryset:
        for name in {str(obj), getattr(obj, "name", None) or ""} - {""}:
            key = _key(name)
            if key in table and table[key] != str(obj.pk):
                shared.add(key)
            table[key] = str(obj.pk)
    return {k: v for k, v in table.items() if k not in shared}


def _translator(filter_):
    if isinstance(
        filter_, django_filters.ModelChoiceFilter | django_filters.ModelMultipleChoiceFilter
    ):
        queryset = filter_.extra.get("queryset")
        if queryset is None or callable(queryset):
            return None

        cache: dict = {}  # read the table once per request, and only if a name is given

        def translate(value):
            if value.strip().isdigit():
                return value
            if "table" not in cache:
                cache["table"] = _object_map(queryset.all())
            return cache["table"].get(_key(value), value)

        return translate
    choices = filter_.extra.get("choices")
    if choices is None:
        return None
    table = _choice_map(choices)
    return lambda value: table.get(_key(value), value)


def accept_labels(base_filters: dict, data) -> QueryDict:
    """A copy of ``data`` (a QueryDict or a dict) with choice labels and object names turned
    into the values the filters expect, and empty values left out."""
    if isinstance(data, QueryDict):
        items = data.lists()
    else:
        items = ((k, v if isinstance(v, list | tuple) else [v]) for k, v in data.items())
    result = QueryDict(mutable=True)
    for name, values in items:
        filter_ = base_filters.get(name)
        translate = _translator(filter_) if filter_ is not None else None
        # An empty value is an empty form field: no filter (a form submitted without
        # JavaScript sends every field).
        values = [str(v) for v in values if str(v).strip() != ""]
        if not values:
            continue
        if translate is not None:
            values = [translate(v) for v in values]
        result.setlist(name, values)
    return result
