"""The call deadline under every socket operation of a client: TCP and Unix-socket
connects, the TLS handshake, reads and writes — over real loopback sockets.

``fetch``'s trickling-server cases (a plain TCP read past the deadline) are in
``test_http_client.py``; these are the other operations the backend wraps.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import httpcore
import httpx
import pytest

from claude_code_oauth.errors import NetworkError
from claude_code_oauth.net import call_deadline
from claude_code_oauth.net.http_client import fetch

#: What a server script does with one accepted connection.
Script = Callable[[socket.socket], None]


class _Listener:
    """A loopback listener (TCP, or a Unix socket at ``path``) that hands each
    connection to ``script`` on its own thread; ``gone`` is set when a client closes
    its side (the script returns after seeing that)."""

    def __init__(self, script: Script, path: Path | None = None, backlog: int = 16) -> None:
        if path is None:
            self.sock = socket.create_server(("127.0.0.1", 0), backlog=backlog)
            self.port = self.sock.getsockname()[1]
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(path))
            self.sock.listen(backlog)
            self.port = 0
        self._script = script

    def serve(self) -> _Listener:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._script(conn)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def listen() -> Iterator[Callable[..., _Listener]]:
    listeners: list[_Listener] = []

    def start(script: Script, path: Path | None = None, backlog: int = 16) -> _Listener:
        listener = _Listener(script, path, backlog)
        listeners.append(listener)
        return listener

    yield start
    for listener in listeners:
        listener.close()


@pytest.fixture(autouse=True)
def _no_deadline_on_this_thread() -> Iterator[None]:
    call_deadline.set_deadline(None)
    yield
    call_deadline.set_deadline(None)


def _until_closed(gone: threading.Event) -> Script:
    """Read (a TLS ClientHello, a request) and never answer; set ``gone`` when the
    client lets go of the connection."""

    def script(conn: socket.socket) -> None:
        conn.settimeout(60)
        while conn.recv(65536):
            pass
        gone.set()

    return script


def _workers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "claude-code-oauth-http"]


def _workers_end() -> bool:
    # Generous: "no leak", not speed (without the deadline the worker waits for ever).
    deadline = time.monotonic() + 10
    while _workers_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    return _workers_alive() == []


def _raised(call: Callable[[], object], deadline: float | None = None) -> BaseException | None:
    """What ``call`` raises on a thread of its own, whose deadline is ``deadline`` seconds
    away (or none); the test fails if it still runs after 10 s (generous: "no hang",
    not speed)."""
    raised: list[BaseException | None] = []

    def run() -> None:
        call_deadline.set_deadline(None if deadline is None else time.monotonic() + deadline)
        try:
            call()
        except BaseException as exc:
            raised.append(exc)
            return
        raised.append(None)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    assert raised, "the call still waits"
    return raised[0]


def test_a_tls_handshake_that_never_completes_ends_at_the_deadline(listen) -> None:
    """A server that takes the connection and never answers the ClientHello (a
    captive portal, a stuck proxy): the caller gets the one-line timeout, and the
    worker gives up the handshake at the same deadline instead of waiting for ever."""
    gone = threading.Event()
    server = listen(_until_closed(gone)).serve()
    with pytest.raises(NetworkError, match=r"\(127\.0\.0\.1:\d+\) did not answer within 1 s"):
        fetch("GET", f"https://127.0.0.1:{server.port}/x", what="The test endpoint", timeout=1.0)
    assert gone.wait(10), "the worker still waits for the server's TLS handshake"
    assert _workers_end()


def test_without_a_deadline_a_tls_handshake_keeps_httpx_own_timeout(listen) -> None:
    """Another use of the same client (no deadline on its thread) is not affected: its
    handshake times out after its own connect timeout, as plain httpx would."""
    gone = threading.Event()
    server = listen(_until_closed(gone)).serve()
    client = httpx.Client(trust_env=False)
    assert call_deadline.install(client) is True
    try:
        raised = _raised(lambda: client.get(f"https://127.0.0.1:{server.port}/x", timeout=0.5))
    finally:
        client.close()
    assert isinstance(raised, httpx.ConnectTimeout)


def test_the_deadline_holds_over_a_unix_socket(listen, tmp_path: Path) -> None:
    """A client on a Unix socket (``httpx.HTTPTransport(uds=…)``) gets the same
    bound: its worker stops reading a silent server at the deadline."""
    path = tmp_path / "s"
    gone = threading.Event()
    listen(_until_closed(gone), path=path).serve()
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(path)))
    try:
        with pytest.raises(NetworkError, match=r"\(unix\.test\) did not answer within 1 s"):
            fetch("GET", "http://unix.test/x", what="The test endpoint", timeout=1.0, client=client)
        assert gone.wait(10), "the worker still reads from the Unix socket"
        assert _workers_end()
    finally:
        client.close()


def test_a_unix_socket_answer_comes_back(listen, tmp_path: Path) -> None:
    path = tmp_path / "s"

    def ok(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    listen(ok, path=path).serve()
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(path)))
    try:
        response = fetch(
            "GET", "http://unix.test/x", what="The test endpoint", timeout=10.0, client=client
        )
    finally:
        client.close()
    assert response.status_code == 200 and response.json() == {}


def _fill_backlog(path: Path) -> list[socket.socket]:
    """Connections a listener never accepts, until its queue is full (the next
    blocking connect waits)."""
    held: list[socket.socket] = []
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(str(path))
        except BlockingIOError:
            sock.close()
            return held
        held.append(sock)


def test_a_unix_socket_server_too_busy_to_accept_is_refused_at_once(listen, tmp_path: Path) -> None:
    """A server whose queue is full: a Unix-socket connect with a time limit does not
    wait (the kernel says EAGAIN), so the call fails at once with httpx's
    ``ConnectError``, as plain httpx does, and no worker is left waiting to connect."""
    path = tmp_path / "s"
    listen(_until_closed(threading.Event()), path=path, backlog=0)  # never accepts
    held = _fill_backlog(path)
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(path)))
    try:
        with pytest.raises(httpx.ConnectError, match="Resource temporarily unavailable"):
            fetch("GET", "http://unix.test/x", what="The test endpoint", timeout=5.0, client=client)
        assert _workers_end(), "the worker still waits to connect"
        # The same from a thread without a deadline: httpx's own connect timeout holds.
        raised = _raised(lambda: client.get("http://unix.test/x", timeout=5.0))
        assert isinstance(raised, httpx.ConnectError)
        assert "Resource temporarily unavailable" in str(raised)
    finally:
        client.close()
        for sock in held:
            sock.close()


def test_a_refused_connect_is_retried_through_the_backend(listen, tmp_path: Path) -> None:
    """A transport with connect retries backs off through the backend (its ``sleep``)
    and, still refused, raises httpx's ``ConnectError`` as plain httpx does."""
    path = tmp_path / "nothing-listens-here"
    client = httpx.Client(transport=httpx.HTTPTransport(uds=str(path), retries=1))
    try:
        with pytest.raises(httpx.ConnectError):
            fetch(
                "GET", "http://unix.test/x", what="The test endpoint", timeout=10.0, client=client
            )
    finally:
        client.close()


# -- each operation begun after the deadline fails at once, as httpx's timeout of its kind


def _backend() -> call_deadline.DeadlineBackend:
    return call_deadline.DeadlineBackend(httpcore.SyncBackend())


def test_a_connect_begun_after_the_deadline_is_a_connect_timeout(listen, tmp_path: Path) -> None:
    server = listen(_until_closed(threading.Event())).serve()
    path = tmp_path / "s"
    listen(_until_closed(threading.Event()), path=path).serve()
    call_deadline.set_deadline(time.monotonic() - 1)
    with pytest.raises(httpcore.ConnectTimeout, match=r"^the call's deadline has passed$"):
        _backend().connect_tcp("127.0.0.1", server.port, timeout=5)
    with pytest.raises(httpcore.ConnectTimeout, match=r"^the call's deadline has passed$"):
        _backend().connect_unix_socket(str(path), timeout=5)


def test_io_begun_after_the_deadline_is_a_timeout_of_its_kind(listen) -> None:
    server = listen(_until_closed(threading.Event())).serve()
    call_deadline.set_deadline(time.monotonic() + 30)
    stream = _backend().connect_tcp("127.0.0.1", server.port, timeout=5)
    try:
        call_deadline.set_deadline(time.monotonic() - 1)
        with pytest.raises(httpcore.ReadTimeout, match=r"^the call's deadline has passed$"):
            stream.read(10, timeout=5)
        with pytest.raises(httpcore.WriteTimeout, match=r"^the call's deadline has passed$"):
            stream.write(b"x", timeout=5)
        with pytest.raises(httpcore.ConnectTimeout, match=r"^the call's deadline has passed$"):
            stream.start_tls(ssl.create_default_context(), "localhost", timeout=5)
    finally:
        stream.close()


@pytest.mark.parametrize("kind", ["tcp", "unix"])
def test_the_callers_socket_options_reach_the_socket(listen, tmp_path: Path, kind: str) -> None:
    """``socket_options`` given to a transport are set on the connection's socket, as
    plain httpx does (the backend passes them through)."""
    path = tmp_path / "s" if kind == "unix" else None
    server = listen(_until_closed(threading.Event()), path=path).serve()
    option = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    backend = _backend()
    stream = (
        backend.connect_tcp("127.0.0.1", server.port, timeout=5, socket_options=option)
        if path is None
        else backend.connect_unix_socket(str(path), timeout=5, socket_options=option)
    )
    try:
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    finally:
        stream.close()


@pytest.mark.parametrize("deadline", [None, 600.0], ids=["no-deadline", "far-deadline"])
def test_a_read_keeps_its_own_shorter_timeout(listen, deadline: float | None) -> None:
    """The deadline only ever shortens a timeout: a read given 0.5 s still ends after
    0.5 s on a thread without a deadline, or whose deadline is minutes away."""
    server = listen(_until_closed(threading.Event())).serve()
    client = httpx.Client(trust_env=False)
    call_deadline.install(client)
    try:
        raised = _raised(
            lambda: client.get(f"http://127.0.0.1:{server.port}/x", timeout=0.5), deadline
        )
    finally:
        client.close()
    assert isinstance(raised, httpx.ReadTimeout)


def test_a_read_without_a_timeout_of_its_own_ends_at_the_deadline(listen) -> None:
    """A client told to wait for ever (``timeout=None``) still stops reading a silent
    server at the thread's deadline."""
    server = listen(_until_closed(threading.Event())).serve()
    client = httpx.Client(trust_env=False)
    call_deadline.install(client)
    try:
        raised = _raised(lambda: client.get(f"http://127.0.0.1:{server.port}/x", timeout=None), 0.5)
    finally:
        client.close()
    assert isinstance(raised, httpx.ReadTimeout)


def test_a_thread_that_never_set_a_deadline_has_none(listen) -> None:
    """A thread that never called ``set_deadline`` (not even with ``None``) uses the
    client as plain httpx would."""

    def ok(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    server = listen(ok).serve()
    client = httpx.Client(trust_env=False)
    call_deadline.install(client)
    got: list[object] = []

    def run() -> None:
        try:
            got.append(client.get(f"http://127.0.0.1:{server.port}/x", timeout=10).status_code)
        except BaseException as exc:
            got.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    try:
        thread.start()
        thread.join(20)
    finally:
        client.close()
    assert got == [200]


@pytest.mark.parametrize("deadline", [None, 600.0], ids=["no-deadline", "far-deadline"])
def test_a_write_keeps_its_own_shorter_timeout(listen, deadline: float | None) -> None:
    """The same for a write: an upload to a server that reads nothing (its buffers full)
    ends after the write timeout, not at a far deadline or never."""
    release = threading.Event()
    server = listen(lambda conn: release.wait(60)).serve()  # never reads
    client = httpx.Client(trust_env=False)
    call_deadline.install(client)
    url = f"http://127.0.0.1:{server.port}/x"
    try:
        raised = _raised(lambda: client.post(url, content=b"x" * (64 << 20), timeout=0.5), deadline)
    finally:
        release.set()
        client.close()
    assert isinstance(raised, httpx.WriteTimeout)


def _full_tcp_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listener that never accepts, its queue filled: the kernel drops further SYNs, so
    the next connect waits."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=0)
    held: list[socket.socket] = []
    while True:
        sock = socket.socket()
        sock.settimeout(1)  # a loopback connect completes inside the call, or never
        try:
            sock.connect(listener.getsockname())
        except TimeoutError:
            sock.close()
            return listener, held
        held.append(sock)


@pytest.mark.parametrize("deadline", [None, 600.0], ids=["no-deadline", "far-deadline"])
def test_a_tcp_connect_keeps_its_own_shorter_timeout(deadline: float | None) -> None:
    listener, held = _full_tcp_listener()
    client = httpx.Client(trust_env=False)
    call_deadline.install(client)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/x"
    try:
        assert isinstance(
            _raised(lambda: client.get(url, timeout=0.5), deadline), httpx.ConnectTimeout
        )
    finally:
        client.close()
        for sock in [listener, *held]:
            sock.close()


def test_the_transports_local_address_is_used(listen) -> None:
    """``local_address`` given to a transport (the address to send from) reaches the
    socket, as plain httpx does."""
    server = listen(_until_closed(threading.Event())).serve()
    stream = _backend().connect_tcp("127.0.0.1", server.port, timeout=5, local_address="127.0.0.2")
    try:
        assert stream.get_extra_info("socket").getsockname()[0] == "127.0.0.2"
    finally:
        stream.close()


class _PoolMoved(httpx.BaseTransport):
    """A transport as a future httpx might shape it: a pool without the attribute
    ``install`` reaches for."""

    def __init__(self) -> None:
        self._pool = types.SimpleNamespace()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(204)


@pytest.mark.parametrize(
    "transport", [httpx.MockTransport(lambda request: httpx.Response(204)), _PoolMoved()]
)
def test_install_says_it_could_not_when_the_backend_is_out_of_reach(
    transport: httpx.BaseTransport,
) -> None:
    """A transport without a pool (a mock, WSGI) or whose pool moved its backend: no
    error, ``False`` (the deadline still bounds the caller, not the worker), nothing
    touched."""
    client = httpx.Client(transport=transport)
    try:
        assert call_deadline.install(client) is False
        assert client.get("http://example.test/").status_code == 204
    finally:
        client.close()
    pool = getattr(transport, "_pool", None)
    assert pool is None or vars(pool) == {}


def test_an_operation_may_start_until_the_deadline_itself(listen) -> None:
    """Nothing is refused before the deadline: a connect with under a second left still
    goes ahead (the margin is for the two statements between, not a timing claim)."""
    server = listen(_until_closed(threading.Event())).serve()
    call_deadline.set_deadline(time.monotonic() + 0.999)
    stream = _backend().connect_tcp("127.0.0.1", server.port, timeout=5)
    stream.close()


def test_a_mounted_transport_gets_the_deadline_when_the_main_one_cannot(listen) -> None:
    """Proxy transports are mounts: each gets the backend on its own, even behind a main
    transport without a pool."""
    gone = threading.Event()

    def trickle(conn: socket.socket) -> None:
        # A byte every 0.2 s: each read is well within its own timeout; only the
        # call's deadline ends it.
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        try:
            for _ in range(1000):
                conn.sendall(b" ")
                if gone.wait(0.2):
                    return
        except OSError:
            gone.set()

    server = listen(trickle).serve()
    client = httpx.Client(
        transport=httpx.MockTransport(lambda request: httpx.Response(204)),
        mounts={f"http://127.0.0.1:{server.port}": httpx.HTTPTransport()},
    )
    try:
        with pytest.raises(NetworkError, match="did not answer within 1 s"):
            fetch(
                "GET",
                f"http://127.0.0.1:{server.port}/x",
                what="The test endpoint",
                timeout=1.0,
                client=client,
            )
        assert gone.wait(10), "the worker still reads through the mounted transport"
        assert _workers_end()
    finally:
        client.close()
