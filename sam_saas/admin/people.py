"""Admin for the company directory, with the CSV import page."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from ..models import Person
from ..services.people_import import COLUMNS, PeopleImportError, import_people
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
            *super().get_urls(),
        ]

    @staticmethod
    def can_import(request) -> bool:
        return request.user.has_perms(IMPORT_PERMISSIONS)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_people": self.can_import(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request):
        """Upload a directory CSV; same service as ``manage.py import_people``."""
        if not self.can_import(request):
            raise PermissionDenied
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
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/sam_saas/person/import.html", context)
