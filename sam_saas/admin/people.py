"""Admin for the company directory, with the CSV import page."""

import base64
import uuid

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from ..forbidden import MissingPermission
from ..models import Person
from ..reports.csv_stream import BOM
from ..services.people_csv import COLUMN_DOCS, COLUMNS, PeopleImportError, example_csv
from ..services.people_import import import_people, needs_typed_confirmation
from .export import ExportCsvMixin
from .filters import IndexedValuesFilter
from .forms import PeopleImportForm
from .pagination import BoundedCountMixin
from .search import IndexedSearchMixin
from .strict import StrictLookupsMixin

IMPORT_PERMISSIONS = ("sam_saas.add_person", "sam_saas.change_person")
# The session key holding an import waiting for the deactivation to be confirmed.
PENDING = "sam_people_import_pending"


@admin.register(Person)
class PersonAdmin(
    BoundedCountMixin, ExportCsvMixin, StrictLookupsMixin, IndexedSearchMixin, admin.ModelAdmin
):
    """The directory grows with the company: a bounded count, indexed filter choices, and
    e-mail and name search through trigram indexes (departments are filters, not searched).
    The strict lookups clean the search term before the indexed search reads it."""

    export_report = "people"
    change_list_template = "admin/sam_saas/person/change_list.html"
    list_display = ("email", "name", "department", "cost_center", "manager", "active")
    list_filter = (
        "active",
        ("department", IndexedValuesFilter),
        ("cost_center", IndexedValuesFilter),
    )
    list_select_related = ("manager",)
    search_fields = ("email", "name")
    autocomplete_fields = ("manager",)
    readonly_fields = ("created_at", "updated_at")

    def get_urls(self):
        # Before the default URLs: "<path:object_id>/" would swallow "import/".
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="sam_saas_person_import",
            ),
            path(
                "import/example.csv",
                self.admin_site.admin_view(self.import_example_view),
                name="sam_saas_person_import_example",
            ),
            *super().get_urls(),
        ]

    @staticmethod
    def can_import(request) -> bool:
        return request.user.has_perms(IMPORT_PERMISSIONS)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_people": self.can_import(request)}
        return super().changelist_view(request, extra_context)

    def import_example_view(self, request):
        """An example file to start from, with accents, saved for Excel (byte-order mark)."""
        if not self.can_import(request):
            raise MissingPermission(*IMPORT_PERMISSIONS, every=True)
        response = HttpResponse(
            (BOM + example_csv()).encode("utf-8"), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="people-example.csv"'
        return response

    def import_view(self, request):
        """Upload a directory CSV; same service as ``manage.py import_people``. With
        "Deactivate people missing from the file", a first step lists who would be
        deactivated and asks for a second confirmation (and, above 20% of the active people,
        the number typed in)."""
        if not self.can_import(request):
            raise MissingPermission(*IMPORT_PERMISSIONS, every=True)
        errors: list[str] = []
        if request.method == "POST" and "confirm_deactivation" in request.POST:
            return self._confirm_deactivation(request)
        if request.method == "POST":
            form = PeopleImportForm(request.POST, request.FILES)
            if form.is_valid():
                dry_run = form.cleaned_data["dry_run"]
                deactivate = form.cleaned_data["deactivate_missing"]
                data = form.cleaned_data["file"].read()
                try:
                    if deactivate and not dry_run:
                        preview = import_people(data, deactivate_missing=True, dry_run=True)
                        if preview.deactivated:
                            return self._ask_to_confirm(request, data, preview)
                    result = import_people(
                        data,
                        deactivate_missing=deactivate,
                        dry_run=dry_run,
                        max_deactivate=0 if deactivate else None,
                    )
                except PeopleImportError as exc:
                    errors = exc.errors
                else:
                    self._report(request, result)
                    if not dry_run:
                        return redirect("admin:sam_saas_person_changelist")
                    form = PeopleImportForm()
        else:
            form = PeopleImportForm()
        return self._render(request, "admin/sam_saas/person/import.html", form=form, errors=errors)

    def _render(self, request, template, **context):
        context = {
            **self.admin_site.each_context(request),
            "title": "Import people (CSV)",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "columns": ",".join(COLUMNS),
            "column_docs": [
                {"name": name, "required": required, "meaning": meaning, "example": examples[1]}
                for name, required, meaning, examples in COLUMN_DOCS
            ],
            **context,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, template, context)

    def _report(self, request, result) -> None:
        for warning in result.warnings:
            messages.warning(request, warning)
        summary = " ".join(p for p in (result.summary(), result.who()) if p)
        if result.run is not None:
            url = reverse("admin:sam_saas_jobrun_change", args=[result.run.pk])
            messages.success(
                request,
                format_html('{} <a href="{}">Job result #{}</a>', summary, url, result.run.pk),
            )
        else:
            messages.success(request, summary)
        if result.rules is not None:
            messages.info(request, result.rules.summary())

    def _ask_to_confirm(self, request, data: bytes, preview, error: str = ""):
        """Keep the file in the session (signed, server-side) and list who would go."""
        token = uuid.uuid4().hex
        request.session[PENDING] = {
            "token": token,
            "data": base64.b64encode(data).decode(),
            "count": preview.deactivated,
            "active": preview.active_before,
        }
        return self._confirmation_page(
            request, token, preview.deactivated_people, preview.active_before, error
        )

    def _confirmation_page(self, request, token, emails, active, error=""):
        people = list(
            Person.objects.filter(email__in=emails).order_by("email").values_list("email", "name")
        )
        count = len(emails)
        return self._render(
            request,
            "admin/sam_saas/person/confirm_deactivation.html",
            token=token,
            count=count,
            active=active,
            share=f"{100 * count / active:.0f}" if active else "0",
            people=people,
            needs_typing=needs_typed_confirmation(count, active),
            error=error,
        )

    def _confirm_deactivation(self, request):
        pending = request.session.get(PENDING) or {}
        if not pending or pending.get("token") != request.POST.get("token"):
            messages.error(request, "This confirmation has expired; upload the file again.")
            return redirect("admin:sam_saas_person_import")
        count, active = int(pending["count"]), int(pending["active"])
        data = base64.b64decode(pending["data"])
        if needs_typed_confirmation(count, active) and (
            request.POST.get("typed_count", "").strip() != str(count)
        ):
            preview = import_people(data, deactivate_missing=True, dry_run=True)
            return self._confirmation_page(
                request,
                pending["token"],
                preview.deactivated_people,
                preview.active_before,
                error=f"Type {count} to confirm deactivating {count} people.",
            )
        try:
            result = import_people(data, deactivate_missing=True, max_deactivate=count)
        except PeopleImportError as exc:
            request.session.pop(PENDING, None)
            return self._render(
                request,
                "admin/sam_saas/person/import.html",
                form=PeopleImportForm(),
                errors=exc.errors,
            )
        request.session.pop(PENDING, None)
        self._report(request, result)
        return redirect("admin:sam_saas_person_changelist")
