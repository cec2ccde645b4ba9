"""``/reports/<name>.csv``: a report, filtered by its FilterSet, streamed as CSV.

Login and the model's view permission are required (``admin_view`` sends anonymous users to
the admin login). An invalid or unknown filter gives 400 with the error, never an unfiltered
export. ``?bom=1`` starts the file with a byte-order mark for Excel ("CSV for Excel");
``bom=0`` or none is plain UTF-8 ("CSV (UTF-8)"), the default for automation here. The admin's
"Export CSV" button defaults to the Excel file instead (``sam_saas.admin.export``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.template.response import TemplateResponse

from ..forbidden import MissingPermission
from . import registry

TRUE_VALUES = ("1", "true", "yes")
FALSE_VALUES = ("0", "false", "no")


def wants_bom(params, default: bool = False) -> bool:
    """The ``bom`` parameter: a byte-order mark, which Excel needs to read UTF-8 (without one
    it shows "Ã…sa HernÃ¡ndez" for "Åsa Hernández")."""
    value = str(params.get("bom", "")).strip().lower()
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    return default


def csv_response(report: registry.Report, queryset, *, bom: bool = False):
    """The one response every way in over HTTP returns: the admin's button and the URL."""
    response = StreamingHttpResponse(
        report.stream(queryset, bom=bom), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{report.filename()}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _report_or_404(name: str) -> registry.Report:
    try:
        return registry.get(name)
    except KeyError:
        raise Http404(f"No report called {name!r}.") from None


def report_csv(request, name: str):
    report = _report_or_404(name)
    if not report.has_permission(request.user):
        raise MissingPermission(*report.permissions)
    try:
        queryset = report.filter(request.GET, request=request)
    except registry.ReportFilterError as exc:
        return HttpResponseBadRequest(
            f"Invalid filter for the {report.name} report:\n{exc.text()}\n",
            content_type="text/plain; charset=utf-8",
        )
    return csv_response(report, queryset, bom=wants_bom(request.GET))


def report_index(request):
    """A form per report this user may export; submitting one downloads its CSV."""
    from .forms import report_form

    reports = [
        {"report": report, "form": report_form(report)}
        for report in registry.all_reports().values()
        if report.has_permission(request.user)
    ]
    context = {
        **admin.site.each_context(request),
        "title": "CSV reports",
        "reports": reports,
    }
    return TemplateResponse(request, "sam_saas/reports/index.html", context)


report_csv_view = admin.site.admin_view(report_csv)
report_index_view = admin.site.admin_view(report_index)
