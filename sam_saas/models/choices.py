"""Enumerations shared by the domain models. (The providers are not one: they are the installed
connectors', ``sam_saas.providers``.)"""

from django.db import models


class Process(models.TextChoices):
    """A profile's three processes, as ServiceNow names them. Download is always on; the other
    two are toggled on the profile. Validation checks each enabled one against the vendor."""

    DOWNLOAD = "download", "Download subscriptions"
    ACTIVITY = "activity", "Pull user activity"
    RECLAIM = "reclaim", "Reclaim subscriptions"
