"""A mutating, trickling HTTP proxy for tests: a broken or hostile server on demand.

Put it in front of the emulator (or any plain-HTTP server) and tell it, per
path, how to misbehave::

    with ClaudeEmulator() as emu, HostileProxy(emu.base_url) as proxy:
        env = {**os.environ, **proxy.env(emu.env())}   # token and API calls go through it
        proxy.add_rule("/v1/oauth/token", set_json={"expires_in": "1e999"})
        proxy.add_rule("/v1/oauth/token", trickle=1.5)  # a byte every 1.5 s
        ...
        proxy.exchanges[-1].client_left_after   # when the client hung up

What a rule can do (all optional, combined in this order): answer by itself
(``forward=False``) or forward the request upstream; replace the status, the
body (bytes, or a function of the request) or headers; put raw JSON text as a
top-level member (``set_json={"expires_in": "NaN"}`` — any text, so numbers
Python would never write), or drop members; pad the body to a size (sent
without ``Content-Length``, in 64 KiB chunks, until the client stops reading);
compress it into a bomb (``encode=("gzip", "gzip"), inflate_by=2 << 30``: the
body behind 2 GiB of spaces, 5 KB on the wire); and send the head and/or the
body one byte per ``trickle`` seconds.

Every exchange is recorded (:class:`Exchange`): what was asked, which rule
applied, how many body bytes went out, and whether and when the client hung
up. The records hold request headers (tokens): compare them, never print them.

Only the standard library; every connection is closed after one answer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .serve_loop import ServeLoop

__all__ = ["Exchange", "HostileProxy", "Rule"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
}
_CHUNK = 65536
#: The ``env()`` keys routed through the proxy (the browser-facing URLs stay direct:
#: the emulator checks the manual redirect against its own address).
_PROXIED_KEYS = ("CLAUDE_CODE_OAUTH_TOKEN_URL", "CLAUDE_CODE_OAUTH_API_BASE_URL")


@dataclass
class ProxiedRequest:
    """One request as the proxy received it (``headers`` have lower-case names)."""

    method: str
    path: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def bearer(self) -> str:
        """The token in ``Authorization: Bearer ...`` (``""`` when there is none)."""
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else ""


@dataclass
class Rule:
    """How to answer requests to ``path`` (``method`` ``None``: any); ``times`` ``None``: all."""

    path: str
    method: str | None = None
    times: int | None = 1
    forward: bool = True
    status: int | None = None
    body: bytes | Callable[[ProxiedRequest], bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    set_json: dict[str, str] = field(default_factory=dict)
    drop_json: tuple[str, ...] = ()
    pad_to: int | None = None
    trickle: float | None = None
    trickle_head: bool = False
    #: Compress the body with these encodings in turn (the first innermost), after
    #: preceding it by ``inflate_by`` spaces: a compressed bomb (see
    #: :mod:`.compression_bombs`); ``Content-Encoding`` lists them.
    encode: tuple[str, ...] = ()
    inflate_by: int = 0
    #: Called once the answer is ready (forwarded: the server has acted on the
    #: request), before a byte of it is sent: to fail the client's machine mid-call.
    before_answer: Callable[[], None] | None = None

    def matches(self, method: str, path: str) -> bool:
        return path == self.path and (self.method is None or self.method == method)


@dataclass
class Exchange:
    """What happened to one request."""

    request: ProxiedRequest
    rule: Rule | None
    started: float
    status: int = 0
    body_bytes_sent: int = 0
    #: Seconds from the start until the client hung up before the answer was complete.
    client_left_after: float | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class _Gone(Exception):
    """The client closed the connection."""


class HostileProxy:
    """A loopback HTTP server that forwards to ``upstream`` and misbehaves as told."""

    def __init__(self, upstream: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("the upstream must be an http:// base URL")
        self.upstream = upstream.rstrip("/")
        self._upstream_host = parts.hostname
        self._upstream_port = parts.port or 80
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self.exchanges: list[Exchange] = []
        self._stop = threading.Event()
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self.base_url = f"http://{bound_host!s}:{bound_port}"
        self._loop: ServeLoop | None = None

    # -- life cycle --------------------------------------------------------------

    def start(self) -> HostileProxy:
        self._loop = ServeLoop(self._server, "hostile-proxy")
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop serving; trickles in progress end at once. Idempotent."""
        self._stop.set()
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
        self._server.server_close()

    def __enter__(self) -> HostileProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration -------------------------------------------------------------

    def env(self, upstream_env: Mapping[str, str]) -> dict[str, str]:
        """``upstream_env`` (for example ``emulator.env()``) with the token and API
        URLs pointed at this proxy."""
        env = dict(upstream_env)
        for key in _PROXIED_KEYS:
            if key in env and env[key].startswith(self.upstream):
                env[key] = self.base_url + env[key][len(self.upstream) :]
        return env

    def add_rule(self, path: str, **options: Any) -> Rule:
        """Queue a :class:`Rule`; rules for one request are tried in the order added."""
        rule = Rule(path, **options)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def requests_to(self, path: str) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.request.path == path]

    # -- serving ---------------------------------------------------------------------

    def _take_rule(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path) and (rule.times is None or rule.times > 0):
                    if rule.times is not None:
                        rule.times -= 1
                    return rule
        return None

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        target = handler.path
        request = ProxiedRequest(
            method=handler.command,
            path=urlsplit(target).path,
            target=target,
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        rule = self._take_rule(request.method, request.path)
        exchange = Exchange(request, rule, time.monotonic())
        with self._lock:
            self.exchanges.append(exchange)
        try:
            status, reason, headers, payload = self._response(request, rule)
            if rule is not None and rule.before_answer is not None:
                rule.before_answer()
            exchange.status = status
            self._send(handler.connection, exchange, status, reason, headers, payload, rule)
        except _Gone:
            exchange.client_left_after = time.monotonic() - exchange.started
        finally:
            exchange.finished.set()

    def _response(
        self, request: ProxiedRequest, rule: Rule | None
    ) -> tuple[int, str, list[tuple[str, str]], bytes]:
        if rule is None or rule.forward:
            status, reason, headers, payload = self._forward(request)
        else:
            status, reason, headers, payload = 200, "OK", [], b""
        if rule is None:
            return status, reason, headers, payload
        if rule.status is not None:
            status, reason = rule.status, http.client.responses.get(rule.status, "Status")
        if rule.body is not None:
            payload = rule.body(request) if callable(rule.body) else rule.body
        if rule.set_json or rule.drop_json:
            payload = _mutate_json(payload, rule.set_json, rule.drop_json)
        if rule.encode:
            from .compression_bombs import bomb

            payload = bomb(payload, rule.inflate_by, rule.encode)
            headers = [(k, v) for k, v in headers if k.lower() != "content-encoding"]
            headers.append(("Content-Encoding", ", ".join(rule.encode)))
        for name, value in rule.headers.items():
            headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, value))
        return status, reason, headers, payload

    def _forward(self, request: ProxiedRequest) -> tuple[int, str, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self._upstream_host, self._upstream_port, timeout=30)
        try:
            headers = {
                k: v for k, v in request.headers.items() if k not in _HOP_BY_HOP and k != "host"
            }
            headers["Connection"] = "close"
            upstream.request(request.method, request.target, body=request.body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
            kept = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
            return answer.status, answer.reason, kept, payload
        finally:
            upstream.close()

    def _send(
        self,
        conn: socket.socket,
        exchange: Exchange,
        status: int,
        reason: str,
        headers: list[tuple[str, str]],
        payload: bytes,
        rule: Rule | None,
    ) -> None:
        padded = rule is not None and rule.pad_to is not None
        head = f"HTTP/1.1 {status} {reason}\r\n"
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        if not padded:
            head += f"Content-Length: {len(payload)}\r\n"
        head += "Connection: close\r\n\r\n"
        trickle = rule.trickle if rule is not None else None
        if trickle and rule is not None and rule.trickle_head:
            self._trickle(conn, head.encode("latin-1"), trickle, exchange, count=False)
        else:
            self._write(conn, head.encode("latin-1"))
        if padded:
            assert rule is not None and rule.pad_to is not None
            self._pad(conn, payload, rule.pad_to, exchange)
        elif trickle:
            self._trickle(conn, payload, trickle, exchange, count=True)
        else:
            self._write(conn, payload)
            exchange.body_bytes_sent = len(payload)
        with contextlib.suppress(OSError):
            conn.shutdown(socket.SHUT_WR)

    def _trickle(
        self, conn: socket.socket, data: bytes, interval: float, exchange: Exchange, *, count: bool
    ) -> None:
        for index in range(len(data)):
            if index and (self._stop.wait(interval) or _client_gone(conn)):
                raise _Gone
            self._write(conn, data[index : index + 1])
            if count:
                exchange.body_bytes_sent += 1

    def _pad(self, conn: socket.socket, payload: bytes, size: int, exchange: Exchange) -> None:
        """A JSON object of about ``size`` bytes: ``payload``'s members plus a long string."""
        opening = b'{"padding": "'
        closing = b'"}' if payload.strip() in (b"", b"{}") else b'", ' + payload.strip()[1:]
        self._write(conn, opening)
        left = max(0, size - len(opening) - len(closing))
        filler = b"x" * _CHUNK
        while left > 0 and not self._stop.is_set():
            piece = filler[: min(_CHUNK, left)]
            self._write(conn, piece)
            exchange.body_bytes_sent += len(piece)
            left -= len(piece)
        self._write(conn, closing)

    @staticmethod
    def _write(conn: socket.socket, data: bytes) -> None:
        try:
            conn.sendall(data)
        except OSError:
            raise _Gone from None


def _client_gone(conn: socket.socket) -> bool:
    """True once the client has closed its end (a readable socket with nothing to read)."""
    try:
        readable, _, _ = select.select([conn], [], [], 0)
        if not readable:
            return False
        return conn.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _mutate_json(payload: bytes, put: Mapping[str, str], drop: tuple[str, ...]) -> bytes:
    """``payload`` (a JSON object) with members dropped and raw JSON text put in."""
    try:
        data: Any = json.loads(payload) if payload else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    for key in list(drop) + list(put):
        data.pop(key, None)
    text = json.dumps(data)
    members = [f"{json.dumps(key)}: {raw}" for key, raw in put.items()]
    if members:
        inner = text[1:-1].strip()
        text = "{" + ", ".join([inner, *members] if inner else members) + "}"
    return text.encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines can carry codes."""

    def handle_one_request(self) -> None:
        # Parse with http.server, answer with raw writes, one request per connection.
        self.close_connection = True
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except OSError:
            return
        if not self.raw_requestline or not self.parse_request():
            return
        with contextlib.suppress(OSError):
            self.server.proxy._answer(self)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: HostileProxy) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away is normal here; stay quiet."""
