"""The "Export CSV" button of a changelist: exactly the rows of the list on screen.

``ExportCsvMixin`` adds ``<changelist>/export.csv`` to a ModelAdmin. The view builds the
changelist the ModelAdmin itself would build for the same query string
(``get_changelist_instance(request).get_queryset(request)``: its filters, search, ordering and
row scoping) and streams it through the report named by ``export_report``: the same code path
as ``/reports/<name>.csv`` and ``manage.py export_report``.

Two buttons: "CSV for Excel" (UTF-8 with a byte-order mark, the default: Excel reads a file
without one as Windows-1252 and mangles every accent) and "CSV (UTF-8)" for other tools.

The buttons are added to whatever changelist template the ModelAdmin uses (its own or Django's),
by rendering ``sam_saas/admin/export_change_list.html``, which extends that template and adds
one item to its object tools.
"""

from __future__ import annotations

from django.contrib.admin.options import IncorrectLookupParameters
from django.http import HttpResponseBadRequest
from django.template.loader import select_template
from django.template.response import TemplateResponse
from django.urls import path, reverse

from ..forbidden import MissingPermission
from ..reports import registry
from ..reports.views import csv_response, wants_bom

EXPORT_TEMPLATE = "sam_saas/admin/export_change_list.html"


class ExportCsvMixin:
    """Mix into a ModelAdmin (before ``admin.ModelAdmin``) and set ``export_report``."""

    export_report: str = ""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_csv_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_csv_url(self, request, *, bom: bool = True) -> str:
        """The export of the list on screen: "CSV for Excel" (UTF-8 with a byte-order mark)
        by default, "CSV (UTF-8)" with ``bom=False``."""
        info = self.opts.app_label, self.opts.model_name
        url = reverse("admin:{}_{}_export".format(*info), current_app=self.admin_site.name)
        params = request.GET.copy()
        params.pop("bom", None)
        if not bom:
            params["bom"] = "0"
        query = params.urlencode()
        return f"{url}?{query}" if query else url

    def export_csv_view(self, request):
        if not self.has_view_or_change_permission(request):
            opts = self.opts
            raise MissingPermission(
                f"{opts.app_label}.view_{opts.model_name}",
                f"{opts.app_label}.change_{opts.model_name}",
            )
        report = registry.get(self.export_report)
        bom = wants_bom(request.GET, default=True)  # "CSV for Excel" unless bom=0
        params = request.GET.copy()
        params.pop("bom", None)
        request.GET = params  # the changelist rejects parameters it does not know
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            return HttpResponseBadRequest(
                f"Invalid filter: {exc or 'a filter value is not valid'}\n",
                content_type="text/plain; charset=utf-8",
            )
        return csv_response(report, changelist.get_queryset(request), bom=bom)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if isinstance(response, TemplateResponse) and context and "cl" in context:
            base = response.template_name
            names = [base] if isinstance(base, str) else list(base)
            context["export_base_template"] = select_template(names)
            context["export_csv_url"] = self.export_csv_url(request)
            context["export_utf8_url"] = self.export_csv_url(request, bom=False)
            # Wide worklists give the navigation sidebar's width to their columns.
            context["collapse_nav_sidebar"] = getattr(self, "collapse_nav_sidebar", False)
            response.template_name = EXPORT_TEMPLATE
        return response
