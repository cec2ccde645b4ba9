"""Changelist search that PostgreSQL answers from ``pg_trgm`` GIN indexes.

Django's admin search ORs ``icontains`` over every search field, joined tables included
(``person__email``). An OR that spans two tables cannot use an index on either, so every
search reads the whole million-seat table. Here each group of fields is matched on its own
table, where the trigram indexes of migration ``sam_saas.0011`` (``UPPER(col) gin_trgm_ops``,
the expression ``icontains`` compiles to) answer it, and the groups are combined as a UNION
of primary keys:

    pk IN (SELECT id FROM seats WHERE upn ILIKE … OR user_name ILIKE …
           UNION SELECT id FROM seats WHERE person_id IN (SELECT id FROM people WHERE …))

Same results as Django's search (every term must match one of the fields, case-insensitive,
quoted phrases kept together), no duplicates, and SQLite runs the same SQL without indexes.

Reference: https://www.postgresql.org/docs/current/pgtrgm.html#PGTRGM-INDEX
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal


def _terms(search_term: str) -> list[str]:
    terms = []
    for bit in smart_split(search_term):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        if bit:
            terms.append(bit)
    return terms


class IndexedSearchMixin:
    """``search_fields`` are plain field names of the model or ``relation__field`` paths
    one level deep; the search matches each table separately (see the module docstring)."""

    def _search_groups(self) -> tuple[list[str], dict[str, list[str]]]:
        own, related = [], {}
        for name in self.search_fields:
            relation, _, field = name.partition("__")
            if field:
                related.setdefault(relation, []).append(field)
            else:
                own.append(relation)
        return own, related

    def get_search_results(self, request, queryset, search_term):
        terms = _terms(search_term)
        if not terms:
            return queryset, False
        model = queryset.model
        own, related = self._search_groups()
        for term in terms:
            parts = []
            if own:
                condition = reduce(or_, (Q(**{f"{f}__icontains": term}) for f in own))
                parts.append(model._default_manager.filter(condition))
            for relation, fields in related.items():
                target = model._meta.get_field(relation).related_model
                matching = target._default_manager.filter(
                    reduce(or_, (Q(**{f"{f}__icontains": term}) for f in fields))
                ).values("pk")
                parts.append(model._default_manager.filter(**{f"{relation}__in": matching}))
            keys = [part.order_by().values("pk") for part in parts]
            union = keys[0].union(*keys[1:]) if len(keys) > 1 else keys[0]
            queryset = queryset.filter(pk__in=union)
        return queryset, False
