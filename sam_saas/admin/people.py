"""Admin for the company directory, with the CSV import page."""

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from ..forbidden import MissingPermission
from ..models import Person
from ..reports.csv_stream import BOM
from ..services.people_import import (
    COLUMN_DOCS,
    COLUMNS,
    PeopleImportError,
    example_csv,
    import_people,
)
from .export import ExportCsvMixin
from .forms import PeopleImportForm

IMPORT_PERMISSIONS = ("sam_saas.add_person", "sam_saas.change_person")


@admin.register(Person)
class PersonAdmin(ExportCsvMixin, admin.ModelAdmin):
    export_report = "people"
    change_list_template = "admin/sam_saas/person/change_list.html"
    list_display = ("email", "name", "department", "cost_center", "manager", "active")
    list_filter = ("active", "department", "cost_center")
    list_select_related = ("manager",)
    search_fields = ("email", "name", "department", "cost_center")
    autocomplete_fields = ("manager",)
    show_full_result_count = False
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
        """Upload a directory CSV; same service as ``manage.py import_people``."""
        if not self.can_import(request):
            raise MissingPermission(*IMPORT_PERMISSIONS, every=True)
        errors: list[str] = []
        if request.method == "POST":
            form = PeopleImportForm(request.POST, request.FILES)
            if form.is_valid():
                dry_run = form.cleaned_data["dry_run"]
                try:
                    result = import_people(
                        form.cleaned_data["file"],
                        deactivate_missing=form.cleaned_data["deactivate_missing"],
                        dry_run=dry_run,
                    )
                except PeopleImportError as exc:
                    errors = exc.errors
                else:
                    for warning in result.warnings:
                        messages.warning(request, warning)
                    messages.success(request, result.summary())
                    if result.rules is not None:
                        messages.info(request, result.rules.summary())
                    if not dry_run:
                        return redirect("admin:sam_saas_person_changelist")
                    form = PeopleImportForm()
        else:
            form = PeopleImportForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Import people (CSV)",
            "opts": self.opts,
            "app_label": self.opts.app_label,
            "form": form,
            "errors": errors,
            "columns": ",".join(COLUMNS),
            "column_docs": [
                {"name": name, "required": required, "meaning": meaning, "example": examples[1]}
                for name, required, meaning, examples in COLUMN_DOCS
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sam_saas/person/import.html", context)
