"""``fetch``: one HTTP call bounded in time and size, against real sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from claude_code_oauth.errors import NetworkError
from claude_code_oauth.net import call_deadline
from claude_code_oauth.net.http_client import ResponseTooLarge, fetch, shared_client


class _Server:
    """A loopback server that answers each connection with ``script(conn)``."""

    def __init__(self, script) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/x"
        self._script = script
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self._script(conn, self._stop)
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._sock.close()


@pytest.fixture
def serve() -> Iterator:
    servers: list[_Server] = []

    def start(script) -> _Server:
        server = _Server(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _trickle(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    while not stop.wait(0.2):
        conn.sendall(b" ")


def _trickle_headers(conn: socket.socket, stop: threading.Event) -> None:
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
        if stop.wait(0.2):
            return
        conn.sendall(bytes([byte]))


@pytest.mark.parametrize("script", [_trickle, _trickle_headers], ids=["body", "headers"])
def test_a_trickling_server_cannot_hold_the_call_past_the_deadline(serve, script) -> None:
    server = serve(script)
    started = time.monotonic()
    with pytest.raises(NetworkError, match=r"127\.0\.0\.1:\d+\) did not answer within 1 s"):
        fetch("GET", server.url, what="The test endpoint", timeout=1.0)
    # Generous: this proves "no hang" (each byte came well within any read timeout).
    assert time.monotonic() - started < 5


def _workers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "claude-code-oauth-http"]


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_the_abandoned_worker_lets_go_of_the_socket_at_the_deadline(serve, phase: str) -> None:
    """Without a deadline on the worker's own reads, it would keep a thread and a
    socket for as long as the server trickles (here 200 s), long after the caller
    gave up: in Code Puppy, one more per refresh attempt."""
    gone = threading.Event()
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"

    def trickle(conn: socket.socket, stop: threading.Event) -> None:
        if phase == "body":
            conn.sendall(head)
        try:
            for byte in (b"X-Slow: " if phase == "headers" else b"") + b"a" * 1000:
                if stop.wait(0.2):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            gone.set()

    server = serve(trickle)
    with pytest.raises(NetworkError, match="did not answer within 1 s"):
        fetch("GET", server.url, what="The test endpoint", timeout=1.0)
    # Generous bounds, "no leak" not speed: the deadline was 1 s, the trickle 200 s.
    assert gone.wait(10), "the worker still reads from the server"
    deadline = time.monotonic() + 10
    while _workers_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _workers_alive() == []


def test_the_deadline_backend_is_installed_in_the_shared_client(fresh_shared_client) -> None:
    # Reaches one attribute below httpx's API: an httpx upgrade that moves it fails here.
    client = shared_client()
    assert shared_client() is client  # one per process
    assert call_deadline.install(client) is True
    assert call_deadline.install(httpx.Client()) is True


def test_threads_without_a_deadline_are_not_affected(serve) -> None:
    def slow_ok(conn: socket.socket, stop: threading.Event) -> None:
        stop.wait(0.3)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    server = serve(slow_ok)
    call_deadline.set_deadline(time.monotonic() - 1)  # this thread's: passed ...
    call_deadline.set_deadline(None)  # ... and cleared: plain httpx timeouts again
    assert shared_client().get(server.url, timeout=10).status_code == 200


def test_a_body_over_the_cap_is_refused_and_reading_stops(serve) -> None:
    sent: list[int] = []

    def endless(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 65536
        while not stop.is_set():
            conn.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent.append(len(chunk))

    server = serve(endless)
    with pytest.raises(ResponseTooLarge, match="larger than 1024 KiB"):
        fetch("GET", server.url, what="The test endpoint", timeout=10.0, max_bytes=1 << 20)
    # Reading stopped at the cap: the server could send at most the cap plus what the
    # sockets' buffers hold (a few MiB on loopback), not the endless stream.
    assert sum(sent) < (1 << 20) + (16 << 20)


def test_a_declared_length_over_the_cap_is_refused_before_reading(serve) -> None:
    def big(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n")
        stop.wait(5)

    server = serve(big)
    with pytest.raises(ResponseTooLarge):
        fetch("GET", server.url, what="The test endpoint", timeout=10.0, max_bytes=1000)


def test_a_complete_answer_comes_back_loaded(serve, fresh_shared_client) -> None:
    def ok(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b'Content-Length: 11\r\n\r\n{"a": true}'
        )

    server = serve(ok)
    response = fetch("GET", server.url, what="The test endpoint", timeout=5.0)
    assert response.status_code == 200 and response.json() == {"a": True}


def test_a_body_read_in_several_steps_comes_back_byte_for_byte(serve) -> None:
    # More than one 64 KiB read step, every byte distinct in its position: a body put
    # together wrongly (a separator, a step lost or repeated) cannot compare equal.
    body = bytes(range(256)) * 1024  # 256 KiB

    def answer(conn: socket.socket, stop: threading.Event) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    server = serve(answer)
    response = fetch("GET", server.url, what="The test endpoint", timeout=10.0)
    assert response.content == body


@pytest.mark.parametrize("host", ["a..b", "xn--"])
def test_a_host_name_the_resolver_refuses_is_a_network_error(host: str) -> None:
    # httpx leaves these (UnicodeError, IDNAError) unwrapped: they were tracebacks.
    with pytest.raises(NetworkError, match=r"could not be reached") as caught:
        fetch("GET", f"http://{host}/x", what="The test endpoint", timeout=5.0)
    assert "\n" not in str(caught.value)


def test_a_local_file_error_in_an_auth_flow_is_named_not_called_unreachable(serve) -> None:
    """An auth flow that hits a read-only lock file raises an OSError naming the file:
    it is said as such, never as a host that 'could not be reached'."""
    import errno

    from claude_code_oauth.errors import StorageError

    class LockedOut(httpx.Auth):
        def auth_flow(self, request: httpx.Request):
            raise OSError(errno.EROFS, "Read-only file system", "/data/claude_code_oauth.json.lock")
            yield request

    server = serve(lambda conn, stop: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
    with pytest.raises(StorageError) as caught:
        fetch("GET", server.url, what="The models endpoint", timeout=10.0, auth=LockedOut())
    line = str(caught.value)
    assert "/data/claude_code_oauth.json.lock" in line and "Read-only file system" in line
    assert "could not be reached" not in line and "Remount" in line


def test_a_hung_name_lookup_cannot_hold_the_call_past_the_deadline(monkeypatch) -> None:
    """No socket deadline bounds ``getaddrinfo``: the caller's own wait does. A lookup
    that hangs (a dead DNS server) gives the caller :class:`NetworkError` at its
    deadline, never a hang and never httpx's raw ``ConnectError`` when the lookup fails
    much later."""
    real = socket.getaddrinfo
    release = threading.Event()
    asked: list[str] = []

    def hung_lookup(host, *args, **kwargs):
        if host != "lookup-hangs.test":
            return real(host, *args, **kwargs)
        asked.append(host)
        release.wait(20)  # the dead DNS server gives up at last (or the test ends)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", hung_lookup)
    client = httpx.Client(trust_env=False)
    started = time.monotonic()
    try:
        with pytest.raises(NetworkError) as caught:
            fetch(
                "GET",
                "http://lookup-hangs.test/x",
                what="The test endpoint",
                timeout=0.5,
                client=client,
            )
        assert str(caught.value) == (
            "The test endpoint (lookup-hangs.test) did not answer within 0.5 s (the whole "
            "answer). Check your connection, or raise CLAUDE_CODE_OAUTH_HTTP_TIMEOUT."
        )
        # Generous: "no hang", not speed (the lookup itself would take 20 s).
        assert time.monotonic() - started < 10
        assert asked == ["lookup-hangs.test"]
    finally:
        release.set()
        client.close()


# -- what the caller is told, word for word ------------------------------------------------

HINT_TIMEOUT = "Check your connection, or raise CLAUDE_CODE_OAUTH_HTTP_TIMEOUT."


def _ok(conn: socket.socket, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")


class _Raises(httpx.Auth):
    """An auth flow that fails before sending, as one doing its own I/O may."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def auth_flow(self, request: httpx.Request):
        raise self.error
        yield request


def test_an_httpx_timeout_inside_the_call_is_one_line_naming_the_endpoint(serve) -> None:
    server = serve(_ok)
    host = server.url.removeprefix("http://").removesuffix("/x")
    with pytest.raises(NetworkError) as caught:
        fetch(
            "GET",
            server.url,
            what="The test endpoint",
            timeout=10.0,
            auth=_Raises(httpx.ConnectTimeout("timed out")),
        )
    assert (
        str(caught.value)
        == f"The test endpoint ({host}) did not answer within 10 s. {HINT_TIMEOUT}"
    )


def test_an_os_error_without_a_file_is_the_network_not_storage(serve) -> None:
    import errno

    server = serve(_ok)
    host = server.url.removeprefix("http://").removesuffix("/x")
    with pytest.raises(NetworkError) as caught:
        fetch(
            "GET",
            server.url,
            what="The test endpoint",
            timeout=10.0,
            auth=_Raises(ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")),
        )
    assert str(caught.value) == (
        f"The test endpoint ({host}) could not be reached: ConnectionResetError. "
        "Check the URL's host name and your connection."
    )


@pytest.mark.parametrize(
    ("strerror", "why"), [("Permission denied", "Permission denied"), (None, "PermissionError")]
)
def test_a_local_file_the_call_could_not_use_is_named_word_for_word(
    serve, strerror: str | None, why: str
) -> None:
    import errno

    from claude_code_oauth.errors import StorageError

    server = serve(_ok)
    host = server.url.removeprefix("http://").removesuffix("/x")
    denied = PermissionError(errno.EACCES, strerror, "/data/sub/tokens.json.lock")
    with pytest.raises(StorageError) as caught:
        fetch("GET", server.url, what="The models endpoint", timeout=10.0, auth=_Raises(denied))
    assert str(caught.value) == (
        f"The call to the models endpoint ({host}) stopped at a local file: "
        f"/data/sub/tokens.json.lock could not be used ({why}). "
        "Make /data/sub writable for you (chmod u+rwx /data/sub)."
    )


def test_a_url_httpx_refuses_is_a_network_error_in_one_line() -> None:
    with pytest.raises(NetworkError) as caught:
        fetch("GET", "http://[::1/x", what="The test endpoint", timeout=5.0)
    assert str(caught.value).startswith("The test endpoint (")
    assert "could not be reached: InvalidURL." in str(caught.value)


def test_a_redirect_is_returned_never_followed(serve) -> None:
    asked: list[bytes] = []

    def redirect(conn: socket.socket, stop: threading.Event) -> None:
        asked.append(b"")
        conn.sendall(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")

    server = serve(redirect)
    response = fetch("GET", server.url, what="The test endpoint", timeout=10.0)
    assert response.status_code == 302 and response.headers["location"] == "/elsewhere"
    # Not even with a client that follows redirects by default.
    with httpx.Client(follow_redirects=True) as following:
        again = fetch("GET", server.url, what="The test endpoint", timeout=10.0, client=following)
    assert again.status_code == 302
    assert len(asked) == 2


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_refused(
    serve, declared: bool
) -> None:
    def body_of(size: int):
        def answer(conn: socket.socket, stop: threading.Event) -> None:
            if declared:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + b"a" * size)
            else:
                head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                conn.sendall(head + b"%x\r\n%s\r\n0\r\n\r\n" % (size, b"a" * size))

        return answer

    exact = serve(body_of(2048))
    response = fetch("GET", exact.url, what="The test endpoint", timeout=10.0, max_bytes=2048)
    assert response.content == b"a" * 2048
    # The answer is loaded: the headers describe it, not its wire form.
    assert response.headers["content-length"] == "2048"
    assert "transfer-encoding" not in response.headers
    over = serve(body_of(2049))
    host = over.url.removeprefix("http://").removesuffix("/x")
    with pytest.raises(ResponseTooLarge) as caught:
        fetch("GET", over.url, what="The test endpoint", timeout=10.0, max_bytes=2048)
    assert str(caught.value) == (
        f"The test endpoint ({host}) sent an answer larger than 2 KiB; it was not read."
    )


def test_a_worker_waiting_for_the_clients_only_connection_ends_at_the_deadline(serve) -> None:
    """A client whose pool is full (here: one connection, held by another request): the
    caller returns at its deadline, and so does the worker waiting for a connection."""
    server = serve(_trickle)
    # The client's own default timeout (a minute) does not lengthen the call's.
    client = httpx.Client(limits=httpx.Limits(max_connections=1), timeout=60)
    try:
        with client.stream("GET", server.url, timeout=30):  # holds the only connection
            with pytest.raises(NetworkError, match="did not answer within 1 s"):
                fetch("GET", server.url, what="The test endpoint", timeout=1.0, client=client)
            deadline = time.monotonic() + 10
            while _workers_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _workers_alive() == [], "the worker still waits for a connection"
    finally:
        client.close()


def test_the_worker_is_a_named_daemon_thread(serve) -> None:
    """A worker left behind never keeps the process (Code Puppy, the command) from
    exiting, and a thread dump names it."""
    seen: list[tuple[str, bool]] = []

    class Look(httpx.Auth):
        def auth_flow(self, request: httpx.Request):
            worker = threading.current_thread()  # the auth flow runs in the call's worker
            seen.append((worker.name, worker.daemon))
            yield request

    server = serve(_ok)
    fetch("GET", server.url, what="The test endpoint", timeout=10.0, auth=Look())
    assert seen == [("claude-code-oauth-http", True)]
