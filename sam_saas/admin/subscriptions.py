"""Admin for software subscriptions: one seat held by one identity in one profile."""

from django.contrib import admin, messages
from django.utils import timezone

from ..models import SoftwareSubscription
from ..services import corrections, keeps
from .export import ExportCsvMixin
from .filters import (
    HasUserFilter,
    IndexedValuesFilter,
    LastActivityFilter,
    SoftwareModelListFilter,
)
from .pagination import BoundedCountMixin
from .search import IndexedSearchMixin

# Fields written by the downloads and the activity pull; editing them by hand would be
# overwritten by the next refresh, so they are read-only.
VENDOR_FIELDS = (
    "profile",
    "identifier",
    "user_principal_name",
    "user_name",
    "external_user_id",
    "external_seat_id",
    "kind",
    "role",
    "status",
    "external_created_at",
    "first_seen_at",
    "last_seen",
    "last_activity_at",
    "last_activity_source",
    "last_activity_evidence",
    "last_login_at",
)
# Who corrected the person or the software model by hand, and when.
CORRECTION_FIELDS = (
    "person_set_by",
    "person_set_at",
    "software_model_set_by",
    "software_model_set_at",
)
# Written by the exclusion rules (sam_saas.services.rules), which re-derive them on each run.
RULE_FIELDS = (
    "excluded_from_cost",
    "cost_exclusion_reason",
    "excluded_from_reclamation",
    "reclamation_exclusion_reason",
)


@admin.register(SoftwareSubscription)
class SoftwareSubscriptionAdmin(
    BoundedCountMixin, IndexedSearchMixin, ExportCsvMixin, admin.ModelAdmin
):
    """Seats come from the vendor; only the person and the software model can be corrected
    here. "Has user: No" is the list of subscriptions without user.

    Built for a million rows: a bounded count, filters and orderings served by indexes,
    choices without ``DISTINCT`` over the table, e-mail and name search through trigram
    indexes (external user ids are not searched: a URI is no name)."""

    export_report = "subscriptions"

    # Chosen for the manager's question "who holds what, is it used, is it counted": state,
    # who, what, how stale and where fit 1280 px without scrolling sideways. The vendor
    # record, role, identifier and exclusion reasons are on the subscription's page.
    list_display = (
        "user",
        "status",
        "person_name",
        "model_name",
        "inactive",
        "profile_name",
        "counted",
    )
    list_display_links = ("user",)
    collapse_nav_sidebar = True
    list_filter = (
        HasUserFilter,
        LastActivityFilter,
        "profile",
        "status",
        "kind",
        ("role", IndexedValuesFilter),
        "excluded_from_cost",
        "excluded_from_reclamation",
        "keep_decision",
        ("software_model", SoftwareModelListFilter),
        ("person__department", IndexedValuesFilter),
    )
    list_select_related = ("person", "profile", "software_model__publisher", "identifier")
    search_fields = (
        "user_principal_name",
        "user_name",
        "person__email",
        "person__name",
    )
    autocomplete_fields = ("person", "software_model")
    readonly_fields = (
        *VENDOR_FIELDS,
        "inactive_days",
        *RULE_FIELDS,
        "updated_at",
        *CORRECTION_FIELDS,
        "keep",
    )
    actions = ("propose_again_now", "return_to_automatic")
    fieldsets = (
        (None, {"fields": ("user_principal_name", "user_name", "person", "profile")}),
        ("Licence", {"fields": ("software_model", "identifier", "kind", "role", "status")}),
        (
            "Vendor record",
            {
                "fields": (
                    "external_user_id",
                    "external_seat_id",
                    "external_created_at",
                    "first_seen_at",
                    "last_seen",
                )
            },
        ),
        (
            "Activity",
            {
                "fields": (
                    "last_activity_at",
                    "inactive_days",
                    "last_activity_source",
                    "last_activity_evidence",
                    "last_login_at",
                )
            },
        ),
        (
            "Corrections by hand",
            {
                "fields": CORRECTION_FIELDS,
                "description": "A person or software model set by hand here is kept by the "
                "downloads and the resolution rules until “Return to automatic”.",
            },
        ),
        ("Exclusions", {"fields": (*RULE_FIELDS, "updated_at")}),
        ("Reclamation decision", {"fields": ("keep",)}),
    )

    @admin.display(description="decision to keep the seat")
    def keep(self, obj):
        return obj.keep_summary() or "None: the seat may be proposed for reclamation."

    def save_model(self, request, obj, form, change):
        """A person or software model changed here is a correction by hand: marked with who
        and when, so no download or rule undoes it."""
        changed = [f for f in corrections.FIELDS if f in form.changed_data]
        corrections.mark_by_hand(obj, changed, request.user, timezone.now())
        super().save_model(request, obj, form, change)

    @admin.action(
        description="Propose again now (lift the decision to keep)", permissions=["change"]
    )
    def propose_again_now(self, request, queryset):
        lifted, notes = keeps.lift(queryset, request.user)
        if not lifted:
            self.message_user(
                request, "None of the selected seats has a decision to keep.", messages.WARNING
            )
            return
        for sub in queryset.filter(pk__in=lifted):
            self.log_change(request, sub, "Propose again now: the decision to keep was lifted.")
        self.message_user(
            request,
            " ".join([f"Decision to keep lifted on {len(lifted)} seat(s).", *notes]),
            messages.SUCCESS,
        )

    @admin.action(
        description="Return to automatic (person and software model)", permissions=["change"]
    )
    def return_to_automatic(self, request, queryset):
        result = corrections.return_to_automatic(queryset)
        self.message_user(request, result.summary(), messages.SUCCESS)

    @admin.display(description="last seen")
    def last_seen(self, obj):
        """Held seats were seen in the profile's last complete listing (one time on the
        profile, not rewritten on every seat by each download)."""
        return obj.last_seen

    @admin.display(description="inactive days", ordering="-last_activity_at")
    def inactive_days(self, obj):
        return obj.inactive_days

    @admin.display(description="user", ordering="user_principal_name")
    def user(self, obj):
        return obj.user_principal_name

    @admin.display(description="inactive", ordering="-last_activity_at")
    def inactive(self, obj):
        """Compact: "61 d"; "never" for a seat never used."""
        days = obj.inactive_days
        return "never" if days is None else f"{days} d"

    @admin.display(description="person", ordering="person__name")
    def person_name(self, obj):
        return obj.person.name if obj.person else "– no user –"

    @admin.display(description="software model", ordering="software_model__product")
    def model_name(self, obj):
        return obj.software_model.name if obj.software_model else "unrecognized"

    @admin.display(description="profile", ordering="profile__name")
    def profile_name(self, obj):
        return obj.profile.name

    @admin.display(description="counted", boolean=True)
    def counted(self, obj):
        """In licence cost and reclamation: no exclusion rule keeps it out."""
        return not (obj.excluded_from_cost or obj.excluded_from_reclamation)

    def has_add_permission(self, request):
        # Seats are created by the downloads only.
        return False

    def has_delete_permission(self, request, obj=None):
        # Seats come from the vendor: the download marks vanished ones removed, and a removed
        # seat is the record of what the vendor held. Nobody deletes one by hand.
        return False
