"""The ``/reports/`` page's forms: one per report, built from the report's FilterSet, so the
page can never offer a filter the CSV endpoint does not accept (or miss one it does).

The fields carry the labels the admin's lists use (``ReportFilterSet.labels``; choices show
"Awaiting Approval", not ``awaiting_approval``). Submitting a form is a GET of the report's CSV
URL, so the URL the browser downloads is the URL an automation would call; the page shows it
as the form is filled in (``static/sam_saas/reports.js`` drops the empty fields).
"""

from __future__ import annotations

from django import forms

from .filters import StrictBooleanField

# The two CSV formats every export offers: (bom parameter, label); ``views.wants_bom`` reads it.
FORMATS = (("1", "CSV for Excel"), ("0", "CSV (UTF-8)"))

# Up to this many choices are shown as checkboxes; more as a multiple select.
CHECKBOX_LIMIT = 12


class YesNoSelect(forms.Select):
    def __init__(self, attrs=None):
        super().__init__(attrs, choices=(("", "any"), ("true", "yes"), ("false", "no")))


def _adapt(field: forms.Field) -> None:
    """Widgets a person can use: checkboxes, yes/no, date pickers."""
    raw = getattr(getattr(field, "choices", None), "choices", None)
    if callable(raw):  # django-filter keeps callable choices (job kinds) unresolved
        field.choices = list(raw())
    if isinstance(field, StrictBooleanField):
        field.widget = YesNoSelect()
    elif isinstance(field, forms.ModelMultipleChoiceField):
        field.widget = forms.SelectMultiple(attrs={"size": 4})
        field.widget.choices = field.choices
    elif isinstance(field, forms.MultipleChoiceField):
        if len(field.choices) <= CHECKBOX_LIMIT:
            field.widget = forms.CheckboxSelectMultiple()
            field.widget.choices = field.choices
    elif isinstance(field, forms.DateField) and not isinstance(field, forms.DateTimeField):
        field.widget = forms.DateInput(attrs={"type": "date"})
    elif isinstance(field, forms.DateTimeField):
        field.widget = forms.TextInput(attrs={"placeholder": "2026-01-31T00:00:00Z"})
    elif isinstance(field, forms.IntegerField):
        field.widget = forms.NumberInput(attrs={"min": 0, "class": "vIntegerField"})
    elif isinstance(field, forms.CharField):
        field.widget = forms.TextInput(attrs={"class": "vTextField"})


def report_form(report, data=None) -> forms.Form:
    """The filter form of ``report``, with a "Format" field (CSV for Excel or plain UTF-8)."""
    filterset = report.filterset()(queryset=report.model._default_manager.none())
    form = filterset.get_form_class()(data, auto_id=f"id_{report.name}_%s")
    for field in form.fields.values():
        _adapt(field)
    form.fields["bom"] = forms.ChoiceField(
        label="Format",
        choices=FORMATS,
        initial=FORMATS[0][0],
        required=False,
        help_text="CSV for Excel is UTF-8 with a byte-order mark, so Excel keeps accents; "
        "CSV (UTF-8) is for scripts and other tools.",
    )
    return form
