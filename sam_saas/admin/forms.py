"""Forms used by the sam_saas admin.

Secrets are write-only: the connection alias form never puts a stored secret (or its
ciphertext) into a widget, an initial value or an error message. An empty input keeps the
stored value; a "clear" checkbox erases it. Only "set" / "not set" is ever shown.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.db import models

from ..models import ConnectionAlias, SoftwareModel

SECRET_HELP_TEXT = "Stored encrypted. Leave empty to keep the current value."


class SecretField(forms.CharField):
    """A password input that never renders a value back, optional, not stripped (a token is
    taken exactly as pasted, minus surrounding whitespace on save)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        # autocomplete="new-password": browsers must not fill in the admin's own saved login.
        kwargs.setdefault(
            "widget",
            forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        kwargs.setdefault("help_text", SECRET_HELP_TEXT)
        super().__init__(**kwargs)


def _formfield(db_field, **kwargs):
    # Vendor endpoints are HTTPS; also silences Django 5.x's "http" default deprecation.
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


def clear_field_name(secret_name: str) -> str:
    return f"clear_{secret_name}"


class ConnectionAliasAdminForm(forms.ModelForm):
    """The alias form with write-only secrets.

    The secret model fields are *excluded* from the ModelForm, so Django never copies the
    stored plaintext into ``form.initial`` (where a widget, a ``show_hidden_initial`` input or
    ``has_changed()`` could reach it). The declared fields of the same name are plain inputs;
    ``save()`` writes them to the instance only when something was entered or cleared."""

    client_secret = SecretField(label="Client secret")
    clear_client_secret = forms.BooleanField(required=False, label="Clear the stored client secret")
    access_token = SecretField(label="Access token")
    clear_access_token = forms.BooleanField(required=False, label="Clear the stored access token")
    refresh_token = SecretField(label="Refresh token")
    clear_refresh_token = forms.BooleanField(required=False, label="Clear the stored refresh token")

    class Meta:
        model = ConnectionAlias
        # ``exclude``, not ``fields``: the admin passes its own ``fields`` (from the fieldsets,
        # which name the secret inputs), and only an exclusion keeps the model's secret
        # columns out of ``initial`` and out of ``construct_instance``.
        exclude = ConnectionAlias.SECRET_FIELDS  # noqa: DJ006
        formfield_callback = _formfield

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ConnectionAlias.SECRET_FIELDS:
            if name not in self.fields:
                continue
            state = "set" if self.secret_is_set(name) else "not set"
            self.fields[name].help_text = f"{SECRET_HELP_TEXT} Currently: {state}."
            # Never let a posted value come back in a re-rendered form either.
            self.fields[name].widget.render_value = False

    def secret_is_set(self, name: str) -> bool:
        return bool(self.instance.pk and getattr(self.instance, name))

    def clean(self):
        cleaned = super().clean()
        for name in ConnectionAlias.SECRET_FIELDS:
            if cleaned.get(name) and cleaned.get(clear_field_name(name)):
                self.add_error(
                    clear_field_name(name),
                    ValidationError(
                        "Enter a new value or clear the stored one, not both.", code="conflict"
                    ),
                )
        return cleaned

    def secret_changes(self) -> dict[str, str]:
        """``{field name: "replaced" | "cleared"}`` for the secrets this form changes."""
        changes = {}
        for name in ConnectionAlias.SECRET_FIELDS:
            if name not in self.fields:
                continue
            if self.cleaned_data.get(clear_field_name(name)):
                changes[name] = "cleared"
            elif (self.cleaned_data.get(name) or "").strip():
                changes[name] = "replaced"
        return changes

    def _apply_secrets(self):
        for name, change in self.secret_changes().items():
            value = "" if change == "cleared" else self.cleaned_data[name].strip()
            setattr(self.instance, name, value)

    def save(self, commit=True):
        self._apply_secrets()
        return super().save(commit=commit)


class MapToSoftwareModelForm(forms.Form):
    """The intermediate page of the "Map to software model…" admin action: an existing model,
    or a new one typed in (publisher, product, edition), created and then mapped to."""

    software_model = forms.ModelChoiceField(
        queryset=SoftwareModel.objects.select_related("publisher"),
        required=False,
        help_text="Every subscription carrying the selected identifiers is re-pointed to it.",
    )
    new_publisher = forms.CharField(
        label="or a new model: publisher", max_length=200, required=False
    )
    new_product = forms.CharField(label="product", max_length=200, required=False)
    new_edition = forms.CharField(
        label="edition", max_length=200, required=False, help_text="Empty for none."
    )

    def __init__(self, *args, may_create: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.may_create = may_create
        if not may_create:
            for name in ("new_publisher", "new_product", "new_edition"):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        existing = data.get("software_model")
        typed = [data.get(n, "").strip() for n in ("new_publisher", "new_product", "new_edition")]
        if existing and any(typed):
            raise forms.ValidationError(
                "Choose an existing software model or type a new one, not both."
            )
        if not existing:
            if not self.may_create:
                raise forms.ValidationError("Choose a software model.")
            if not (typed[0] and typed[1]):
                raise forms.ValidationError(
                    "Choose an existing software model, or type at least a publisher and a "
                    "product for a new one."
                )
        return data


class PeopleImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (with or without a byte-order mark); commas, semicolons or tabs.",
    )
    deactivate_missing = forms.BooleanField(
        required=False,
        label="Deactivate people missing from the file",
        help_text="Marks them inactive (leavers). Nobody is ever deleted.",
    )
    dry_run = forms.BooleanField(
        required=False,
        label="Check only (dry run)",
        help_text="Validate the file and show what would change, without saving anything.",
    )
