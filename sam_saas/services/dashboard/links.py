"""Changelist links for the dashboard: every tile, bar and row links to the list that shows
exactly what it counts, with the same conditions."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse


class Links:
    """Changelist URLs with filters, or None when the user may not view the model."""

    def __init__(self, user):
        self.user = user

    def changelist(self, app_label: str, model_name: str, **params) -> str | None:
        if not (
            self.user.has_perm(f"{app_label}.view_{model_name}")
            or self.user.has_perm(f"{app_label}.change_{model_name}")
        ):
            return None
        url = reverse(f"admin:{app_label}_{model_name}_changelist")
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{url}?{query}" if query else url

    def subscriptions(self, **params):
        return self.changelist("sam_saas", "softwaresubscription", **params)

    def stale_seats(self, **params):
        """The list of stale seats: the same conditions as ``SubscriptionQuerySet.stale()``."""
        return self.subscriptions(
            status__exact="active", excluded_from_cost__exact="0", activity="stale", **params
        )
