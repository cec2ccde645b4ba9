"""Validate connection: a vendor-neutral wrapper that records the connector's verdict."""

from __future__ import annotations

from django.utils import timezone

from ..connectors import ConnectionCheck, ConnectorError
from ..models import ConnectionAlias, IntegrationProfile, JobRun


def record_check(profile: IntegrationProfile, check: ConnectionCheck, run: JobRun | None = None):
    """Store a connector's verdict on the alias and profile; raise when it is negative. Shared
    by the "Validate connection" action and every refresh, which validates first."""
    now = timezone.now()
    alias = profile.alias
    if check.ok:
        ConnectionAlias.objects.filter(pk=alias.pk).update(
            connection_status=ConnectionAlias.ConnectionStatus.CONNECTED,
            granted_scopes=check.scopes,
            last_validated_at=now,
            account_uri=check.account,
            status_message="; ".join(check.warnings),
        )
        IntegrationProfile.objects.filter(pk=profile.pk).update(
            organization_uri=check.organization_uri,
            organization_name=check.organization_name,
            organization_plan=check.plan,
        )
        profile.organization_uri = check.organization_uri
        profile.organization_name = check.organization_name
        profile.organization_plan = check.plan
        if run is not None and check.warnings:
            run.warnings = [*run.warnings, *check.warnings]
        return check
    ConnectionAlias.objects.filter(pk=alias.pk).update(
        last_validated_at=now, status_message=f"{check.message} {check.hint}".strip()
    )
    raise ConnectorError(check.message, hint=check.hint)
