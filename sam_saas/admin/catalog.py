"""Admin for the software catalog: publishers, software models, subscription identifiers."""

from django.contrib import admin, messages
from django.db.models import Count
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..models import Publisher, SoftwareModel, SoftwareSubscription, SubscriptionIdentifier
from ..services import mapping
from . import catalog_figures
from .export import ExportCsvMixin
from .filters import RecognizedFilter, SoftwareModelListFilter
from .forms import MapToSoftwareModelForm
from .strict import StrictModelAdmin


@admin.register(Publisher)
class PublisherAdmin(StrictModelAdmin):
    list_display = ("name", "model_count")
    search_fields = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(model_count=Count("models"))

    @admin.display(description="software models", ordering="model_count")
    def model_count(self, obj):
        return obj.model_count


PROFILE_LOOKUP = "subscriptions__profile__id__exact"


@admin.register(SoftwareModel)
class SoftwareModelAdmin(StrictModelAdmin):
    """The list answers "what do we hold of each product and what does it cost": seats held,
    stale seats and annual spend per model. The figures are the licence position's
    (``services.positions``), computed once per page, never per row. The model page lists
    its identifiers, entitlements and subscriptions, linked and counted, and its position."""

    list_display = (
        "name",
        "seats_held",
        "stale_seats",
        "annual_spend",
        "position_status",
        "identifier_count",
        "entitlement_count",
    )
    list_display_links = ("name",)
    list_filter = ("publisher",)
    list_select_related = ("publisher",)
    search_fields = ("product", "edition", "publisher__name")
    readonly_fields = (
        "created_at",
        "identifier_links",
        "entitlement_links",
        "subscription_links",
        "licence_position",
    )
    fieldsets = (
        (None, {"fields": ("publisher", "product", "edition", "created_at")}),
        (
            "Licences",
            {"fields": ("licence_position", "entitlement_links", "subscription_links")},
        ),
        ("Subscription identifiers", {"fields": ("identifier_links",)}),
    )

    def get_queryset(self, request):
        # select_related also serves the autocomplete views, whose labels are str(model).
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(
                identifier_count=Count("identifiers", distinct=True),
                entitlement_count=Count("entitlements", distinct=True),
            )
        )

    def get_changelist_instance(self, request):
        """The licence positions of the page's models, from one computation (a fixed number
        of queries, whatever the number of rows)."""
        changelist = super().get_changelist_instance(request)
        positions = catalog_figures.positions()
        for software_model in changelist.result_list:
            software_model._position = positions.get(software_model.pk)
        return changelist

    @staticmethod
    def _position(obj):
        if not hasattr(obj, "_position"):
            obj._position = catalog_figures.positions().get(obj.pk)
        return obj._position

    @admin.display(description="software model", ordering="product")
    def name(self, obj):
        return obj.name

    @admin.display(description="seats held")
    def seats_held(self, obj):
        position = self._position(obj)
        return position.in_use if position else 0

    @admin.display(description="stale")
    def stale_seats(self, obj):
        position = self._position(obj)
        return position.seats.stale if position else 0

    @admin.display(description="annual spend")
    def annual_spend(self, obj):
        position = self._position(obj)
        return catalog_figures.display(position.spend if position else {}, empty="–")

    @admin.display(description="position")
    def position_status(self, obj):
        position = self._position(obj)
        return position.status_label if position else "–"

    # The profile page's related list links here: "the models of this profile's seats"
    # (sam_saas.admin.strict accepts only declared lookups).
    allowed_lookups = (PROFILE_LOOKUP,)

    @admin.display(description="identifiers", ordering="identifier_count")
    def identifier_count(self, obj):
        return obj.identifier_count

    @admin.display(description="entitlements", ordering="entitlement_count")
    def entitlement_count(self, obj):
        return obj.entitlement_count

    # -- the model page --------------------------------------------------------------------

    @admin.display(description="identifiers")
    def identifier_links(self, obj):
        if obj.pk is None:
            return "–"
        identifiers = list(obj.identifiers.order_by("provider", "value"))
        if not identifiers:
            return "none yet: a download maps the vendor's identifiers to models"
        items = format_html_join(
            "",
            '<a href="{}">{}</a> ({})<br>',
            (
                (
                    reverse("admin:sam_saas_subscriptionidentifier_change", args=[i.pk]),
                    i.value,
                    i.provider,
                )
                for i in identifiers
            ),
        )
        return format_html('<div class="model-identifiers">{}</div>', items)

    @admin.display(description="entitlements")
    def entitlement_links(self, obj):
        if obj.pk is None:
            return "–"
        entitlements = list(
            obj.entitlements.select_related("profile", "software_model__publisher").order_by(
                "-start_date"
            )
        )
        listing = reverse("admin:sam_saas_entitlement_changelist")
        head = format_html(
            '<a href="{}?software_model__id__exact={}" id="model-entitlements">{} entitlement{}</a>',
            listing,
            obj.pk,
            len(entitlements),
            pluralize(len(entitlements)),
        )
        items = format_html_join(
            "",
            '<br><a href="{}">{}</a>',
            (
                (reverse("admin:sam_saas_entitlement_change", args=[e.pk]), str(e))
                for e in entitlements
            ),
        )
        return format_html("{}{}", head, items)

    @admin.display(description="subscriptions")
    def subscription_links(self, obj):
        if obj.pk is None:
            return "–"
        counts = dict(
            obj.subscriptions.order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        listing = reverse("admin:sam_saas_softwaresubscription_changelist")
        total = sum(counts.values())
        parts = [
            format_html(
                '<a href="{}?software_model__id__exact={}&amp;status__exact={}">{} {}</a>',
                listing,
                obj.pk,
                status,
                count,
                SoftwareSubscription.Status(status).label.lower(),
            )
            for status, count in sorted(counts.items())
        ]
        head = format_html(
            '<a href="{}?software_model__id__exact={}" id="model-subscriptions">{} subscription{}</a>',
            listing,
            obj.pk,
            total,
            pluralize(total),
        )
        if not parts:
            return head
        return format_html("{}: {}", head, format_html_join(", ", "{}", ((p,) for p in parts)))

    @admin.display(description="licence position")
    def licence_position(self, obj):
        if obj.pk is None:
            return "–"
        position = self._position(obj)
        if position is None:
            return "no seats and no entitlements"
        rows = (
            ("Purchased", position.purchased),
            ("In use (assigned + pending invitations)", position.in_use),
            ("Available", position.available),
            ("Shortfall", position.shortfall),
            ("Stale seats", position.seats.stale),
            ("Annual spend", catalog_figures.display(position.spend, empty="–")),
            ("Position", position.status_label),
        )
        body = format_html_join("", "<tr><th scope='row'>{}</th><td>{}</td></tr>", rows)
        return format_html('<table id="model-position">{}</table>', body)


@admin.register(SubscriptionIdentifier)
class SubscriptionIdentifierAdmin(ExportCsvMixin, StrictModelAdmin):
    """Lists the vendor identifiers; the "Recognized: No" filter is ServiceNow's
    "unrecognized subscription identifiers" list. Mapping one (action or change form)
    re-points all its subscriptions in one UPDATE."""

    export_report = "identifiers"

    # The profile page's related list links here: "the identifiers of this profile".
    allowed_lookups = (PROFILE_LOOKUP,)

    list_display = (
        "value",
        "provider",
        "software_model",
        "recognized",
        "subscription_count",
        "profile_names",
        "first_seen_at",
    )
    list_filter = (RecognizedFilter, "provider", ("software_model", SoftwareModelListFilter))
    list_select_related = ("software_model__publisher",)
    search_fields = ("value", "software_model__product", "software_model__edition")
    autocomplete_fields = ("software_model",)
    readonly_fields = ("first_seen_at", "subscription_count", "profile_names")
    actions = ("map_to_software_model",)
    fields = (
        "provider",
        "value",
        "software_model",
        "first_seen_at",
        "subscription_count",
        "profile_names",
    )

    def get_readonly_fields(self, request, obj=None):
        readonly = super().get_readonly_fields(request, obj)
        if obj is not None:
            # The vendor's own value: editing it would break matching on the next download.
            readonly = ("provider", "value", *readonly)
        return readonly

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related(*self.list_select_related)
            .annotate(subscription_count=Count("subscriptions"))
        )

    def get_changelist_instance(self, request):
        """Fill the "profiles" column of the page in one query (no query per row)."""
        changelist = super().get_changelist_instance(request)
        identifiers = list(changelist.result_list)  # evaluates and caches the page
        names = self._profile_names_by_identifier([i.pk for i in identifiers])
        for identifier in identifiers:
            identifier._profile_names = names.get(identifier.pk, [])
        return changelist

    @staticmethod
    def _profile_names_by_identifier(ids) -> dict[int, list[str]]:
        pairs = (
            SoftwareSubscription.objects.filter(identifier_id__in=ids)
            .values_list("identifier_id", "profile__name")
            .distinct()
            .order_by("identifier_id", "profile__name")
        )
        names: dict[int, list[str]] = {}
        for identifier_id, profile_name in pairs:
            names.setdefault(identifier_id, []).append(profile_name)
        return names

    @admin.display(description="recognized", boolean=True, ordering="software_model")
    def recognized(self, obj):
        return obj.is_recognized

    @admin.display(description="subscriptions", ordering="subscription_count")
    def subscription_count(self, obj):
        count = getattr(obj, "subscription_count", None)
        if count is None:
            count = obj.subscriptions.count()
        return count

    @admin.display(description="profiles")
    def profile_names(self, obj):
        names = getattr(obj, "_profile_names", None)
        if names is None:
            names = self._profile_names_by_identifier([obj.pk]).get(obj.pk, [])
        return ", ".join(names)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "software_model" in form.changed_data:
            count = obj.map_to(obj.software_model)
            self.message_user(
                request,
                f"{count} subscription(s) re-pointed to "
                f"{obj.software_model or 'no software model'}.",
                messages.SUCCESS,
            )

    @admin.action(description="Map to software model…", permissions=["change"])
    def map_to_software_model(self, request, queryset):
        """An intermediate page asks for the model; posting it back maps every selected
        identifier (``SubscriptionIdentifier.map_to``) and returns to the list."""
        may_create = request.user.has_perm("sam_saas.add_softwaremodel")
        if "apply" in request.POST:
            form = MapToSoftwareModelForm(request.POST, may_create=may_create)
            if form.is_valid():
                software_model = form.cleaned_data["software_model"]
                created = ""
                if software_model is None:
                    software_model = mapping.ensure_software_model(
                        form.cleaned_data["new_publisher"],
                        form.cleaned_data["new_product"],
                        form.cleaned_data["new_edition"],
                    )
                    created = f"Software model {software_model} is ready. "
                identifiers = list(queryset)
                repointed = mapping.map_identifiers(identifiers, software_model)
                for identifier in identifiers:
                    self.log_change(
                        request,
                        identifier,
                        [{"changed": {"fields": ["Software model"]}}],
                    )
                self.message_user(
                    request,
                    f"{created}Mapped {len(identifiers)} identifier(s) to {software_model}; "
                    f"{repointed} subscription(s) re-pointed.",
                    messages.SUCCESS,
                )
                return None
        else:
            form = MapToSoftwareModelForm(may_create=may_create)
        identifiers = list(queryset)
        context = {
            **self.admin_site.each_context(request),
            "title": "Map to software model",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "identifiers": identifiers,
            "subscription_total": sum(i.subscription_count for i in identifiers),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "action_name": "map_to_software_model",
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, "admin/sam_saas/subscriptionidentifier/map_to_software_model.html", context
        )
