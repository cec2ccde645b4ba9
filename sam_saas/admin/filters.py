"""List filters shared by the sam_saas admins."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
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
