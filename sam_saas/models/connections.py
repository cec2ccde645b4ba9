"""Connection aliases: where a profile's connection and credentials live."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .. import providers
from ..fields import EncryptedTextField


class ConnectionAlias(models.Model):
    """Endpoint and credentials of one vendor connection.

    A *parent* alias holds a vendor OAuth app (client id and secret). Its *child* aliases each
    hold the tokens of one vendor organization, so one app can serve several profiles. A
    personal-access-token alias stands alone. Secrets are encrypted at rest and write-only in
    the admin."""

    class AuthType(models.TextChoices):
        OAUTH2 = "oauth2", "OAuth 2.0"
        PERSONAL_TOKEN = "personal_token", "Personal access token"

    class ConnectionStatus(models.TextChoices):
        NOT_CONNECTED = "not_connected", "Not connected"
        CONNECTED = "connected", "Connected"
        RECONNECT_REQUIRED = "reconnect_required", "Reconnect required"

    name = models.CharField(max_length=120, unique=True)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        limit_choices_to={"parent__isnull": True},
        help_text="A child alias inherits the parent's OAuth app and endpoints.",
    )
    # The installed connectors' providers (``sam_saas.providers``): a callable, so a new
    # vendor app needs no migration of the core.
    provider = providers.ProviderField()
    api_base_url = models.URLField(blank=True, help_text="Empty: the vendor's default API URL.")
    auth_base_url = models.URLField(
        blank=True, help_text="Empty: the vendor's default authorization server."
    )
    auth_type = models.CharField(
        max_length=20, choices=AuthType.choices, default=AuthType.PERSONAL_TOKEN
    )
    client_id = models.CharField(max_length=200, blank=True)
    client_secret = EncryptedTextField()
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    token_expires_at = models.DateTimeField(null=True, blank=True)
    connection_status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.NOT_CONNECTED
    )
    status_message = models.TextField(
        blank=True, help_text="Why the connection is in its status, with a hint at the fix."
    )
    granted_scopes = models.JSONField(default=list, blank=True)
    account_uri = models.CharField(
        max_length=300, blank=True, help_text="The vendor account the credentials act as."
    )
    last_validated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = ("client_secret", "access_token", "refresh_token")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "connection aliases"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(parent=models.F("id")),
                name="%(app_label)s_%(class)s_parent_not_self",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        if self.parent_id:
            if self.parent_id == self.pk:
                raise ValidationError({"parent": "An alias cannot be its own parent."})
            if self.parent.parent_id:
                raise ValidationError(
                    {"parent": "A parent alias has no parent: choose a top-level alias."}
                )
            if self.pk and self.children.exists():
                raise ValidationError(
                    {"parent": "This alias has children, so it cannot become a child itself."}
                )
            if self.parent.provider != self.provider:
                raise ValidationError({"parent": "The parent alias is for another provider."})

    def save(self, *args, **kwargs):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError("A parent alias has no parent.")
        super().save(*args, **kwargs)

    @property
    def oauth_app(self) -> "ConnectionAlias":
        """The alias holding the OAuth client credentials: the parent when there is one."""
        return self.parent if self.parent_id else self

    def effective_api_base_url(self, default: str) -> str:
        return self.api_base_url or (self.parent.api_base_url if self.parent_id else "") or default

    def effective_auth_base_url(self, default: str) -> str:
        return (
            self.auth_base_url or (self.parent.auth_base_url if self.parent_id else "") or default
        )

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_token)
