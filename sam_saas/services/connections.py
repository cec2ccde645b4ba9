"""Validate connection: a vendor-neutral wrapper that records the connector's verdict."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from ..connectors import ConnectionCheck, ConnectorError
from ..models import ConnectionAlias, IntegrationProfile, JobRun

ORGANIZATION_CHECK = "organization"  # the ProcessCheck key of "one organization, one profile"


class OrganizationTaken(ConnectorError):
    """The credentials reach a vendor organization another profile already holds. Counting
    it twice would double its seats in the licence position, the true-up and the renewal
    advice, so it is refused, naming the profile that holds it."""

    def __init__(self, holder: IntegrationProfile, organization: str):
        self.holder = holder
        super().__init__(
            f"This organization ({organization}) is already connected by the profile "
            f"“{holder.name}”: one organization, one profile.",
            hint=f"Use the profile “{holder.name}”, or connect credentials of another "
            "organization.",
        )


def organization_holder(profile: IntegrationProfile, organization_uri: str):
    """The other profile that holds ``organization_uri`` at the same vendor, or None."""
    if not organization_uri:
        return None
    return (
        IntegrationProfile.objects.filter(
            provider=profile.provider, organization_uri=organization_uri
        )
        .exclude(pk=profile.pk)
        .order_by("pk")
        .first()
    )


def refuse_taken_organization(profile: IntegrationProfile, check: ConnectionCheck) -> None:
    """Raise :class:`OrganizationTaken` when another profile holds ``check``'s organization."""
    holder = organization_holder(profile, check.organization_uri)
    if holder is not None:
        raise OrganizationTaken(holder, check.organization_name or check.organization_uri)


def record_check(profile: IntegrationProfile, check: ConnectionCheck, run: JobRun | None = None):
    """Store a connector's verdict on the alias and profile; raise when it is negative. Shared
    by the "Validate connection" action and every refresh, which validates first."""
    now = timezone.now()
    alias = profile.alias
    if check.ok:
        try:
            refuse_taken_organization(profile, check)
            with transaction.atomic():  # the unique constraint decides a race
                IntegrationProfile.objects.filter(pk=profile.pk).update(
                    organization_uri=check.organization_uri,
                    organization_name=check.organization_name,
                    organization_plan=check.plan,
                )
        except IntegrityError:
            holder = organization_holder(profile, check.organization_uri)
            if holder is None:
                raise
            exc = OrganizationTaken(holder, check.organization_name or check.organization_uri)
            _refused(alias, now, exc)
            raise exc from None
        except OrganizationTaken as exc:
            _refused(alias, now, exc)
            raise
        ConnectionAlias.objects.filter(pk=alias.pk).update(
            connection_status=ConnectionAlias.ConnectionStatus.CONNECTED,
            granted_scopes=check.scopes,
            last_validated_at=now,
            account_uri=check.account,
            status_message="; ".join(check.warnings),
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


def _refused(alias: ConnectionAlias, now, exc: ConnectorError) -> None:
    ConnectionAlias.objects.filter(pk=alias.pk).update(
        last_validated_at=now, status_message=f"{exc} {exc.hint}".strip()
    )
