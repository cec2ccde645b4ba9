"""The worklist's state filter: the list opens on the open candidates, and every choice says how
many candidates it holds ("Awaiting Approval (37)"), from one grouped query.

Parameters are the field filter's own (``state__exact``, ``state__isnull``) plus
``state__in`` (the dashboard links with it); with none of them the list shows the open
candidates, and "All" (``state__isnull=False``) shows every state."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count

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
        rows = (
            self.model_admin.get_queryset(self.request)
            .order_by()
            .values_list("state")
            .annotate(n=Count("pk"))
        )
        return dict(rows)

    def choices(self, changelist):
        counts = self._counts()
        remove = [self.lookup_kwarg, self.lookup_kwarg_isnull, self.lookup_kwarg_in]
        value_in = self.lookup_val_in[-1] if self.lookup_val_in else None
        yield {
            "selected": bool(self.lookup_val_isnull == "False"),
            "query_string": changelist.get_query_string(
                {self.lookup_kwarg_isnull: "False"}, remove
            ),
            "display": f"All ({sum(counts.values())})",
        }
        yield {
            "selected": self.defaulted or value_in == OPEN_VALUE,
            "query_string": changelist.get_query_string({self.lookup_kwarg_in: OPEN_VALUE}, remove),
            "display": f"Open ({sum(counts.get(str(s), 0) for s in OPEN_STATES)})",
        }
        for value, label in ReclamationCandidate.State.choices:
            yield {
                "selected": bool(self.lookup_val) and value in self.lookup_val,
                "query_string": changelist.get_query_string({self.lookup_kwarg: value}, remove),
                "display": f"{label} ({counts.get(value, 0)})",
            }
