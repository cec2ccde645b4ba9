"""HTTP layer of the sandbox: routing, faults, rate-limit headers, control endpoints.

One ``ThreadingHTTPServer`` (daemon threads, HTTP/1.1 keep-alive) serves three areas:

* the Calendly API v2 (``api.py``) at ``/users/me``, ``/organization_memberships`` and so on;
* Calendly's OAuth server (``oauth.py``) at ``/oauth/authorize``, ``/oauth/token`` and
  ``/oauth/revoke`` (really on ``auth.calendly.com``; here on the same host);
* a control area without authentication, ``/_sandbox/...`` (``control.py``), to change a
  running sandbox: faults, plans, roles, SCIM, and the organizations with their tokens.

Answers are written with one ``write`` and Nagle off, so paging 100,000 members with a
keep-alive client runs at thousands of pages per second.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from . import api, control, oauth
from .calls import NO_PERMISSION, NOT_FOUND, ApiError, Call, Request, Response
from .faults import Faults
from .records import RATE_WINDOW
from .serialize import dumps, membership_json
from .state import SandboxState

UNKNOWN = {
    "title": "Internal Server Error",
    "message": "The server encountered an unexpected condition that prevented it from fulfilling the request.",
}
# Reference: https://developer.calendly.com/api-docs/overview/rate-limits
TOO_MANY = {
    "title": "Too Many Requests",
    "message": "You have exceeded the rate limit. Wait X-RateLimit-Reset seconds before retrying.",
}


def _fault_body(status: int) -> dict:
    """Bodies for injected failures: Calendly's own where the document has one."""
    if status == 500:
        return UNKNOWN
    if status == 401:
        return {"title": "Unauthenticated", "message": "The access token is invalid"}
    if status == 403:
        return {"title": "Permission Denied", "message": NO_PERMISSION}
    if status == 404:
        return {"title": NOT_FOUND[0], "message": NOT_FOUND[1]}
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"title": phrase, "message": f"The sandbox injected a {status} answer."}


def _rate_headers(limit: int, remaining: int, reset: int) -> list[tuple[str, str]]:
    return [
        ("X-RateLimit-Limit", str(limit)),
        ("X-RateLimit-Remaining", str(remaining)),
        ("X-RateLimit-Reset", str(reset)),
    ]


class _Headers(dict):
    """Request headers with lower-cased names; ``get`` is case-insensitive."""

    def __setitem__(self, name: str, value: str) -> None:
        super().__setitem__(name.lower(), value)

    def get(self, name: str, default=None):
        return super().get(name.lower(), default)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, state: SandboxState):
        self.state = state
        super().__init__(address, Handler)

    def handle_error(self, request, client_address) -> None:
        """Clients that hang up (timeouts in tests, dropped keep-alive connections) are
        normal here; only real errors get a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "CalendlySandbox/1.0"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections end, so their threads do too
    server: SandboxHTTPServer

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def parse_request(self) -> bool:
        """A lean HTTP/1.x request parser. The standard one runs the e-mail package's parser
        over the headers, about a third of the server time of a page of 100 members."""
        self.command = None
        self.request_version = "HTTP/0.9"
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or not words[2].startswith("HTTP/1."):
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad request syntax")
            return False
        self.command, self.path, self.request_version = words
        headers = _Headers()
        for _ in range(100):
            line = self.rfile.readline(65537)
            if len(line) > 65536:
                self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Header line too long")
                return False
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("iso-8859-1").partition(":")
            headers[name.strip()] = value.strip()
        else:
            self.send_error(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")
            return False
        self.headers = headers
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        if headers.get("expect", "").lower() == "100-continue":
            self.send_response_only(HTTPStatus.CONTINUE)
            self.end_headers()
        return True

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_PATCH(self):
        self._dispatch("PATCH")

    # -- plumbing -------------------------------------------------------------------------------
    def _request(self, method: str) -> Request:
        path, _, query = self.path.partition("?")
        headers = self.headers
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        host = headers.get("host") or "{}:{}".format(*self.server.server_address[:2])
        query_pairs = parse_qsl(query, keep_blank_values=True)
        return Request(method, path, query_pairs, headers, body, f"http://{host}", query)

    def _dispatch(self, method: str) -> None:
        state = self.server.state
        try:
            request = self._request(method)
            if request.path.startswith("/_sandbox/"):
                response = control.answer(self.server.state, request)
            elif request.path.startswith("/oauth/"):
                response = self._oauth(request)
            else:
                response = self._api(request)
                if response is None:  # dropped
                    state.log_request(method, self.path, 0)
                    return
        except Exception:  # a bug in the sandbox: answer like Calendly's 500 and say why
            traceback.print_exc(file=sys.stderr)
            response = Response(500, dumps(UNKNOWN))
        # Logged before the answer leaves: whatever watches the log (the drills' "turn hostile
        # after the n-th request") then acts before the client can send its next request.
        state.log_request(method, self.path, response.status)
        self._send(response)

    def _send(self, response: Response) -> None:
        status = response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        lines = [
            f"HTTP/1.1 {status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {formatdate(usegmt=True)}",
        ]
        if response.content_type:
            lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(response.body)}")
        lines.extend(f"{name}: {value}" for name, value in response.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head + response.body)

    def _drop(self) -> None:
        """Close the socket without answering (a dropped connection)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # -- API ------------------------------------------------------------------------------------
    def _api(self, request: Request) -> Response | None:
        state = self.server.state
        decision = state.faults.next_api_request()
        if decision.delay:
            time.sleep(decision.delay)
        if decision.action == "drop":
            self._drop()
            return None
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header[:7].lower() == "bearer " else None
        with state.lock:
            token, auth_error = state.authenticate(value)
        user = token.user if token else None
        org = token.organization if token else None

        if decision.action == "rate_limit":
            limit = state.rates.limit_for(org)
            return Response(
                429, dumps(TOO_MANY), _rate_headers(limit, 0, decision.reset_seconds or 1)
            )
        if decision.action == "status":
            limit, remaining, reset = state.rates.status(user, org)
            return Response(
                decision.status,
                dumps(_fault_body(decision.status)),
                _rate_headers(limit, remaining, reset),
            )

        route = api.match(request.method, request.path)
        if route is None:
            limit, remaining, reset = state.rates.status(user, org)
            body = {"title": NOT_FOUND[0], "message": NOT_FOUND[1]}
            return Response(404, dumps(body), _rate_headers(limit, remaining, reset))
        if token is None:
            limit = state.rates.limit_for(None)
            body = {"title": "Unauthenticated", "message": auth_error}
            return Response(401, dumps(body), _rate_headers(limit, limit, RATE_WINDOW))
        allowed, limit, remaining, reset = state.rates.take(user, org)
        headers = _rate_headers(limit, remaining, reset)
        if not allowed:
            return Response(429, dumps(TOO_MANY), headers)
        handler, scope, params = route
        if not api.has_scope(token, scope):
            # Reference: https://developer.calendly.com/docs/authentication/scopes
            body = {
                "title": "Insufficient scope",
                "message": f"The access token is missing a scope this endpoint requires: {scope}.",
                "required_scopes": [scope],
            }
            return Response(403, dumps(body), headers)
        try:
            with state.lock:
                response = handler(Call(state, request, token, params))
        except ApiError as exc:
            response = Response(exc.status, dumps(exc.body))
        response.headers.extend(headers)
        return response

    # -- OAuth ----------------------------------------------------------------------------------
    def _oauth(self, request: Request) -> Response:
        state = self.server.state
        key = (request.method, request.path.rstrip("/"))
        if key == ("GET", "/oauth/authorize"):
            return oauth.authorize_get(state, request)
        if key == ("POST", "/oauth/authorize"):
            return oauth.authorize_post(state, request)
        if key == ("POST", "/oauth/token"):
            return oauth.token(state, request)
        if key == ("POST", "/oauth/revoke"):
            return oauth.revoke(state, request)
        return Response(
            404, dumps({"error": "not_found", "error_description": "Unknown OAuth endpoint."})
        )


class SandboxHandle:
    """A running sandbox: ``url``, ``state``, ``faults``, ``stop()``; also a context manager."""

    def __init__(self, server: SandboxHTTPServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.state: SandboxState = server.state
        self.faults: Faults = server.state.faults
        self.host, self.port = server.server_address[:2]
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host  # noqa: S104
        self.url = f"http://{shown}:{self.port}"

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def wait(self) -> None:
        """Block until the server stops (the management command's foreground loop)."""
        while self._thread.is_alive():
            self._thread.join(0.5)

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxHandle {self.url}>"


def start_sandbox(
    port: int = 0,
    members: int = 250,
    plan: str = "enterprise",
    seed: int = 1,
    host: str = "127.0.0.1",
    rate_limit: int | None = None,
    faults: Faults | dict | None = None,
    *,
    name: str = "Acme Demo",
) -> SandboxHandle:
    """Seed the default organization and serve it in a daemon thread.

    ``port=0`` picks a free port (see ``handle.url``). ``rate_limit=None`` applies Calendly's
    per-plan limits (500/min, 50/min on the free "basic" plan), an int sets one limit for all,
    and ``0`` disables enforcement (headers still sent). ``faults`` is a :class:`Faults` or a
    dict of its fields.
    """
    if isinstance(faults, dict):
        faults = Faults(**faults)
    state = SandboxState(faults=faults or Faults(), rate_limit=rate_limit)
    state.add_organization(name=name, members=members, plan=plan, seed=seed)
    server = SandboxHTTPServer((host, port), state)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"calendly-sandbox-{port}",
        daemon=True,
    )
    thread.start()
    threading.Thread(
        target=warm_up, args=(state,), name="calendly-sandbox-warm-up", daemon=True
    ).start()
    return SandboxHandle(server, thread)


def warm_up(state: SandboxState, chunk: int = 500) -> None:
    """Serialize every membership once in the background (about 15 µs each), so that the first
    download of a big organization runs as fast as the next ones. Small chunks under the lock
    keep requests flowing meanwhile."""
    with state.lock:
        members = [m for org in state.organizations.values() for m in org.members]
    for start in range(0, len(members), chunk):
        with state.lock:
            for membership in members[start : start + chunk]:
                if membership.json is None:
                    membership_json(membership)
