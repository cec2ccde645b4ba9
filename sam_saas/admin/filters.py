"""List filters shared by the sam_saas admins."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import connection
from django.utils import timezone

from ..models import SoftwareModel


class YesNoFilter(admin.SimpleListFilter):
    """A yes/no filter; subclasses say what "yes" means with ``filter_yes``/``filter_no``."""

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return self.filter_yes(queryset)
        if self.value() == "no":
            return self.filter_no(queryset)
        return queryset


class HasUserFilter(YesNoFilter):
    """ "No" lists the subscriptions without user: seats whose e-mail matches no person."""

    title = "has user"
    parameter_name = "has_user"

    def filter_yes(self, queryset):
        return queryset.filter(person__isnull=False)

    def filter_no(self, queryset):
        return queryset.filter(person__isnull=True)


class RecognizedFilter(YesNoFilter):
    """ "No" lists the unrecognized subscription identifiers, waiting to be mapped."""

    title = "recognized"
    parameter_name = "recognized"

    def filter_yes(self, queryset):
        return queryset.filter(software_model__isnull=False)

    def filter_no(self, queryset):
        return queryset.filter(software_model__isnull=True)


class InForceFilter(YesNoFilter):
    """Rules that apply now: active and not past ``valid_until``."""

    title = "in force"
    parameter_name = "in_force"

    def filter_yes(self, queryset):
        return queryset.in_force()

    def filter_no(self, queryset):
        return queryset.exclude(pk__in=queryset.in_force().values("pk"))


class NeedsAttentionFilter(YesNoFilter):
    """Profiles whose last job run failed or whose connection must be renewed (the
    dashboard's "Profiles needing attention" tile links here)."""

    title = "needs attention"
    parameter_name = "attention"

    def filter_yes(self, queryset):
        from ..services.attention import needing_attention

        return queryset.filter(pk__in=needing_attention(queryset.model.objects.all()).values("pk"))

    def filter_no(self, queryset):
        from ..services.attention import needing_attention

        return queryset.exclude(pk__in=needing_attention(queryset.model.objects.all()).values("pk"))


class SoftwareModelListFilter(admin.RelatedFieldListFilter):
    """The related-field filter, without one publisher query per software model."""

    def field_choices(self, field, request, model_admin):
        return [(m.pk, str(m)) for m in SoftwareModel.objects.select_related("publisher")]


def rule_in_force(rule, now=None) -> bool:
    now = now or timezone.now()
    return bool(rule.active and (rule.valid_until is None or rule.valid_until > now))


class LastActivityFilter(admin.SimpleListFilter):
    """Last-activity buckets (0–30 … over 120 days, never) and "stale": past the profile's
    reclamation-rule threshold. The dashboard's activity chart links here, and counts with the
    same conditions (``models.subscriptions.activity_q``)."""

    title = "last activity"
    parameter_name = "activity"

    def lookups(self, request, model_admin):
        from ..models.subscriptions import ACTIVITY_CHOICES

        return ACTIVITY_CHOICES

    def queryset(self, request, queryset):
        from ..models.subscriptions import ACTIVITY_CHOICES, activity_q

        value = self.value()
        if value is None:
            return queryset
        if value not in dict(ACTIVITY_CHOICES):
            raise IncorrectLookupParameters(f"Unknown last-activity bucket {value!r}.")
        return queryset.filter(activity_q(value, timezone.now()))


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Django's "all values" filter, without reading every row for its choices.

    ``SELECT DISTINCT role FROM seats`` reads a million rows to find three values. On
    PostgreSQL the choices come from a loose index scan instead: a recursive query that jumps
    from one value to the next through the column's B-tree index, one probe per distinct
    value. The column needs that index (``role`` and ``department`` have one).

    Reference: https://wiki.postgresql.org/wiki/Loose_indexscan"""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        # The parent's choices are a lazy queryset: replacing it here means it never runs.
        self.lookup_choices = distinct_values(field)


def distinct_values(field) -> list:
    """The distinct non-null values of ``field``'s column, sorted: by a loose index scan on
    PostgreSQL, by ``DISTINCT`` elsewhere (SQLite cannot nest a LIMIT in a recursive query's
    first half, and an embedded database is small)."""
    if connection.vendor != "postgresql":
        values = field.model._default_manager.filter(**{f"{field.attname}__isnull": False})
        return list(values.order_by(field.attname).values_list(field.attname, flat=True).distinct())
    quote = connection.ops.quote_name
    table, column = quote(field.model._meta.db_table), quote(field.column)
    sql = (
        f"WITH RECURSIVE walk(v) AS ("  # noqa: S608 - model metadata, no input
        f"(SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1)"
        f" UNION ALL SELECT (SELECT {column} FROM {table} WHERE {column} > walk.v "
        f"ORDER BY {column} LIMIT 1) FROM walk WHERE walk.v IS NOT NULL"
        f") SELECT v FROM walk WHERE v IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [row[0] for row in cursor.fetchall()]


class IndexedRelatedOnlyFilter(admin.RelatedOnlyFieldListFilter):
    """Django's "related only" filter (the profiles or rules that appear in the list) whose
    ids come from a loose index scan of the foreign key's index instead of
    ``SELECT DISTINCT profile_id`` over every row."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False,
            limit_choices_to={"pk__in": distinct_values(field)},
            ordering=ordering,
        )


class DirectoryDepartmentFilter(admin.SimpleListFilter):
    """Filter a list by its ``department`` column, offering the departments of the company
    directory (indexed there) rather than reading every row of the list for its values."""

    title = "department"
    parameter_name = "department"

    def lookups(self, request, model_admin):
        from ..models import Person

        values = distinct_values(Person._meta.get_field("department"))
        return [(value, value) for value in values if value]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(department=self.value())
