"""``manage.py calendly_sandbox``: run the fake Calendly in the foreground for demos and development.

It prints the URL (API and OAuth on the same host), the demo personal access tokens of every
organization and the OAuth client credentials, then serves until Ctrl-C. Change it while it runs
through the control endpoints, e.g.::

    curl -X POST localhost:8765/_sandbox/faults -d '{"rate_limit_next": 3}'
    curl -X POST localhost:8765/_sandbox/plan -d '{"organization": "<org uri>", "plan": "teams"}'
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from calendly_integration.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, start_sandbox
from calendly_integration.sandbox.control import describe
from calendly_integration.sandbox.records import ALL_SCOPES, PLANS

EXTRA_ORG_NAMES = ("Globex Sandbox", "Initech Sandbox", "Umbrella Sandbox", "Stark Sandbox")


def start_from_options(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    members: int = 250,
    plan: str = "enterprise",
    seed: int = 1,
    faults: str | None = None,
    token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    redirect_uris: list[str] | None = None,
    rate_limit: int | None = None,
    extra_orgs: int = 0,
):
    """Start a sandbox from the command's options (kept apart from ``handle`` for tests)."""
    try:
        fault_fields = json.loads(faults) if faults else {}
    except ValueError as exc:
        raise CommandError(f"--faults must be a JSON object: {exc}") from exc
    if not isinstance(fault_fields, dict):
        raise CommandError("--faults must be a JSON object")
    try:
        handle = start_sandbox(
            port=port,
            members=members,
            plan=plan,
            seed=seed,
            host=host,
            rate_limit=rate_limit,
            faults=fault_fields,
        )
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    state = handle.state
    org = state.default_org
    if token:
        # The given token acts as the default organization's admin (what calendly_demo expects).
        admin = next((m.user for m in org.members if m.role == "admin"), org.owner)
        org.admin_token = state.issue_token(org, admin, value=token)
    if client_id:
        state.register_oauth_client(client_id, client_secret, redirect_uris or None)
    for index in range(extra_orgs):
        state.add_organization(
            name=EXTRA_ORG_NAMES[index % len(EXTRA_ORG_NAMES)] + ("" if index < 4 else f" {index}"),
            members=max(3, members // 10),
            plan="teams",
            seed=seed + 100 + index,
        )
    return handle


def banner(handle, client_id: str | None = None, client_secret: str | None = None) -> str:
    lines = [
        f"Fake Calendly listening on {handle.url}",
        f"  API base URL:   {handle.url}   (resource URIs use https://api.calendly.com/...)",
        f"  OAuth base URL: {handle.url}   (/oauth/authorize, /oauth/token, /oauth/revoke)",
        f"  OAuth client:   client_id={DEFAULT_CLIENT_ID} client_secret={DEFAULT_CLIENT_SECRET}",
    ]
    if client_id:
        lines.append(f"  OAuth client:   client_id={client_id} client_secret={client_secret or ''}")
    lines.append(f"  Scopes:         {' '.join(ALL_SCOPES)}")
    for org in describe(handle.state):
        lines += [
            "",
            f"Organization {org['name']!r} ({org['plan']}, {org['members']} members,"
            f" {org['pending_invitations']} pending invitations)",
            f"  uri:         {org['uri']}",
            f"  owner token: {org['owner_token']}   ({org['owner']})",
            f"  admin token: {org['admin_token']}",
            f"  user token:  {org['user_token']}   (plain member, for negative tests)",
        ]
    lines += [
        "",
        f"Control: GET/POST {handle.url}/_sandbox/faults, POST /_sandbox/plan,"
        " POST /_sandbox/role, POST /_sandbox/scim, GET /_sandbox/organizations",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Run a fake Calendly (API v2 + OAuth server) in the foreground. Demo and development only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--members", type=int, default=250)
        parser.add_argument("--plan", default="enterprise", choices=PLANS)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--faults",
            help='Fault fields as JSON, e.g. \'{"rate_limit_next": 2, "delay_seconds": 0.5}\'.',
        )
        parser.add_argument(
            "--token", help="An extra personal access token for the default org's admin."
        )
        parser.add_argument("--client-id", dest="client_id", help="Register an extra OAuth client.")
        parser.add_argument("--client-secret", dest="client_secret")
        parser.add_argument(
            "--redirect-uri",
            dest="redirect_uris",
            action="append",
            help="Allowed redirect URI of --client-id (repeatable; none = any).",
        )
        parser.add_argument(
            "--rate-limit",
            dest="rate_limit",
            type=int,
            default=None,
            help="Requests per user per minute (default: 500 paid, 50 basic; 0 = unlimited).",
        )
        parser.add_argument(
            "--extra-orgs",
            dest="extra_orgs",
            type=int,
            default=0,
            help="Seed this many more organizations (teams plan) for child-alias demos.",
        )

    def handle(self, *args, **options):
        if options.get("client_secret") and not options.get("client_id"):
            raise CommandError("--client-secret needs --client-id")
        keys = (
            "host", "port", "members", "plan", "seed", "faults", "token", "client_id",
            "client_secret", "redirect_uris", "rate_limit", "extra_orgs",
        )  # fmt: skip
        handle = start_from_options(
            **{key: options.get(key) for key in keys if options.get(key) is not None}
        )
        self.stdout.write(banner(handle, options.get("client_id"), options.get("client_secret")))
        self.stdout.flush()
        try:
            handle.wait()
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the fake Calendly.")
        finally:
            handle.stop()
