"""Enumerations shared by the domain models."""

from django.db import models


class Provider(models.TextChoices):
    """SaaS vendors with a connector. Adding a vendor adds a value here and a connector app
    (docs/connectors.md); the domain code itself stays vendor-neutral."""

    CALENDLY = "calendly", "Calendly"


class Process(models.TextChoices):
    """A profile's three processes, as ServiceNow names them. Download is always on; the other
    two are toggled on the profile. Validation checks each enabled one against the vendor."""

    DOWNLOAD = "download", "Download subscriptions"
    ACTIVITY = "activity", "Pull user activity"
    RECLAIM = "reclaim", "Reclaim subscriptions"
