"""A changelist paginator that never counts a million rows.

Django's admin counts the whole (filtered) list on every page view to print "N results" and
the page links. ``SELECT count(*)`` over a million seats reads a million rows, so the list
would grow slower with the table. Instead:

- an unfiltered list on PostgreSQL takes the planner's estimate of the table's rows
  (``pg_class.reltuples``, kept by autovacuum's ANALYZE), shown as "about N";
- a filtered or searched list counts at most ``COUNT_LIMIT`` + 1 rows
  (``SELECT count(*) FROM (… LIMIT 10001)``): below that the figure is exact, above it the
  list says "more than 10,000" and pages up to there, and a filter narrows it further.

Either way the cost is bounded whatever the table holds. Small tables (below the limit, and
everything on SQLite under the limit) are counted exactly as before.

Reference: https://wiki.postgresql.org/wiki/Count_estimate
"""

from __future__ import annotations

from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

COUNT_LIMIT = 10_000


class BoundedCountPaginator(Paginator):
    """``count`` is exact up to ``COUNT_LIMIT`` rows, estimated or capped above it;
    ``count_is_exact`` and ``count_label`` say which, for the result line."""

    count_limit = COUNT_LIMIT

    @cached_property
    def _counted(self) -> tuple[int, str]:
        queryset = self.object_list
        query = getattr(queryset, "query", None)
        if query is None:  # a list, not a queryset
            return len(queryset), "exact"
        using = queryset.db
        if not query.where and not query.distinct and not query.combinator:
            estimate = _table_estimate(using, queryset.model._meta.db_table)
            if estimate is not None and estimate > self.count_limit:
                return estimate, "estimate"
        capped = queryset.order_by()[: self.count_limit + 1].count()
        if capped > self.count_limit:
            return self.count_limit, "capped"
        return capped, "exact"

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def count_is_exact(self) -> bool:
        return self._counted[1] == "exact"

    @property
    def count_label(self) -> str:
        number, how = self._counted
        if how == "estimate":
            return f"about {number:,}"
        if how == "capped":
            return f"more than {number:,}"
        return f"{number:,}"


def _table_estimate(using: str, table: str) -> int | None:
    """The planner's row estimate for ``table`` on PostgreSQL; None elsewhere or before the
    table was ever analyzed (``reltuples`` is -1 then)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
        row = cursor.fetchone()
    if not row or row[0] is None or row[0] < 0:
        return None
    return int(row[0])


class BoundedCountMixin:
    """For ModelAdmins of tables that grow with the seats: the paginator above, and the
    result line (templates admin/<app>/pagination.html and search_form.html) says
    "about 1,000,000" or "more than 10,000" instead of a false exact count."""

    paginator = BoundedCountPaginator
    show_full_result_count = False

    def action_checkbox(self, obj):
        """Django's row checkbox, the same HTML, without rendering a form widget template per
        row: that was a third of the Python time of a 100-row page."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )
