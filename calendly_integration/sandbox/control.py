"""The sandbox's control area, without authentication, to change a running sandbox:
``GET``/``POST /_sandbox/faults``, ``POST /_sandbox/plan`` ``{"organization", "plan"}``,
``POST /_sandbox/role`` ``{"user", "role"}``, ``POST /_sandbox/scim``
``{"organization", "enabled"}`` and ``GET /_sandbox/organizations`` (tokens and counts).
Calendly has nothing like it; tests and the demo use it to turn plans, roles and faults.
"""

from __future__ import annotations

import json

from .calls import NOT_FOUND, Request, Response
from .serialize import dumps, membership_body, organization_body
from .state import SandboxState


def answer(state: SandboxState, request: Request) -> Response:
    """One request to ``/_sandbox/...``."""
    try:
        data = json.loads(request.body or b"{}") if request.method == "POST" else {}
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        key = (request.method, request.path.rstrip("/"))
        if key == ("GET", "/_sandbox/faults"):
            return Response(200, dumps(state.faults.to_dict()))
        if key == ("POST", "/_sandbox/faults"):
            if data.pop("reset", False):
                state.faults.reset()
            state.faults.update(**data)
            return Response(200, dumps(state.faults.to_dict()))
        if key == ("POST", "/_sandbox/plan"):
            org = state.set_plan(data["organization"], data["plan"], data.get("stage"))
            return Response(200, dumps({"resource": organization_body(org)}))
        if key == ("POST", "/_sandbox/role"):
            user = state.get_user(data["user"])
            org = (
                state.get_org(data["organization"])
                if data.get("organization")
                else user.organization
            )
            membership = state.set_role(org, user, data["role"])
            return Response(200, dumps({"resource": membership_body(membership)}))
        if key == ("POST", "/_sandbox/scim"):
            org = state.set_scim(data["organization"], data.get("enabled", True))
            return Response(200, dumps({"organization": org.uri, "scim_enabled": org.scim_enabled}))
        if key == ("GET", "/_sandbox/organizations"):
            return Response(200, dumps({"collection": describe(state)}))
    except (KeyError, ValueError, TypeError) as exc:
        return Response(400, dumps({"title": "Invalid Argument", "message": str(exc)}))
    return Response(404, dumps({"title": NOT_FOUND[0], "message": NOT_FOUND[1]}))


def describe(state: SandboxState) -> list[dict]:
    """Organizations with their demo tokens (for the command and ``/_sandbox/organizations``)."""
    with state.lock:
        return [
            {
                **organization_body(org),
                "members": org.member_count,
                "pending_invitations": sum(i.status == "pending" for i in org.invitations.values()),
                "scim_enabled": org.scim_enabled,
                "owner": org.owner.email if org.owner else None,
                "owner_token": org.owner_token,
                "admin_token": org.admin_token,
                "user_token": org.user_token,
            }
            for org in state.organizations.values()
        ]
