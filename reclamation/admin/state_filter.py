"""The worklist's state filter: the list opens on the open candidates, and every choice says how
many candidates it holds ("Awaiting Approval (37)"), from one statement that counts each state
up to the changelist paginator's limit ("more than 10,000" above it), so the filter stays
bounded at a million candidates like the list's own count.

Parameters are the field filter's own (``state__exact``, ``state__isnull``) plus
``state__in`` (the dashboard links with it); with none of them the list shows the open
candidates, and "All" (``state__isnull=False``) shows every state."""

from __future__ import annotations

from django.contrib import admin
from django.db import connections

from sam_saas.admin.pagination import BoundedCountPaginator

from ..models import OPEN_STATES, ReclamationCandidate

OPEN_VALUE = ",".join(str(s) for s in OPEN_STATES)


class CandidateStateFilter(admin.ChoicesFieldListFilter):
    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_kwarg_in = f"{field_path}__in"
        self.lookup_val_in = params.get(self.lookup_kwarg_in)
        self.request = request
        self.model_admin = model_admin
        super().__init__(field, request, params, model, model_admin, field_path)
        # Only what the list shows (and its export) defaults to open: an action posted for
        # selected rows (from any page, e.g. a candidate's buttons) finds them in any state.
        self.defaulted = not self.used_parameters and request.method in ("GET", "HEAD")
        if self.defaulted:
            self.used_parameters = {self.lookup_kwarg_in: [[str(s) for s in OPEN_STATES]]}

    def expected_parameters(self):
        return [*super().expected_parameters(), self.lookup_kwarg_in]

    def has_output(self):
        return True

    def _counts(self) -> dict[str, int]:
        """Candidates per state, each counted up to the limit + 1 (then shown as "more than
        N"): one UNION ALL of capped counts, each an index range scan of its state."""
        limit = BoundedCountPaginator.count_limit
        queryset = self.model_admin.get_queryset(self.request).order_by()
        parts, params = [], []
        for value, _label in ReclamationCandidate.State.choices:
            sql, part_params = (
                queryset.filter(state=value).values("pk")[: limit + 1].query.sql_with_params()
            )
            # The ORM's own compiled SQL; every value stays a parameter.
            parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) AS capped")  # noqa: S608
            params += [value, *part_params]
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), params)
            return {state: n for state, n in cursor.fetchall() if n}

    @staticmethod
    def _label(*counts: int) -> str:
        """The count, or the sum of several; "more than N" when one of them was capped."""
        limit = BoundedCountPaginator.count_limit
        total = sum(min(n, limit) for n in counts)
        return f"more than {total:,}" if any(n > limit for n in counts) else str(total)

    def choices(self, changelist):
        counts = self._counts()
        remove = [self.lookup_kwarg, self.lookup_kwarg_isnull, self.lookup_kwarg_in]
        value_in = self.lookup_val_in[-1] if self.lookup_val_in else None
        yield {
            "selected": bool(self.lookup_val_isnull == "False"),
            "query_string": changelist.get_query_string(
                {self.lookup_kwarg_isnull: "False"}, remove
            ),
            "display": f"All ({self._label(*counts.values())})",
        }
        yield {
            "selected": self.defaulted or value_in == OPEN_VALUE,
            "query_string": changelist.get_query_string({self.lookup_kwarg_in: OPEN_VALUE}, remove),
            "display": f"Open ({self._label(*(counts.get(str(s), 0) for s in OPEN_STATES))})",
        }
        for value, label in ReclamationCandidate.State.choices:
            yield {
                "selected": bool(self.lookup_val) and value in self.lookup_val,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}, remove),
                "display": f"{label} ({self._label(counts.get(value, 0))})",
            }
