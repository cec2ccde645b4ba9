"""HTTP client for the Calendly API v2 (no Django in here).

One ``_request()`` does all I/O: explicit (connect, read) timeouts, bounded retries with full
jitter for transient failures, waits on 429, a proactive slowdown when the rate-limit budget runs
low, one token refresh on 401, and a mapping of every failure to ``calendly_integration.errors``.
The numbers of the retries and waits are ``retry.RetryPolicy``; the pagination is
``pagination.pages``; the endpoints the product uses are ``resources.CalendlyResources``.

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
    error_from_response,
)
from .pagination import pages
from .resources import CalendlyResources
from .retry import RetryPolicy

logger = logging.getLogger(__name__)

# requests-oauthlib and oauthlib log whole token responses and request bodies at DEBUG.
logging.getLogger("requests_oauthlib").setLevel(logging.INFO)
logging.getLogger("oauthlib").setLevel(logging.INFO)

USER_AGENT = "saas-license-management/0.1"


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


class CalendlyClient(CalendlyResources):
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
        self.policy = RetryPolicy(
            max_retries=max_retries,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            slowdown_threshold=slowdown_threshold,
            rate_limit_cap=rate_limit_cap,
            jitter=jitter,
        )
        self.max_pages = max_pages
        self.sleep = sleep
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
        """Yield each page's ``collection``, following ``pagination.next_page_token``
        (``pagination.pages``: a stale token raises ``InvalidRequest`` with
        ``stale_page_token=True``, and the caller should restart the listing)."""
        return pages(
            self.get, path, params, max_pages=self.max_pages, shown_path=self._path_of(path)
        )

    # -- plumbing ------------------------------------------------------------------------------

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
            resend_ok = self.policy.may_resend(method)
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
                    self._pending_pause = self.policy.slowdown(response.headers)
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
                if attempt >= self.policy.max_retries:
                    error.attempts = attempt + 1
                    raise error
                wait = self.policy.rate_limit_wait(error.reset_seconds)
                logger.info("Calendly rate limit hit on %s %s; waiting %.1fs", method, path, wait)
                self._bump("rate_limit_waits")
                self._wait(wait)
            elif error.retryable and resend_ok and attempt < self.policy.max_retries:
                self._wait(self.policy.backoff(attempt))
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
        # A body that is not Calendly's JSON error is not shown: it is whatever the server
        # (or a proxy in between) chose to say, and the admin would echo it.
        text = "" if body is not None else f"HTTP {response.status_code} without a JSON error body."
        return error_from_response(
            response.status_code, body, response.headers, text=text, secrets=[token]
        )
