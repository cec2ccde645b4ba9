"""Admin for connection aliases, with write-only secrets.

No page shows a stored secret or its ciphertext: the form renders empty password inputs and
"set"/"not set"; read-only (view permission) pages show the same state; change messages in
the history name the secret that changed, never its value.
"""

from django.contrib import admin
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from ..connectors import ConnectorError, get_connector
from ..models import ConnectionAlias
from .forms import ConnectionAliasAdminForm, clear_field_name


def _secret_state_display(name: str, label: str):
    @admin.display(description=label)
    def display(self, obj):
        return "set" if getattr(obj, name) else "not set"

    display.__name__ = f"{name}_state"
    return display


@admin.register(ConnectionAlias)
class ConnectionAliasAdmin(admin.ModelAdmin):
    form = ConnectionAliasAdminForm
    list_display = (
        "name",
        "parent",
        "provider",
        "auth_type",
        "connection_status",
        "token_expires_at",
        "last_validated_at",
    )
    list_filter = ("provider", "auth_type", "connection_status")
    list_select_related = ("parent",)
    search_fields = ("name", "client_id", "account_uri")
    autocomplete_fields = ("parent",)
    readonly_fields = (
        "child_aliases",
        "connection_status",
        "status_message",
        "scopes",
        "account_uri",
        "token_expires_at",
        "last_validated_at",
        "created_at",
        "updated_at",
    )

    client_secret_state = _secret_state_display("client_secret", "client secret")
    access_token_state = _secret_state_display("access_token", "access token")
    refresh_token_state = _secret_state_display("refresh_token", "refresh token")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        alias = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if alias is not None and alias.auth_type == ConnectionAlias.AuthType.OAUTH2:
            try:
                connector = get_connector(alias.provider)
            except ConnectorError:
                connector = None
            if connector is not None:
                if alias.parent_id is None:
                    extra["oauth_redirect_url"] = connector.oauth_redirect_url(request)
                profile = alias.profiles.first()
                if profile is not None and self.has_change_permission(request, alias):
                    extra["connect_url"] = connector.connect_url(profile)
                    extra["provider_label"] = alias.get_provider_display()
        return super().change_view(request, object_id, form_url, extra)

    def _credential_fields(self, editable: bool) -> tuple[str, ...]:
        fields = ["client_id"]
        for name in ConnectionAlias.SECRET_FIELDS:
            fields += [name, clear_field_name(name)] if editable else [f"{name}_state"]
        return (*fields, "token_expires_at")

    def get_fieldsets(self, request, obj=None):
        # A view-only user sees every field read-only; the secrets must then be the
        # "set"/"not set" displays, never the model attributes (which hold the plaintext).
        editable = obj is None or self.has_change_permission(request, obj)
        children = (
            (("Child aliases", {"fields": ("child_aliases",)}),)
            if obj is not None and obj.parent_id is None
            else ()
        )
        return (
            (None, {"fields": ("name", "parent", "provider", "auth_type")}),
            (
                "Endpoints",
                {
                    "fields": ("api_base_url", "auth_base_url"),
                    "description": "Leave empty for the vendor's defaults (or the parent's).",
                },
            ),
            ("Credentials", {"fields": self._credential_fields(editable)}),
            (
                "Connection status",
                {
                    "fields": (
                        "connection_status",
                        "status_message",
                        "scopes",
                        "account_uri",
                        "last_validated_at",
                        "created_at",
                        "updated_at",
                    )
                },
            ),
            *children,
        )

    @admin.display(description="child aliases")
    def child_aliases(self, obj):
        """A parent alias (one vendor app) serves several profiles through its children, each
        with its own tokens: list them with their status and the profile each serves."""
        children = list(obj.children.order_by("name").prefetch_related("profiles"))
        if not children:
            return "None yet: add an alias with this one as its parent for each organization."
        rows = format_html_join(
            "",
            '<li><a href="{}">{}</a> — {}{}</li>',
            (
                (
                    reverse("admin:sam_saas_connectionalias_change", args=[child.pk]),
                    child.name,
                    child.get_connection_status_display(),
                    format_html(", profile {}", ", ".join(p.name for p in child.profiles.all()))
                    if child.profiles.all()
                    else "",
                )
                for child in children
            ),
        )
        changelist = reverse("admin:sam_saas_connectionalias_changelist")
        return format_html(
            '<p>{} child aliases</p><ul id="child-aliases">{}</ul><a href="{}">As a list</a>',
            len(children),
            rows,
            f"{changelist}?parent__id__exact={obj.pk}",
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description="granted scopes")
    def scopes(self, obj):
        return ", ".join(obj.granted_scopes or []) or "-"

    def construct_change_message(self, request, form, formsets, add=False):
        """Django's message lists changed field *labels* only; keep it that way for secrets
        and say whether a secret was replaced or cleared. As a last guard, drop any message
        that would contain a secret value."""
        message = super().construct_change_message(request, form, formsets, add)
        if not add and hasattr(form, "secret_changes"):
            labels = [
                f"{form.fields[name].label} ({change})"
                for name, change in form.secret_changes().items()
            ]
            secret_labels = {form.fields[n].label for n in ConnectionAlias.SECRET_FIELDS} | {
                form.fields[clear_field_name(n)].label for n in ConnectionAlias.SECRET_FIELDS
            }
            for entry in message:
                fields = entry.get("changed", {}).get("fields")
                if fields is not None:
                    entry["changed"]["fields"] = [
                        f for f in fields if f not in secret_labels
                    ] + labels
        secrets = [
            str(form.cleaned_data.get(n) or "").strip() for n in ConnectionAlias.SECRET_FIELDS
        ] + [str(getattr(form.instance, n, "") or "") for n in ConnectionAlias.SECRET_FIELDS]
        if any(s and s in str(message) for s in secrets):
            return [{"changed": {"fields": ["Credentials"]}}]
        return message
