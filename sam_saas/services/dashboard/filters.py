"""The dashboard's form: the right-sizing headroom and the filters (profile, software model,
publisher). The same fields work typed into the URL (``?headroom=15&profile=3``), so a
filtered overview can be bookmarked or shared."""

from __future__ import annotations

from django import forms

from ...models import IntegrationProfile, Publisher, SoftwareModel
from ..positions import EVERYTHING, Scope


class SoftwareModelChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class DashboardForm(forms.Form):
    headroom = forms.IntegerField(
        label="Headroom %",
        min_value=0,
        max_value=100,
        required=False,
        help_text="Added to the seats in use when recommending a renewal's seat count.",
        widget=forms.NumberInput(attrs={"style": "width:5em"}),
        error_messages={
            "invalid": "headroom must be a whole percentage from 0 to 100.",
            "min_value": "headroom must be a whole percentage from 0 to 100.",
            "max_value": "headroom must be a whole percentage from 0 to 100.",
        },
    )
    profile = forms.ModelChoiceField(
        IntegrationProfile.objects.order_by("name"), required=False, empty_label="All profiles"
    )
    software_model = SoftwareModelChoice(
        SoftwareModel.objects.select_related("publisher").order_by("product", "edition"),
        required=False,
        empty_label="All software models",
        label="Software model",
    )
    publisher = forms.ModelChoiceField(
        Publisher.objects.order_by("name"), required=False, empty_label="All publishers"
    )

    def scope(self) -> Scope:
        """The filters as a position scope (call after ``is_valid()``)."""
        data = self.cleaned_data
        profile, model, publisher = (
            data.get("profile"),
            data.get("software_model"),
            data.get("publisher"),
        )
        if not (profile or model or publisher):
            return EVERYTHING
        model_ids = None
        if model is not None or publisher is not None:
            models = SoftwareModel.objects.all()
            if model is not None:
                models = models.filter(pk=model.pk)
            if publisher is not None:
                models = models.filter(publisher=publisher)
            model_ids = frozenset(models.values_list("pk", flat=True))
        return Scope(profile_id=profile.pk if profile else None, software_model_ids=model_ids)

    @property
    def filtered(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return any(data.get(name) for name in ("profile", "software_model", "publisher"))
