"""The small family of errors the Calendly client raises.

Every failure of a Calendly call (HTTP status, timeout, dropped connection, unreadable body, OAuth
token endpoint error) becomes one of these classes, so callers catch ``CalendlyError`` and read
``hint`` for what an operator should do next and ``retryable`` for whether a later run may succeed.

Messages are built from Calendly's error body (``title``, ``message``, ``details``) and never from
request headers or bodies, so they carry no tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Reference: https://developer.calendly.com/api-docs/api-conventions (error bodies are
# {"title", "message", "details": [{"parameter", "message"}]}).

UPGRADE_MESSAGE = "upgrade your calendly account to enterprise"
SCIM_MESSAGE = "scim enabled"
PERMISSION_DENIED_TITLE = "permission denied"
INSUFFICIENT_SCOPE_TITLE = "insufficient scope"

_MAX_TEXT = 300


class CalendlyError(Exception):
    """Base class: ``status`` (HTTP status or None), ``title``, ``message``, ``details``,
    ``hint`` (operator-facing fix) and ``retryable``."""

    default_title = "Calendly error"
    default_hint = "See the error message; the next run will try again."
    retryable = False
    attempts = 1  # how many HTTP attempts were made before giving up (set by the client)

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        title: str | None = None,
        details: list[dict[str, Any]] | None = None,
        hint: str | None = None,
        retryable: bool | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.title = title or self.default_title
        self.message = message or ""
        self.details = list(details or [])
        self.hint = hint or self.default_hint
        if retryable is not None:
            self.retryable = retryable
        self.method = method
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.method} {self.path}: " if self.method and self.path else ""
        status = f"{self.status} " if self.status is not None else ""
        text = f"{where}{status}{self.title}"
        if self.message:
            text += f": {self.message}"
        if self.details:
            text += " (" + "; ".join(_detail_text(d) for d in self.details) + ")"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class Unauthorized(CalendlyError):
    """401: the token is missing, expired or revoked."""

    default_title = "Unauthenticated"
    default_hint = (
        "Calendly rejected the credentials: reconnect the alias in the admin (Connect to Calendly)"
        " or save a new personal access token."
    )


class Forbidden(CalendlyError):
    """403: missing scope, plan too small (activity log needs Enterprise), role too low,
    owner/self removal, or a SCIM-managed organization."""

    default_title = "Permission Denied"
    default_hint = "Connect the alias with a Calendly admin or owner account."

    def __init__(
        self,
        message: str = "",
        *,
        required_scopes: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.required_scopes = [str(s) for s in (required_scopes or [])]
        title = (kwargs.get("title") or "").strip().lower()
        text = (message or "").lower()
        self.upgrade_required = UPGRADE_MESSAGE in text
        self.scim_enabled = SCIM_MESSAGE in text
        self.permission_denied = title == PERMISSION_DENIED_TITLE
        self.insufficient_scope = bool(self.required_scopes) or title == INSUFFICIENT_SCOPE_TITLE
        if not kwargs.get("hint"):
            kwargs["hint"] = self._hint()
        super().__init__(message, **kwargs)

    def _hint(self) -> str:
        if self.insufficient_scope:
            scopes = ", ".join(self.required_scopes) or "the missing scopes"
            return (
                f"Grant {scopes} to the Calendly OAuth app or personal access token, then"
                " reconnect the alias in the admin (Connect to Calendly)."
            )
        if self.upgrade_required:
            return (
                "The activity log needs the Calendly Enterprise plan; activity falls back to"
                " scheduled events."
            )
        if self.scim_enabled:
            return (
                "This Calendly organization is managed by SCIM: remove the user in the identity"
                " provider instead."
            )
        return (
            "Connect the alias with a Calendly admin or owner account. The owner and the"
            " connected user themself cannot be removed."
        )


class NotFound(CalendlyError):
    """404: the resource does not exist (any more)."""

    default_title = "Resource Not Found"
    default_hint = "The resource no longer exists in Calendly; it may already have been removed."


class RateLimited(CalendlyError):
    """429: the per-user rate limit is used up; ``reset_seconds`` says when it resets."""

    # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
    default_title = "Too Many Requests"
    default_hint = (
        "Calendly's rate limit is per user and shared by all of that user's integrations;"
        " try again later or spread the refresh schedules."
    )
    retryable = True

    def __init__(self, message: str = "", *, reset_seconds: float = 60.0, **kwargs: Any) -> None:
        self.reset_seconds = float(reset_seconds)
        super().__init__(message, **kwargs)


class Transient(CalendlyError):
    """5xx, timeouts, connection errors, dropped connections and unreadable responses."""

    default_title = "Temporary failure"
    default_hint = "Calendly or the network failed for a moment; the next run will try again."
    retryable = True


class InvalidRequest(CalendlyError):
    """Any other 4xx (400 with ``details``, 409, ...); ``stale_page_token`` when a detail names
    ``page_token`` (page tokens are short-lived)."""

    default_title = "Invalid Argument"
    default_hint = "Calendly refused the request as sent; see the details."

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        details = kwargs.get("details") or []
        self.stale_page_token = any(
            isinstance(d, Mapping) and d.get("parameter") == "page_token" for d in details
        )
        if self.stale_page_token and not kwargs.get("hint"):
            kwargs["hint"] = "The page token expired; restart the listing from the first page."
        super().__init__(message, **kwargs)


class InvalidGrant(CalendlyError):
    """OAuth token endpoint ``invalid_grant``: the code or refresh token is used, expired or
    revoked. Refresh tokens are single-use, so only a new authorization helps."""

    default_title = "invalid_grant"
    default_hint = "Reconnect the alias in the admin (Connect to Calendly)."


def _detail_text(detail: Any) -> str:
    if isinstance(detail, Mapping):
        parameter = detail.get("parameter")
        message = detail.get("message", "")
        return f"{parameter}: {message}" if parameter else str(message)
    return str(detail)


def _clip(text: Any, secrets: Iterable[str] = ()) -> str:
    """Make a string safe to show: no known secret inside, bounded length."""
    text = "" if text is None else str(text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT] + "..."
    return text


def _parse_reset(headers: Mapping[str, str] | None, default: float = 60.0) -> float:
    """Seconds until the rate-limit window resets, from X-RateLimit-Reset (or Retry-After)."""
    # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
    # ("X-RateLimit-Reset: number of seconds until the limit resets").
    for name in ("X-RateLimit-Reset", "Retry-After"):
        value = (headers or {}).get(name)
        if value is None:
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return default


def error_from_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    method: str | None = None,
    path: str | None = None,
    text: str = "",
    secrets: Iterable[str] = (),
) -> CalendlyError:
    """Map an HTTP error response of the Calendly API to the error family.

    ``body`` is the decoded JSON (or None), ``text`` the raw body used when it is not JSON,
    ``secrets`` strings to scrub from anything shown (the bearer token).
    """
    # Reference: https://developer.calendly.com/api-docs/api-conventions
    secrets = list(secrets)
    payload = body if isinstance(body, Mapping) else {}
    title = _clip(payload.get("title"), secrets) or None
    message = _clip(payload.get("message") or ("" if payload else text), secrets)
    raw_details = payload.get("details")
    details = [
        {k: _clip(v, secrets) for k, v in d.items()}
        if isinstance(d, Mapping)
        else {"message": _clip(d, secrets)}
        for d in (raw_details if isinstance(raw_details, list) else [])
    ]
    common = {
        "status": status,
        "title": title,
        "details": details,
        "method": method,
        "path": path,
    }
    if status == 401:
        return Unauthorized(message, **common)
    if status == 403:
        scopes = payload.get("required_scopes")
        if isinstance(scopes, str):
            scopes = scopes.split()
        return Forbidden(message, required_scopes=scopes or [], **common)
    if status == 404:
        return NotFound(message, **common)
    if status == 429:
        return RateLimited(message, reset_seconds=_parse_reset(headers), **common)
    if status >= 500 or status == 408:
        return Transient(message, **common)
    return InvalidRequest(message, **common)
