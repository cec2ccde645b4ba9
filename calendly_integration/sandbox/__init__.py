"""A fake Calendly (API v2 + OAuth server) for the demo, development and integration tests.

Pure standard library, no Django: ``start_sandbox()`` seeds a deterministic organization and
serves it from a daemon thread, so tests can talk real HTTP to it::

    with start_sandbox(members=250, plan="enterprise", seed=1) as sb:
        org = sb.state.default_org
        requests.get(f"{sb.url}/users/me", headers={"Authorization": f"Bearer {org.admin_token}"})
        sb.faults.rate_limit_next = 1  # the next API request answers 429

``manage.py calendly_sandbox`` runs one in the foreground. See ``control.py`` for the control
endpoints and ``faults.py`` for fault injection.
"""

from .faults import Faults
from .records import ALL_SCOPES, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, PLANS, PUBLIC_BASE
from .server import SandboxHandle, start_sandbox
from .state import SandboxState

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "PLANS",
    "PUBLIC_BASE",
    "Faults",
    "SandboxHandle",
    "SandboxState",
    "start_sandbox",
]
