"""The publish gate's checks against Calendly, one per thing each enabled process needs.

Each check makes the smallest call that proves the process would work (one item a page) and
turns a refusal into a failed check with a hint, so "Validate connection" shows everything
that is wrong at once instead of stopping at the first error.
"""

from __future__ import annotations

from collections.abc import Callable

from sam_saas.connectors import ConnectionCheck, ProcessCheck
from sam_saas.models import ConnectionAlias, IntegrationProfile, Process

from .client import CalendlyClient
from .connection import build_client, caller_role
from .constants import ADMIN_ROLES, RECLAIM_SCOPE
from .errors import CalendlyError
from .resources import uuid_from_uri

ADMIN_HINT = (
    "Connect with an account that is an admin or the owner of the Calendly organization, or "
    "ask the owner to make this account an admin."
)


def _probe(process: str, key: str, label: str, call: Callable[[], str]) -> ProcessCheck:
    """Run one listing call; a Calendly refusal becomes a failed check with its hint."""
    try:
        detail = call()
    except CalendlyError as exc:
        return ProcessCheck(process, key, label, ok=False, detail=str(exc), hint=exc.hint)
    return ProcessCheck(process, key, label, ok=True, detail=detail)


def _first_page(client: CalendlyClient, path: str, params: dict) -> str:
    # Reference: https://developer.calendly.com/api-docs/api-conventions (pagination)
    body = client.get(path, {**params, "count": 1})
    more = (body.get("pagination") or {}).get("next_page_token")
    found = len(body.get("collection") or [])
    return "readable" + (f" ({found}{'+' if more else ''} found on the first page)")


def _role_check(process: str, role: str, org_name: str, need: str) -> ProcessCheck:
    ok = role in ADMIN_ROLES
    detail = f"The connected account is “{role or 'unknown'}” in {org_name}."
    return ProcessCheck(
        process,
        "role",
        "Caller's role",
        ok=ok,
        detail=detail if ok else f"{detail} {need}",
        hint="" if ok else ADMIN_HINT,
    )


def check_processes(profile: IntegrationProfile, processes: list[str]) -> ConnectionCheck:
    alias = profile.alias
    try:
        client = build_client(profile)
    except Exception as exc:  # ConnectorError: no token yet
        return _unreachable(str(exc), getattr(exc, "hint", ""))
    with client:
        try:
            me = client.current_user()
            org_uri = me.get("current_organization", "")
            org = client.organization(org_uri)
        except CalendlyError as exc:
            return _unreachable(str(exc), exc.hint)
        try:
            role = caller_role(client, me, org_uri)
        except CalendlyError:
            role = ""
        org_name = org.get("name", "") or org_uri
        plan = org.get("plan", "")
        checks: list[ProcessCheck] = []
        if Process.DOWNLOAD in processes:
            checks += _download_checks(client, org_uri, role, org_name)
        if Process.ACTIVITY in processes:
            checks.append(_activity_check(client, org_uri, plan))
        if Process.RECLAIM in processes:
            checks += _reclaim_checks(alias, role, org_name)
    return ConnectionCheck(
        ok=all(check.ok for check in checks),
        account=me.get("uri", ""),
        organization_uri=org_uri,
        organization_name=org.get("name", ""),
        plan=plan,
        scopes=list(alias.granted_scopes or []),
        checks=checks,
    )


def _unreachable(message: str, hint: str) -> ConnectionCheck:
    check = ProcessCheck(
        Process.DOWNLOAD, "connection", "Connection", ok=False, detail=message, hint=hint
    )
    return ConnectionCheck(ok=False, message=message, hint=hint, checks=[check])


def _download_checks(client, org_uri: str, role: str, org_name: str) -> list[ProcessCheck]:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-memberships
    # Reference: https://developer.calendly.com/api-docs/calendly-api/organizations/list-organization-invitations
    need = "Listing pending invitations needs an admin or the owner."
    return [
        _role_check(Process.DOWNLOAD, role, org_name, need),
        _probe(
            Process.DOWNLOAD,
            "members",
            "Members listing",
            lambda: _first_page(client, "/organization_memberships", {"organization": org_uri}),
        ),
        _probe(
            Process.DOWNLOAD,
            "invitations",
            "Invitations listing",
            lambda: _first_page(
                client,
                f"/organizations/{uuid_from_uri(org_uri)}/invitations",
                {"status": "pending"},
            ),
        ),
    ]


def _activity_check(client, org_uri: str, plan: str) -> ProcessCheck:
    # Reference: https://developer.calendly.com/api-docs/calendly-api/activity-log/list-activity-log-entries
    # Reference: https://developer.calendly.com/api-docs/calendly-api/scheduled-events/list-events
    if plan == "enterprise":
        return _probe(
            Process.ACTIVITY,
            "activity_log",
            "Activity log (Enterprise)",
            lambda: _first_page(client, "/activity_log_entries", {"organization": org_uri}),
        )
    return _probe(
        Process.ACTIVITY,
        "scheduled_events",
        f"Scheduled events (plan {plan or 'unknown'}, no activity log)",
        lambda: _first_page(client, "/scheduled_events", {"organization": org_uri}),
    )


def _reclaim_checks(alias: ConnectionAlias, role: str, org_name: str) -> list[ProcessCheck]:
    checks = [
        _role_check(Process.RECLAIM, role, org_name, "Removing seats needs an admin or the owner.")
    ]
    if alias.auth_type == ConnectionAlias.AuthType.OAUTH2:
        scopes = list(alias.granted_scopes or [])
        ok = RECLAIM_SCOPE in scopes
        checks.append(
            ProcessCheck(
                Process.RECLAIM,
                "scope",
                f"Scope {RECLAIM_SCOPE}",
                ok=ok,
                detail=f"Granted: {', '.join(scopes) or 'none recorded'}.",
                hint=""
                if ok
                else f"Add {RECLAIM_SCOPE} to the Calendly app's scopes, then press "
                "“Connect to Calendly” again to re-authorize.",
            )
        )
    return checks
