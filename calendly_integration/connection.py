"""Building a client for a profile, and "Validate connection"."""

from __future__ import annotations

from django.conf import settings

from sam_saas.connectors import ConnectionCheck, ConnectorError
from sam_saas.models import ConnectionAlias, IntegrationProfile

from .client import CalendlyClient, ClientStats
from .constants import ADMIN_ROLES, DEFAULT_API_URL, RECLAIM_SCOPE
from .errors import Forbidden
from .tokens import AliasTokenSource


def build_client(profile: IntegrationProfile, stats=None, **kwargs) -> CalendlyClient:
    alias = profile.alias
    if not alias.access_token:
        raise ConnectorError(
            f"The alias {alias.name!r} is not connected to Calendly.",
            hint="Paste a personal access token on the alias, or press “Connect to Calendly”.",
        )
    options = {**settings.CALENDLY_CLIENT, **kwargs}
    return CalendlyClient(
        base_url=alias.effective_api_base_url(DEFAULT_API_URL),
        token_source=AliasTokenSource(alias),
        stats=stats if stats is not None else ClientStats(),
        **options,
    )


def caller_role(client: CalendlyClient, me: dict, org_uri: str) -> str:
    """The connected account's role in its organization (owner, admin or user), read from its
    own membership; an empty string when it has none."""
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships
    for page in client.paginate(
        "/organization_memberships", {"organization": org_uri, "email": me.get("email"), "count": 1}
    ):
        for membership in page:
            if membership.get("user", {}).get("uri") == me.get("uri"):
                return membership.get("role", "")
        break
    return ""


def check_connection(client: CalendlyClient, alias: ConnectionAlias) -> ConnectionCheck:
    """Read ``/users/me``, the organization and the caller's own membership.

    All three processes need an admin: listing members and pending invitations, reading the
    activity log and removing seats are admin-only in Calendly, so a user-role token is refused
    here rather than failing half-way through a download."""
    me = client.current_user()
    org_uri = me.get("current_organization", "")
    org = client.organization(org_uri)
    role = caller_role(client, me, org_uri)
    scopes = list(alias.granted_scopes or [])
    check = ConnectionCheck(
        ok=role in ADMIN_ROLES,
        account=me.get("uri", ""),
        organization_uri=org_uri,
        organization_name=org.get("name", ""),
        plan=org.get("plan", ""),
        scopes=scopes,
    )
    if not check.ok:
        check.message = (
            f"The connected Calendly account {me.get('email', '')} has the role "
            f"“{role or 'unknown'}” in {check.organization_name or org_uri}; "
            "downloading seats, reading activity and reclaiming all need an admin or the owner."
        )
        check.hint = (
            "Connect with an account that is an admin of the Calendly organization, or ask the "
            "owner to make this account an admin."
        )
        return check
    if scopes and RECLAIM_SCOPE not in scopes:
        check.warnings.append(
            f"The token lacks the {RECLAIM_SCOPE} scope: reclaiming seats will fail until the "
            "app is re-authorized with it."
        )
    return check


def validate(profile: IntegrationProfile) -> ConnectionCheck:
    client = build_client(profile)
    try:
        with client:
            return check_connection(client, profile.alias)
    except Forbidden as exc:
        return ConnectionCheck(ok=False, message=str(exc), hint=exc.hint)
