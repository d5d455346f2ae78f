"""The HTTP server and request handler: parsing, recording, faults, routing, sending.

The handler never logs request lines, because query strings carry codes.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import api, console, oauth, pages
from .faults import endpoint_for, fault_response, make_fault
from .state import EmulatorState
from .wire import RecordedRequest, Request, Response, anthropic_error, json_response

Route = Callable[[EmulatorState, Request], Response]

_MAX_BODY = 1 << 20
#: Messages requests may be as large as Claude's own limit (32 MB): a conversation past
#: 200 000 tokens is a megabyte or more.
_MAX_MESSAGES_BODY = 32_000_000
#: Seconds a connection may sit idle or half-sent before it is dropped, so a silent
#: client only ever ties up its own thread.
CONNECTION_TIMEOUT = 10.0
CONTROL_PREFIX = "/_emulator/"


def _control_faults(state: EmulatorState, req: Request) -> Response:
    body = req.json_body()
    if not isinstance(body, dict):
        return anthropic_error(400, "invalid_request_error", "Body must be a JSON object")
    params = {k: v for k, v in body.items() if k not in ("endpoint", "fault", "times")}
    try:
        fault = make_fault(
            str(body.get("endpoint")), str(body.get("fault")), body.get("times", 1), params
        )
    except ValueError as err:
        return anthropic_error(400, "invalid_request_error", str(err))
    state.push_fault(str(body["endpoint"]), fault)
    return json_response(200, {"ok": True})


def _control_clear(state: EmulatorState, req: Request) -> Response:
    state.clear_faults()
    return json_response(200, {"ok": True})


def _control_stats(state: EmulatorState, req: Request) -> Response:
    return json_response(200, state.stats())


def _control_revoke(state: EmulatorState, req: Request) -> Response:
    state.revoke_all()
    return json_response(200, {"ok": True})


def _control_expire(state: EmulatorState, req: Request) -> Response:
    state.expire_access_tokens()
    return json_response(200, {"ok": True})


def _control_usage(state: EmulatorState, req: Request) -> Response:
    """GET: the counters; POST ``{"account"?, "configure"?: {...}, "reset"?: window|null,
    "in_seconds"?}``: change them (see :mod:`.usage`)."""
    body = req.json_body() if req.method == "POST" else {}
    if not isinstance(body, dict):
        return anthropic_error(400, "invalid_request_error", "Body must be a JSON object")
    account = str(body.get("account") or req.first("account") or state.account["uuid"])
    try:
        if isinstance(body.get("configure"), dict):
            state.usage.configure(account, **body["configure"])
        if "reset" in body:
            reset = body["reset"]
            state.usage.reset(
                account, None if reset is None else str(reset), float(body.get("in_seconds", 0))
            )
    except (TypeError, ValueError) as err:
        return anthropic_error(400, "invalid_request_error", str(err))
    return json_response(200, state.usage.counters(account))


ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/oauth/authorize"): oauth.authorize,
    ("GET", console.AUTHORIZE_PATH): oauth.console_authorize,
    ("POST", console.CREATE_API_KEY_PATH): console.create_api_key,
    ("POST", pages.CONSENT_ACTION): oauth.authorize_decision,
    ("GET", oauth.MANUAL_CALLBACK_PATH): oauth.manual_callback,
    ("POST", oauth.TOKEN_PATH): oauth.token,
    ("POST", oauth.REVOKE_PATH): oauth.revoke,
    ("GET", "/v1/models"): api.list_models,
    ("GET", "/api/oauth/profile"): api.profile,
    ("GET", "/api/oauth/usage"): api.oauth_usage,
    ("POST", "/v1/messages"): api.messages,
    ("POST", CONTROL_PREFIX + "faults"): _control_faults,
    ("POST", CONTROL_PREFIX + "clear"): _control_clear,
    ("GET", CONTROL_PREFIX + "stats"): _control_stats,
    ("POST", CONTROL_PREFIX + "revoke"): _control_revoke,
    ("POST", CONTROL_PREFIX + "expire"): _control_expire,
    ("GET", CONTROL_PREFIX + "usage"): _control_usage,
    ("POST", CONTROL_PREFIX + "usage"): _control_usage,
}


class EmulatorServer(ThreadingHTTPServer):
    """A threaded server that can cut its open keep-alive connections on stop."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], state: EmulatorState, ipv6: bool) -> None:
        if ipv6:
            self.address_family = socket.AF_INET6
        self.state = state
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, EmulatorHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every handler thread blocked on a kept-alive connection."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # One line, no traceback: a dropped client is normal, and tracebacks could
        # show local variables' reprs in some debuggers.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, OSError):
            print(f"Claude emulator: handler error {type(exc).__name__}", file=sys.stderr)


class EmulatorHandler(BaseHTTPRequestHandler):
    """Routes requests to the emulator's endpoints over HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "ClaudeEmulator/1"
    sys_version = ""
    timeout = CONNECTION_TIMEOUT
    # Headers and body go out in two writes; without this, Nagle plus delayed ACK
    # adds ~40 ms to every response.
    disable_nagle_algorithm = True
    server: EmulatorServer
    _request_id: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry authorization codes in their query strings."""

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def send_response(self, code: int, message: str | None = None) -> None:
        """Every response, including http.server's own error pages, gets a request-id."""
        super().send_response(code, message)
        request_id = self._request_id or "req_" + secrets.token_hex(12)
        self.send_header("request-id", request_id)

    def _read_body(self, path: str) -> bytes | Response:
        """The request body, or the answer when it cannot be read (the caller closes)."""
        unreadable = anthropic_error(400, "invalid_request_error", "Unreadable body")
        if self.headers.get("Transfer-Encoding"):
            return unreadable
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return unreadable
        largest = _MAX_MESSAGES_BODY if path == "/v1/messages" else _MAX_BODY
        if length > largest and path == "/v1/messages":
            # Claude's answer to a body over its limit.
            message = "Request exceeds the maximum allowed number of bytes."
            return anthropic_error(413, "request_too_large", message)
        if not 0 <= length <= largest:
            return unreadable
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        state = self.server.state
        request_id = self._request_id = "req_" + secrets.token_hex(12)
        parts = urlsplit(self.path)
        body = self._read_body(parts.path)
        if isinstance(body, Response):
            self.close_connection = True
            self._send(body)
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=headers,
            body=body,
            request_id=request_id,
        )
        if not req.path.startswith(CONTROL_PREFIX):
            state.record(
                RecordedRequest(
                    req.method,
                    req.path,
                    dict(headers),
                    req.json_body(),
                    {k: v[0] for k, v in req.query.items()},
                )
            )
        self._send(self._answer(state, req))

    def _answer(self, state: EmulatorState, req: Request) -> Response:
        method = "GET" if req.method == "HEAD" else req.method
        endpoint = endpoint_for(method, req.path)
        fault = state.take_fault(endpoint) if endpoint else None
        if fault is not None:
            replacement = fault_response(fault, req, state.wall_clock())
            if replacement is not None:
                return replacement
            if fault.name == "slow":
                time.sleep(float(fault.params.get("delay", 1.0)))
            elif fault.name == "revoke":
                state.revoke_all()
            else:
                req.fault = fault.name  # the route changes how it answers
        route = ROUTES.get((method, req.path))
        if route is None:
            return anthropic_error(404, "not_found_error", f"Not found: {req.method} {req.path}")
        try:
            return route(state, req)
        except Exception as exc:  # a bug in a route must not kill the connection silently
            print(f"Claude emulator: route error {type(exc).__name__}", file=sys.stderr)
            return anthropic_error(500, "api_error", "Internal server error")

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self._request_id = None
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)
