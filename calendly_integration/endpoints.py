"""Which hosts the Calendly connector may send credentials to.

An alias's API and auth URLs are editable in the admin, and every call sends the stored bearer
token (a token refresh sends the OAuth app's client secret and the refresh token) to them. So
a URL is accepted only when it is ``https`` on a host in ``CALENDLY_ALLOWED_HOSTS`` (by default
Calendly's own API and auth hosts). Outside production (``CALENDLY_ALLOW_LOOPBACK``) loopback
hosts are accepted too, over http or https, for the fake Calendly.

The same rule is checked when an alias is saved (the admin form) and again right before each
use, so a URL stored before the setting changed is refused too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings

from sam_saas.models import ConnectionAlias
from sam_saas.setting_guards import is_loopback_url

from .constants import DEFAULT_API_URL, DEFAULT_AUTH_URL
from .errors import CalendlyError

HINT = (
    "Leave the alias's endpoints empty for Calendly's own, or ask the operator to add the host "
    "to CALENDLY_ALLOWED_HOSTS."
)


class EndpointNotAllowed(CalendlyError):
    """An alias URL outside CALENDLY_ALLOWED_HOSTS: nothing is sent to it."""

    default_title = "Endpoint not allowed"
    default_hint = HINT


def endpoint_problem(url: str) -> str:
    """Why credentials must not go to ``url`` ("" when they may)."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = {h.strip().lower() for h in getattr(settings, "CALENDLY_ALLOWED_HOSTS", ())}
    if parts.scheme == "https" and host in allowed:
        return ""
    if (
        getattr(settings, "CALENDLY_ALLOW_LOOPBACK", False)
        and parts.scheme in ("http", "https")
        and is_loopback_url(url)
    ):
        return ""
    if parts.scheme != "https" and host in allowed:
        return f"Calendly URLs must use https, not {parts.scheme or 'no scheme'}."
    return (
        f"{host or url!r} is not an allowed Calendly host (allowed: "
        f"{', '.join(sorted(allowed)) or 'none'}, over https)."
    )


def _checked(url: str) -> str:
    problem = endpoint_problem(url)
    if problem:
        raise EndpointNotAllowed(problem, hint=HINT)
    return url


def api_base_url(alias: ConnectionAlias) -> str:
    """The alias's API URL, refused unless its host is allowed."""
    return _checked(alias.effective_api_base_url(DEFAULT_API_URL))


def auth_base_url(alias: ConnectionAlias) -> str:
    """The alias's authorization server URL, refused unless its host is allowed."""
    return _checked(alias.effective_auth_base_url(DEFAULT_AUTH_URL))
