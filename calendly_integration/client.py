"""HTTP client for the Calendly API v2 (no Django in here).

One ``_request()`` does all I/O: explicit (connect, read) timeouts, bounded retries with full
jitter for transient failures, waits on 429, a proactive slowdown when the rate-limit budget runs
low, one token refresh on 401, and a mapping of every failure to ``calendly_integration.errors``.

Tokens never reach a log record or an exception message: the Authorization header is built per
request and only method, path and status are logged.

Not thread-safe: use one client per thread (or per job run).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import requests

from .constants import DEFAULT_API_URL
from .errors import (
    CalendlyError,
    InvalidRequest,
    RateLimited,
    Transient,
    Unauthorized,
    _clip,
    error_from_response,
)

logger = logging.getLogger(__name__)

# requests-oauthlib and oauthlib log whole token responses and request bodies at DEBUG.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
logging.getLogger("oauthlib").setLevel(logging.INFO)

USER_AGENT = "saas-license-management/0.1"

# Methods that may be re-sent after a failure that happened after the request left us.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class TokenSource(Protocol):
    """Where the client gets its bearer token."""

    def access_token(self) -> str:
        """The current valid token (may refresh ahead of expiry itself)."""
        ...

    def refresh_after_unauthorized(self, rejected_token: str) -> str:
        """Called once when Calendly answers 401 to ``rejected_token``. Returns a new token or
        raises ``Unauthorized`` / ``InvalidGrant``."""
        ...


class StaticToken:
    """A personal access token: it cannot be refreshed."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_unauthorized(self, rejected_token: str) -> str:
        raise Unauthorized(
            "The personal access token was rejected (revoked, expired or mistyped).",
            status=401,
            hint=(
                "Create a new personal access token in Calendly (Integrations > API & Webhooks)"
                " and save it on the alias."
            ),
        )

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"


@dataclass
class ClientStats:
    """Counters a job run can report. ``api_calls`` counts every HTTP request sent."""

    api_calls: int = 0
    rate_limit_waits: int = 0
    retries: int = 0
    slowdowns: int = 0


def uuid_from_uri(uri: str) -> str:
    """The trailing UUID of a Calendly resource URI (a bare UUID is returned as is).

    Calendly filters take full URIs; path parameters take this UUID.
    """
    # Reference: https://developer.calendly.com/api-docs/api-conventions
    if not uri or not str(uri).strip():
        raise ValueError("empty Calendly URI")
    path = urlsplit(str(uri).strip()).path if "://" in str(uri) else str(uri).strip()
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    if not segment:
        raise ValueError(f"no UUID in Calendly URI {uri!r}")
    return segment


def _format_time(value: datetime | str | None) -> str | None:
    """Calendly wants UTC timestamps like 2020-01-02T03:04:05.678123Z."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("Calendly timestamps must be timezone-aware datetimes")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class CalendlyClient:
    def __init__(
        self,
        base_url: str = DEFAULT_API_URL,
        token_source: TokenSource | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 30,
        max_retries: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30,
        max_pages: int = 10_000,
        slowdown_threshold: float = 0.1,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        stats: Any = None,
        *,
        rate_limit_cap: float = 120,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if token_source is None:
            raise ValueError("CalendlyClient needs a token_source")
        self.base_url = base_url.rstrip("/")
        self.token_source = token_source
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_pages = max_pages
        self.slowdown_threshold = slowdown_threshold
        self.rate_limit_cap = rate_limit_cap
        self.sleep = sleep
        self.jitter = jitter
        self.stats = stats if stats is not None else ClientStats()
        self._own_session = session is None
        self.session = session or requests.Session()
        if self._own_session:
            self.session.headers["User-Agent"] = USER_AGENT
        self._pending_pause = 0.0
        base = urlsplit(self.base_url)
        self._base_scheme, self._base_netloc, self._base_path = base.scheme, base.netloc, base.path

    def __repr__(self) -> str:
        return f"CalendlyClient(base_url={self.base_url!r})"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> CalendlyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- generic calls -------------------------------------------------------------------------

    def get(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> dict:
        data = self._request("GET", path_or_url, params=params)
        return data if data is not None else {}

    def delete(self, path_or_url: str) -> None:
        self._request("DELETE", path_or_url)

    def request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        """Any call; returns the decoded JSON body, or None for an empty body (204)."""
        return self._request(method, path_or_url, params=params, json=json)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[list[dict]]:
        """Yield each page's ``collection``, following ``pagination.next_page_token``.

        The token is sent back as ``page_token`` with the same params; ``next_page`` URLs are
        ignored. Page tokens are short-lived: a stale one raises ``InvalidRequest`` with
        ``stale_page_token=True`` and the caller should restart the listing.
        """
        # Reference: https://developer.calendly.com/api-docs/api-conventions (pagination)
        base_params = {k: v for k, v in dict(params or {}).items() if v is not None}
        base_params.pop("page_token", None)
        page_token: str | None = None
        seen: set[str] = set()
        pages = 0
        while True:
            if pages >= self.max_pages:
                raise InvalidRequest(
                    f"More than {self.max_pages} pages; stopped (max_pages).",
                    title="Page limit reached",
                    method="GET",
                    path=self._path_of(path),
                    hint="Narrow the query (dates, filters) or raise max_pages.",
                )
            query = dict(base_params)
            if page_token:
                query["page_token"] = page_token
            data = self.get(path, query)
            pages += 1
            collection = data.get("collection") if isinstance(data, dict) else None
            if not isinstance(collection, list):
                raise Transient(
                    "The response has no 'collection' list.",
                    title="Unexpected response",
                    method="GET",
                    path=self._path_of(path),
                )
            yield collection
            pagination = data.get("pagination") or {}
            page_token = pagination.get("next_page_token") if isinstance(pagination, dict) else None
            if not page_token:
                return
            if page_token in seen:
                raise InvalidRequest(
                    "Calendly returned the same page token twice; stopped to avoid a loop.",
                    title="Pagination loop",
                    method="GET",
                    path=self._path_of(path),
                )
            seen.add(page_token)

    # -- Calendly resources --------------------------------------------------------------------

    def current_user(self) -> dict:
        """``GET /users/me``: the connected user, with ``current_organization``."""
        return self.get("/users/me").get("resource", {})

    def organization(self, org_uri_or_uuid: str) -> dict:
        """``GET /organizations/{uuid}``: ``plan`` and ``stage`` of the organization."""
        return self.get(f"/organizations/{uuid_from_uri(org_uri_or_uuid)}").get("resource", {})

    def iter_memberships(self, org_uri: str, count: int = 100) -> Iterator[list[dict]]:
        """Seats: ``GET /organization_memberships?organization=URI`` (max 100 a page)."""
        params = {"organization": self._org_uri(org_uri), "count": count}
        return self.paginate("/organization_memberships", params)

    def iter_invitations(
        self, org_uri: str, status: str | None = "pending", count: int = 100
    ) -> Iterator[list[dict]]:
        """``GET /organizations/{uuid}/invitations``; ``status`` pending/accepted/declined or
        None for all."""
        path = f"/organizations/{uuid_from_uri(org_uri)}/invitations"
        return self.paginate(path, {"status": status, "count": count})

    def iter_activity_log(
        self,
        org_uri: str,
        min_occurred_at: datetime | str | None = None,
        max_occurred_at: datetime | str | None = None,
        count: int = 1000,
        sort: str = "occurred_at:asc",
        **filters: Any,
    ) -> Iterator[list[dict]]:
        """``GET /activity_log_entries`` (Enterprise plan, admin or owner; 90 days kept).

        ``filters``: ``actor``, ``namespace``, ``action`` (str or list, sent comma-separated),
        ``search_term``. A non-Enterprise organization raises ``Forbidden`` with
        ``upgrade_required=True``.
        """
        params: dict[str, Any] = {
            "organization": self._org_uri(org_uri),
            "count": count,
            "sort": sort,
            "min_occurred_at": _format_time(min_occurred_at),
            "max_occurred_at": _format_time(max_occurred_at),
        }
        for name, value in filters.items():
            if isinstance(value, list | tuple | set | frozenset):
                value = ",".join(str(v) for v in value)
            params[name] = value
        return self.paginate("/activity_log_entries", params)

    def iter_scheduled_events(
        self,
        org_uri: str,
        min_start_time: datetime | str | None = None,
        max_start_time: datetime | str | None = None,
        count: int = 100,
        status: str | None = None,
        sort: str = "start_time:asc",
        user: str | None = None,
    ) -> Iterator[list[dict]]:
        """``GET /scheduled_events?organization=URI`` (admin or owner). Hosts are in each
        event's ``event_memberships[].user``. ``status`` is active, canceled or None (both)."""
        params = {
            "organization": self._org_uri(org_uri),
            "count": count,
            "sort": sort,
            "status": status,
            "user": user,
            "min_start_time": _format_time(min_start_time),
            "max_start_time": _format_time(max_start_time),
        }
        return self.paginate("/scheduled_events", params)

    def remove_membership(self, membership_uri_or_uuid: str) -> None:
        """``DELETE /organization_memberships/{membership uuid}`` (204). Needs an admin; the owner
        and the caller cannot be removed (403). The seat stays billed until the seat count drops
        in Calendly Billing."""
        self.delete(f"/organization_memberships/{uuid_from_uri(membership_uri_or_uuid)}")

    def revoke_invitation(self, invitation_uri: str) -> None:
        """``DELETE /organizations/{org uuid}/invitations/{uuid}`` (204). An accepted invitation
        gives 400, a SCIM organization 403."""
        parts = [p for p in urlsplit(invitation_uri).path.split("/") if p]
        try:
            i = parts.index("organizations")
            org_uuid, marker, invitation_uuid = parts[i + 1], parts[i + 2], parts[i + 3]
        except (ValueError, IndexError):
            marker = None
        if marker != "invitations":
            raise ValueError(
                "expected an invitation URI like"
                " https://api.calendly.com/organizations/ORG/invitations/UUID"
            )
        self.delete(f"/organizations/{org_uuid}/invitations/{invitation_uuid}")

    # -- plumbing ------------------------------------------------------------------------------

    def _org_uri(self, org_uri_or_uuid: str) -> str:
        """Filters take the full organization URI; accept a bare UUID too."""
        if "/" in org_uri_or_uuid:
            return org_uri_or_uuid
        return f"{DEFAULT_API_URL}/organizations/{org_uri_or_uuid}"

    def _url(self, path_or_url: str) -> str:
        """Relative paths go under base_url. Full URIs (``https://api.calendly.com/...``) keep
        their path and query but move onto base_url's host, because sandboxes and proxies
        answer on another host than the one written in Calendly's resource URIs."""
        if "://" not in path_or_url:
            return f"{self.base_url}/{path_or_url.lstrip('/')}"
        parts = urlsplit(path_or_url)
        if parts.netloc == self._base_netloc:
            return urlunsplit((self._base_scheme, parts.netloc, parts.path, parts.query, ""))
        path = self._base_path.rstrip("/") + parts.path
        return urlunsplit((self._base_scheme, self._base_netloc, path, parts.query, ""))

    def _path_of(self, path_or_url: str) -> str:
        return urlsplit(self._url(path_or_url)).path

    def _bump(self, name: str, amount: float = 1) -> None:
        """Count into the stats object; a caller's object may lack some counters."""
        if hasattr(self.stats, name):
            setattr(self.stats, name, getattr(self.stats, name) + amount)

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        # Full jitter: a random delay in [0, min(cap, base * 2**attempt)].
        return min(self.backoff_cap, self.backoff_base * 2**attempt) * self.jitter()

    def _note_rate_limit(self, response: requests.Response) -> None:
        """Proactive slowdown: when under ``slowdown_threshold`` of the budget is left, spread
        the remaining calls over the rest of the window before the next call."""
        # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
        limit = _header_float(response.headers, "X-RateLimit-Limit")
        remaining = _header_float(response.headers, "X-RateLimit-Remaining")
        reset = _header_float(response.headers, "X-RateLimit-Reset")
        self._pending_pause = 0.0
        if not limit or limit <= 0 or remaining is None or reset is None:
            return
        if remaining / limit < self.slowdown_threshold:
            self._pending_pause = min(self.rate_limit_cap, max(reset, 0) / max(remaining, 1))

    def _pause_if_throttled(self) -> None:
        pause, self._pending_pause = self._pending_pause, 0.0
        if pause > 0:
            logger.debug("Calendly rate-limit budget low; pausing %.2fs", pause)
            self._bump("slowdowns")
            self._wait(pause)

    def _send(self, method: str, url: str, token: str, params: Any, json: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if not self._own_session:
            headers["User-Agent"] = USER_AGENT
        self._bump("api_calls")
        return self.session.request(
            method, url, params=params, json=json, headers=headers, timeout=self.timeout
        )

    def _request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> Any:
        method = method.upper()
        url = self._url(path_or_url)
        path = urlsplit(url).path
        if params is not None:
            params = {k: v for k, v in params.items() if v is not None}
        attempt = 0
        refreshed = False
        fresh_token: str | None = None
        while True:
            self._pause_if_throttled()
            token = fresh_token or self.token_source.access_token()
            fresh_token = None
            resend_ok = method in _IDEMPOTENT
            try:
                response = self._send(method, url, token, params, json)
            except requests.ConnectTimeout:
                # Nothing reached Calendly: safe to re-send whatever the method.
                error: CalendlyError = Transient(
                    "Timed out connecting to Calendly.", title="Connect timeout"
                )
                resend_ok = True
            except requests.Timeout:
                error = Transient("Calendly did not answer in time.", title="Read timeout")
            except requests.exceptions.SSLError:
                raise CalendlyError(
                    "The TLS handshake with Calendly failed.",
                    title="TLS error",
                    hint="Check the base URL, proxy and CA bundle (REQUESTS_CA_BUNDLE).",
                    method=method,
                    path=path,
                ) from None
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                error = Transient(
                    f"Connection to Calendly failed ({type(exc).__name__}).",
                    title="Connection error",
                )
            except requests.RequestException as exc:
                raise InvalidRequest(
                    f"The request could not be sent ({type(exc).__name__}).",
                    title="Request error",
                    method=method,
                    path=path,
                ) from None
            else:
                status = response.status_code
                logger.debug("Calendly %s %s -> %s", method, path, status)
                if status != 429:
                    self._note_rate_limit(response)
                if status == 401 and not refreshed:
                    # Reference: https://developer.calendly.com/api-docs/api-conventions
                    # One refresh per request; a second 401 is final.
                    refreshed = True
                    self._bump("retries")
                    try:
                        fresh_token = self.token_source.refresh_after_unauthorized(token)
                    except CalendlyError as exc:
                        exc.method, exc.path = exc.method or method, exc.path or path
                        raise
                    continue
                if status < 400:
                    try:
                        return self._decode(response)
                    except Transient as exc:
                        error = exc
                else:
                    error = self._error(response, token)
            error.method, error.path = method, path
            if isinstance(error, RateLimited):
                if attempt >= self.max_retries:
                    error.attempts = attempt + 1
                    raise error
                # Reference: https://developer.calendly.com/api-docs/overview/rate-limits
                # ("429 ... X-RateLimit-Reset: number of seconds until the limit resets").
                wait = min(self.rate_limit_cap, error.reset_seconds + self.jitter())
                logger.info("Calendly rate limit hit on %s %s; waiting %.1fs", method, path, wait)
                self._bump("rate_limit_waits")
                self._wait(wait)
            elif error.retryable and resend_ok and attempt < self.max_retries:
                self._wait(self._backoff(attempt))
            else:
                error.attempts = attempt + 1
                raise error
            attempt += 1
            self._bump("retries")

    def _decode(self, response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise Transient(
                "Calendly answered with a body that is not JSON.",
                status=response.status_code,
                title="Unreadable response",
            ) from None

    def _error(self, response: requests.Response, token: str) -> CalendlyError:
        try:
            body = response.json()
        except ValueError:
            body = None
        text = "" if body is not None else _clip(response.reason or response.text, [token])
        return error_from_response(
            response.status_code, body, response.headers, text=text, secrets=[token]
        )
