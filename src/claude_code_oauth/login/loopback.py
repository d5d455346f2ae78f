"""The loopback redirect receiver (RFC 8252 §7.3).

:class:`LoopbackReceiver` listens on ``127.0.0.1`` and, where the machine has
IPv6, on ``::1`` at the same port, so ``http://localhost:PORT/...`` reaches it
whichever address the browser resolves first, and no other local process can
sit on ``[::1]:PORT`` and take the callback. It never binds other interfaces.

States: *bound* (ports open) → *serving* → *closed* (ports released). Only an
origin-form ``GET`` of exactly the callback path (not ``//callback``, not an
absolute-form target, not ``/callback/..``) with the expected ``state`` counts;
other targets get 404, other methods 405, a wrong or missing state an error
page, and in each of those cases it keeps waiting. The ``Host`` header must be
exactly one of ``localhost``, ``127.0.0.1`` or ``[::1]`` with the listening
port, and given once (DNS rebinding, ``localhost.``, userinfo: refused).
``on_rejected`` hears each distinct cause once, so a web page firing a flood of
requests at the port costs the terminal one line per cause, not one per request.
Request lines are never logged: they carry the authorization code.

:meth:`LoopbackReceiver.start_address` gives a one-time address
(``http://localhost:PORT/start/<random>``) that answers 302 to the authorize
URL: the browser is started with that, so its command line — readable by every
local user in ``/proc`` — holds neither ``state`` nor ``code_challenge``.

The first accepted callback's browser tab is held open until the caller calls
:meth:`LoopbackReceiver.finish` with the outcome, so the page can say whether
the sign-in really worked.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import secrets
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl

from ..errors import PortUnavailable
from . import callback_pages

# errnos meaning "this machine has no usable ::1", as opposed to "port taken".
_NO_IPV6 = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT, errno.EPROTONOSUPPORT}
# Seconds close() waits for the serving thread it has just woken (it ends at once).
_SERVE_JOIN = 5.0


class CallbackParams:
    """What the authorization server sent to the callback (the state already matched)."""

    __slots__ = ("code", "error", "error_description", "received_at")

    def __init__(self, code: str | None, error: str | None, error_description: str | None) -> None:
        self.code = code
        self.error = error
        self.error_description = error_description
        #: ``time.monotonic()`` when the request line arrived.
        self.received_at = time.monotonic()

    def __repr__(self) -> str:  # never show the code
        return f"<CallbackParams error={self.error!r} has_code={self.code is not None}>"


def _listen(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Rebinding right after a previous login (TIME_WAIT) must work; on Linux this
        # does not let two listeners share a port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen(16)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def bind_loopback(port: int) -> list[socket.socket] | None:
    """Listening sockets on 127.0.0.1 and ::1 at ``port`` (0: any), or ``None`` if taken.

    IPv4-only machines get one socket. If ``[::1]:port`` is taken by someone else
    the port is given up, since that process could receive our callback.
    """
    try:
        v4 = _listen(socket.AF_INET, "127.0.0.1", port)
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return None
        raise
    port = v4.getsockname()[1]
    if not socket.has_ipv6:
        return [v4]
    try:
        v6 = _listen(socket.AF_INET6, "::1", port)
    except OSError as exc:
        if exc.errno in _NO_IPV6:
            return [v4]
        v4.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            return None
        raise
    return [v4, v6]


class _Handler(BaseHTTPRequestHandler):
    server_version = "claude-code-oauth"
    sys_version = ""
    receiver: LoopbackReceiver  # set on the per-receiver subclass

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds the authorization code: never log it.
        return

    def _send(self, status: int, body: bytes, location: str | None = None) -> None:
        self.send_response(status)
        for name, value in callback_pages.SECURITY_HEADERS.items():
            self.send_header(name, value)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.receiver._handle(self)

    def _not_allowed(self) -> None:
        self._send(405, callback_pages.not_found())

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_allowed


class LoopbackReceiver:
    """Receives one authorization response on ``http://localhost:<port><path>``.

    ``on_callback(params)`` is called (from a server thread) for each request
    with the right state; it returns ``True`` if this callback is the one being
    processed — that tab then waits for :meth:`finish` — or ``False`` if the
    login already has its answer. ``on_rejected(reason)`` is told about requests
    with a wrong or missing state, so the terminal can say so.
    """

    def __init__(
        self,
        *,
        expected_state: str,
        path: str,
        on_callback: Callable[[CallbackParams], bool],
        on_rejected: Callable[[str], None] | None = None,
        request_timeout: float = 10.0,
        finish_wait: float = 60.0,
    ) -> None:
        self._state = expected_state
        self._path = path
        self._on_callback = on_callback
        self._on_rejected = on_rejected or (lambda reason: None)
        self._request_timeout = request_timeout
        self._finish_wait = finish_wait
        self._sockets: list[socket.socket] = []
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._outcome: tuple[bool, str] | None = None
        self._outcome_set = threading.Event()
        self._page_sent = threading.Event()
        self._closed = False
        #: A callback was accepted, so its tab waits for the result page.
        self._accepted = False
        #: Causes already reported through ``on_rejected`` (each is reported once).
        self._reported: set[str] = set()
        #: The one-time start path and where it redirects (see :meth:`start_address`).
        self._start_path: str | None = None
        self._start_target: str | None = None
        self._start_used = False
        self.port = 0
        handler = type("_BoundHandler", (_Handler,), {"receiver": self})
        self._handler_cls: type[_Handler] = handler

    # -- life cycle ------------------------------------------------------------

    def bind(self, port_range: tuple[int, int]) -> int:
        """Open the first free port of ``port_range``, else an OS-assigned one."""
        low, high = port_range
        for port in range(low, high + 1):
            socks = bind_loopback(port)
            if socks:
                return self._adopt(socks)
        for _ in range(20):  # the range is full: let the OS pick (RFC 8252 §7.3)
            socks = bind_loopback(0)
            if socks:
                return self._adopt(socks)
        raise PortUnavailable(
            f"No loopback port is free in {low}-{high}, and no port could be opened on "
            "127.0.0.1 and ::1.",
            hint="Close the programs using those ports, or set "
            "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE; you can also sign in with the manual URL.",
        )

    def _adopt(self, socks: list[socket.socket]) -> int:
        self._sockets = socks
        self.port = socks[0].getsockname()[1]
        return self.port

    def start_address(self, target: str, base: str = "http://localhost") -> str:
        """A one-time loopback address that answers 302 to ``target`` (after :meth:`bind`).

        ``base`` is the loopback origin without port (the configured redirect host).
        The random path is single-use: a second request gets a page saying so.
        """
        if not self.port:
            raise RuntimeError("bind() first")
        self._start_path = "/start/" + secrets.token_urlsafe(24)
        self._start_target = target
        return f"{base}:{self.port}{self._start_path}"

    @property
    def addresses(self) -> list[str]:
        """The bound addresses, e.g. ``['127.0.0.1', '::1']``."""
        return [s.getsockname()[0] for s in self._sockets]

    def start(self) -> None:
        """Start serving in a background thread (after :meth:`bind`)."""
        if not self._sockets:
            raise RuntimeError("bind() first")
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        for sock in self._sockets:
            self._selector.register(sock, selectors.EVENT_READ)
        self._thread = threading.Thread(
            target=self._serve, name="claude-code-oauth-callback", daemon=True
        )
        self._thread.start()

    def finish(self, ok: bool, message: str) -> None:
        """Tell the waiting browser tab how the sign-in ended (``message`` is escaped)."""
        self._outcome = (ok, message)
        self._outcome_set.set()

    def close(self, page_grace: float = 2.0) -> None:
        """Release the ports. Idempotent; waits briefly for the result page to be sent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if not self._outcome_set.is_set():
            self.finish(False, "The sign-in was cancelled in the terminal.")
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(_SERVE_JOIN)  # woken above; bounded all the same
        for sock in self._sockets:
            sock.close()
        if self._selector is not None:
            self._selector.close()
        for wake in (self._wake_r, self._wake_w):
            if wake is not None:
                wake.close()
        self._page_sent.wait(page_grace if self._accepted else 0)
        # Idle connections (browser pre-connects) would otherwise sit out their timeout.
        with self._lock:
            pending = list(self._connections.items())
        for conn, _ in pending:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for _, thread in pending:
            thread.join(1.0)

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving -----------------------------------------------------------------

    def _serve(self) -> None:
        assert self._selector is not None
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_r:
                    return
                listener = key.fileobj
                assert isinstance(listener, socket.socket)
                try:
                    conn, addr = listener.accept()
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    continue
                conn.setblocking(True)
                conn.settimeout(self._request_timeout)
                worker = threading.Thread(target=self._connection, args=(conn, addr), daemon=True)
                with self._lock:
                    self._connections[conn] = worker
                worker.start()

    def _connection(self, conn: socket.socket, addr: tuple[str, int]) -> None:
        try:
            self._handler_cls(conn, addr, None)  # type: ignore[arg-type]  # no server: unused
        except (OSError, ValueError):
            pass  # a client that went away or sent garbage: nothing to do
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            with contextlib.suppress(OSError):
                conn.close()

    def _host_allowed(self, request: _Handler) -> bool:
        """Exactly one ``Host``: ``localhost``, ``127.0.0.1`` or ``[::1]`` with our port."""
        hosts = request.headers.get_all("Host") or []
        if len(hosts) != 1:
            return False
        from ..config_rules import RECEIVER_HOSTS

        port = self.port
        allowed = {f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in RECEIVER_HOSTS}
        return hosts[0].strip().lower() in allowed

    def _report(self, reason: str) -> None:
        """Tell ``on_rejected`` about ``reason``, once per distinct reason."""
        with self._lock:
            if reason in self._reported:
                return
            self._reported.add(reason)
        self._on_rejected(reason)

    def _handle(self, request: _Handler) -> None:
        if not self._host_allowed(request):
            request._send(403, callback_pages.refused_host())
            return
        # The request line as sent: http.server rewrites a leading "//" in .path.
        words = request.requestline.split()
        target = words[1] if len(words) >= 2 else ""
        # Origin form only: "/callback?...". Not "//host/callback", not "http://...".
        if not target.startswith("/") or target.startswith("//"):
            request._send(404, callback_pages.not_found())
            return
        path, _, query = target.partition("?")
        if self._start_path is not None and path == self._start_path:
            self._redirect_to_start_target(request)
            return
        if path != self._path:
            request._send(404, callback_pages.not_found())
            return
        pairs = parse_qsl(query, keep_blank_values=True)
        params: dict[str, str] = {}
        duplicated = False
        for name, value in pairs:
            duplicated |= name in params
            params[name] = value
        state = params.get("state", "")
        # Bytes: compare_digest raises TypeError on non-ASCII str (any garbage state).
        matches = bool(state) and hmac.compare_digest(state.encode(), self._state.encode())
        if duplicated or not matches:
            reason = "missing" if not state else "repeated" if duplicated else "wrong"
            self._report(f"a callback with a {reason} state was ignored")
            request._send(400, callback_pages.wrong_state())
            return
        code = params.get("code") or None
        error = params.get("error") or None
        if not code and not error:
            self._report("a callback without code or error was ignored")
            request._send(
                400, callback_pages.failed("The response had neither a code nor an error.")
            )
            return
        callback = CallbackParams(code, error, params.get("error_description") or None)
        if not self._on_callback(callback):
            request._send(200, callback_pages.already_done())
            return
        self._accepted = True
        self._outcome_set.wait(self._finish_wait)
        if self._outcome is None:
            request._send(200, callback_pages.received())
        else:
            ok, message = self._outcome
            page = callback_pages.signed_in(message) if ok else callback_pages.failed(message)
            request._send(200 if ok else 400, page)
        self._page_sent.set()

    def _redirect_to_start_target(self, request: _Handler) -> None:
        with self._lock:
            used, self._start_used = self._start_used, True
        if used or self._start_target is None:
            request._send(410, callback_pages.start_used())
            return
        request._send(302, callback_pages.redirecting(), location=self._start_target)
