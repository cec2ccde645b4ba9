"""Enumerations shared by the domain models."""

from django.db import models


class Provider(models.TextChoices):
    """SaaS vendors with a connector. Adding a vendor adds a value here and a connector app
    (docs/connectors.md); the domain code itself stays vendor-neutral."""

    CALENDLY = "calendly", "Calendly"
