"""The Calendly connector: the three processes behind the vendor-neutral registry.

The modules it delegates to raise Calendly's own errors (``errors.py``); the connector base
turns whatever escapes into a ConnectorError with its hint, in one place."""

from __future__ import annotations

from django.db.models import Case, CharField, Value, When

from sam_saas.connectors import BaseConnector, ConnectionCheck, ReclaimOutcome
from sam_saas.models import IntegrationProfile, JobRun, SoftwareSubscription

from . import activity, connection, download, endpoints, reclaim, validation
from .constants import PROVIDER, PUBLISHER
from .errors import CalendlyError


class CalendlyConnector(BaseConnector):
    provider = PROVIDER
    label = PUBLISHER
    reclaim_effect_text = reclaim.EFFECT_TEXT
    vendor_errors = (CalendlyError,)

    def validate_connection(self, profile: IntegrationProfile) -> ConnectionCheck:
        return connection.validate(profile)

    def check_processes(self, profile: IntegrationProfile, processes: list[str]) -> ConnectionCheck:
        return validation.check_processes(profile, processes)

    def download_subscriptions(self, profile: IntegrationProfile, run: JobRun) -> None:
        download.download_subscriptions(profile, run)

    def pull_activity(self, profile: IntegrationProfile, run: JobRun) -> None:
        activity.pull_activity(profile, run)

    def latest_activity(self, subscription: SoftwareSubscription):
        return activity.latest_activity(subscription)

    def reclaim_subscription(self, subscription: SoftwareSubscription) -> ReclaimOutcome:
        return reclaim.reclaim_subscription(subscription)

    def protection_reason(self, subscription: SoftwareSubscription) -> str:
        return download.protection_reason(
            subscription.role,
            subscription.external_user_id,
            subscription.profile.alias.account_uri,
        )

    def protection_expression(self, profile: IntegrationProfile):
        """``download.protection_reason`` over stored seats, as SQL: the owner, else the
        connection's own account (``tests/sam_saas/test_rules.py`` checks both agree)."""
        whens = [When(role="owner", then=Value(download.OWNER_REASON))]
        account = profile.alias.account_uri
        if account:
            whens.append(When(external_user_id=account, then=Value(download.SELF_REASON)))
        return Case(*whens, default=Value(""), output_field=CharField())

    def endpoint_problem(self, url: str) -> str:
        """Why an alias must not point at ``url`` ("" when it may): CALENDLY_ALLOWED_HOSTS."""
        return endpoints.endpoint_problem(url)

    def connect_url(self, profile: IntegrationProfile) -> str | None:
        """Where "Connect to Calendly" starts the OAuth flow; None for personal tokens."""
        from django.urls import reverse

        from sam_saas.models import ConnectionAlias

        if profile.alias.auth_type != ConnectionAlias.AuthType.OAUTH2:
            return None
        return reverse("calendly:connect-profile", args=[profile.pk])

    def oauth_redirect_url(self, request) -> str:
        """The callback URL to register in Calendly's developer portal."""
        from .connect import redirect_uri

        return redirect_uri(request)
