"""The loopback receiver over real sockets: ports, addresses, requests it refuses, release."""

from __future__ import annotations

import contextlib
import ipaddress
import random
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claude_code_oauth.login import callback_pages, pkce
from claude_code_oauth.login.loopback import CallbackParams, LoopbackReceiver, bind_loopback


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


IPV6 = _ipv6_loopback()
LOOPBACKS = ["127.0.0.1", "::1"] if IPV6 else ["127.0.0.1"]


def _bindable(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_range(count: int) -> tuple[int, int]:
    """``count`` consecutive ports free on every loopback address."""
    for _ in range(200):
        low = random.randint(20000, 60000)
        if all(_bindable(h, p) for p in range(low, low + count) for h in LOOPBACKS):
            return low, low + count - 1
    raise AssertionError("no free port range found")


@contextlib.contextmanager
def squat(host: str, port: int) -> Iterator[socket.socket]:
    """Another program listening on ``host:port``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(1)
    try:
        yield sock
    finally:
        sock.close()


def connect_refused(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        try:
            sock.connect((host, port))
        except (ConnectionRefusedError, TimeoutError):
            return True
        except OSError:
            return True  # unreachable address: nothing of ours answers there either
    return False


def assert_released(port: int) -> None:
    for host in LOOPBACKS:
        assert connect_refused(host, port), f"something still listens on {host}:{port}"
    socks = bind_loopback(port)  # what the next login does
    assert socks, f"port {port} cannot be bound again"
    for sock in socks:
        sock.close()


class Recorder:
    """Callbacks for a receiver; ``accept`` decides what on_callback answers."""

    def __init__(self, accept: bool = True) -> None:
        self.accept = accept
        self.callbacks: list[CallbackParams] = []
        self.rejected: list[str] = []
        self.arrived = threading.Event()

    def on_callback(self, params: CallbackParams) -> bool:
        self.callbacks.append(params)
        self.arrived.set()
        return self.accept


@contextlib.contextmanager
def receiver(
    port_range: tuple[int, int] | None = None, *, accept: bool = True, state: str | None = None
) -> Iterator[tuple[LoopbackReceiver, Recorder, str]]:
    state = pkce.new_state() if state is None else state
    rec = Recorder(accept)
    recv = LoopbackReceiver(
        expected_state=state,
        path="/callback",
        on_callback=rec.on_callback,
        on_rejected=rec.rejected.append,
        finish_wait=10,
    )
    recv.bind(port_range or free_range(3))
    recv.start()
    try:
        yield recv, rec, state
    finally:
        recv.close()


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=5)


# -- ports and addresses --------------------------------------------------------------


def test_binds_the_first_free_port_on_every_loopback_address() -> None:
    low, high = free_range(3)
    with receiver((low, high)) as (recv, _, _):
        assert recv.port == low
        assert recv.addresses == LOOPBACKS
        for sock in recv._sockets:
            assert ipaddress.ip_address(sock.getsockname()[0]).is_loopback
    assert_released(low)


@pytest.mark.parametrize("occupied", [1, 2])
def test_occupied_ports_are_skipped(occupied: int) -> None:
    low, high = free_range(4)
    with contextlib.ExitStack() as stack:
        for port in range(low, low + occupied):
            stack.enter_context(squat("127.0.0.1", port))
        with receiver((low, high)) as (recv, _, _):
            assert recv.port == low + occupied


def test_a_full_range_falls_back_to_an_os_assigned_port() -> None:
    low, high = free_range(2)
    with squat("127.0.0.1", low), squat("127.0.0.1", high), receiver((low, high)) as (recv, _, _):
        assert recv.port not in (low, high) and recv.port > 0
        assert recv.addresses == LOOPBACKS
        with http() as client:
            assert client.get(f"http://localhost:{recv.port}/favicon.ico").status_code == 404


@pytest.mark.skipif(not IPV6, reason="this machine has no IPv6 loopback")
def test_a_port_squatted_on_ipv6_loopback_is_skipped() -> None:
    low, high = free_range(3)
    with squat("::1", low), receiver((low, high)) as (recv, _, _):
        assert recv.port == low + 1
        assert recv.addresses == ["127.0.0.1", "::1"]


@pytest.mark.skipif(not IPV6, reason="this machine has no IPv6 loopback")
def test_ipv6_loopback_answers_on_the_same_port() -> None:
    with receiver() as (recv, rec, state), http() as client:
        assert client.get(f"http://[::1]:{recv.port}/favicon.ico").status_code == 404
        url = f"http://[::1]:{recv.port}/callback?" + urlencode({"code": "c6", "state": state})
        thread = threading.Thread(target=client.get, args=(url,))
        thread.start()
        assert rec.arrived.wait(5)
        recv.finish(True, "done")
        thread.join(5)
        assert rec.callbacks[0].code == "c6"


def _non_loopback_addresses() -> list[str]:
    found = []
    for family, probe in ((socket.AF_INET, "192.0.2.123"), (socket.AF_INET6, "2001:db8::1")):
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.connect((probe, 9))  # UDP: no packet is sent, only a route is chosen
            address = sock.getsockname()[0]
        except OSError:
            continue
        finally:
            sock.close()
        if not ipaddress.ip_address(address).is_loopback:
            found.append(address)
    return found


def test_never_listens_on_other_interfaces() -> None:
    with receiver() as (recv, _, _):
        for sock in recv._sockets:
            address = sock.getsockname()[0]
            assert address in ("127.0.0.1", "::1"), address
        for address in _non_loopback_addresses():
            assert connect_refused(address, recv.port), f"reachable on {address}"
        assert connect_refused("127.0.0.2", recv.port)  # only 127.0.0.1, not all of 127/8


# -- requests that do not count ----------------------------------------------------------


def _get_in_thread(url: str, **kwargs: object) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []

    def run() -> None:
        with http() as client:
            answers.append(client.get(url, **kwargs))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answers


def _complete(recv: LoopbackReceiver, rec: Recorder, state: str, code: str = "the-code") -> None:
    url = f"http://localhost:{recv.port}/callback?" + urlencode({"code": code, "state": state})
    thread, answers = _get_in_thread(url)
    assert rec.arrived.wait(5), "the right callback was not accepted"
    recv.finish(True, "Signed in as someone.")
    thread.join(5)
    assert answers[0].status_code == 200
    assert b"Signed in as someone." in answers[0].content
    assert rec.callbacks[-1].code == code


def test_other_paths_are_404_and_the_receiver_keeps_waiting() -> None:
    with receiver() as (recv, rec, state), http() as client:
        base = f"http://localhost:{recv.port}"
        for path in ("/favicon.ico", "/", "/callback/extra", "/CALLBACK", "/robots.txt"):
            answer = client.get(base + path + "?" + urlencode({"code": "x", "state": state}))
            assert answer.status_code == 404, path
        assert rec.callbacks == []
        _complete(recv, rec, state)


@pytest.mark.parametrize(
    "query",
    [
        {"code": "x"},
        {"code": "x", "state": ""},
        {"code": "x", "state": "wrong"},
        [("code", "x"), ("state", "RIGHT"), ("state", "RIGHT")],
        [("code", "x"), ("code", "y"), ("state", "RIGHT")],
        {"state": "RIGHT"},
        {"code": "x", "state": "caf\u00e9"},
        {"code": "x", "state": "RIGHT\u0000"},
    ],
)
def test_bad_state_gets_an_error_page_and_the_receiver_keeps_waiting(query: object) -> None:
    with receiver() as (recv, rec, state), http() as client:
        pairs = query.items() if isinstance(query, dict) else query
        pairs = [(k, state if v == "RIGHT" else v) for k, v in pairs]
        answer = client.get(f"http://localhost:{recv.port}/callback?" + urlencode(pairs))
        assert answer.status_code == 400
        assert b"You may close this tab" in answer.content
        assert state.encode() not in answer.content
        assert rec.callbacks == [] and len(rec.rejected) == 1
        _complete(recv, rec, state)


@pytest.mark.parametrize("host", ["evil.example", "localhost.evil.example", "192.0.2.2", ""])
def test_non_loopback_host_header_is_refused(host: str) -> None:
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "x", "state": state})
        with socket.create_connection(("127.0.0.1", recv.port), timeout=5) as sock:
            header = f"Host: {host}\r\n" if host else ""
            sock.sendall(f"GET /callback?{query} HTTP/1.1\r\n{header}\r\n".encode())
            reply = sock.makefile("rb").read()
        assert reply.startswith(b"HTTP/1.0 403") or reply.startswith(b"HTTP/1.1 403")
        assert rec.callbacks == []
        _complete(recv, rec, state)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_are_405(method: str) -> None:
    with receiver() as (recv, rec, state), http() as client:
        url = f"http://localhost:{recv.port}/callback?" + urlencode({"code": "x", "state": state})
        answer = client.request(method, url, content=b"code=x" if method == "POST" else None)
        assert answer.status_code == 405
        assert rec.callbacks == []
        _complete(recv, rec, state)


def test_an_idle_connection_does_not_block_the_callback() -> None:
    with receiver() as (recv, rec, state):
        idle = socket.create_connection(("127.0.0.1", recv.port))
        half = socket.create_connection(("127.0.0.1", recv.port))
        half.sendall(b"GET /callback?code=x")  # a request line that never ends
        try:
            started = time.monotonic()
            _complete(recv, rec, state)
            assert time.monotonic() - started < 3
        finally:
            started = time.monotonic()
            recv.close()
            assert time.monotonic() - started < 5  # close does not sit out the idle ones
            idle.close()
            half.close()
        assert_released(recv.port)


# -- pages ---------------------------------------------------------------------------


def test_pages_are_escaped_private_and_say_the_tab_may_be_closed() -> None:
    nasty = '<script>alert("x")</script> & more'
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "code-123", "state": state})
        thread, answers = _get_in_thread(f"http://127.0.0.1:{recv.port}/callback?{query}")
        assert rec.arrived.wait(5)
        recv.finish(False, nasty)
        thread.join(5)
    page = answers[0]
    assert page.status_code == 400
    assert b"<script>" not in page.content
    assert b"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page.content
    assert b"code-123" not in page.content and state.encode() not in page.content
    assert b"You may close this tab" in page.content
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    for body in (
        callback_pages.signed_in(),
        callback_pages.received(),
        callback_pages.already_done(),
        callback_pages.wrong_state(),
        callback_pages.not_found(),
        callback_pages.refused_host(),
    ):
        assert b"You may close this tab" in body and b"<script" not in body


def test_a_second_callback_after_the_answer_is_told_it_was_handled() -> None:
    with receiver(accept=False) as (recv, rec, state), http() as client:
        url = f"http://localhost:{recv.port}/callback?" + urlencode({"code": "x", "state": state})
        answer = client.get(url)
        assert answer.status_code == 200
        assert b"already handled" in answer.content
        assert len(rec.callbacks) == 1


# -- release ---------------------------------------------------------------------------


def test_port_released_after_success_and_close_is_idempotent() -> None:
    with receiver() as (recv, rec, state):
        _complete(recv, rec, state)
    recv.close()
    assert_released(recv.port)


def test_port_released_after_close_without_any_request() -> None:
    with receiver() as (recv, _, _):
        port = recv.port
    assert_released(port)


def test_close_while_a_tab_waits_tells_it_the_sign_in_was_cancelled() -> None:
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "x", "state": state})
        thread, answers = _get_in_thread(f"http://localhost:{recv.port}/callback?{query}")
        assert rec.arrived.wait(5)
    thread.join(5)
    assert answers[0].status_code == 400
    assert b"cancelled" in answers[0].content
    assert_released(recv.port)


# -- properties of the query handling ------------------------------------------------------

PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
URL_SAFE = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1
)


@PROPERTY
@given(code=st.one_of(URL_SAFE, st.text(min_size=1)), state=st.one_of(URL_SAFE, st.text()))
def test_property_code_and_state_round_trip(code: str, state: str) -> None:
    if not state:
        return
    with receiver((0, 0), accept=False, state=state) as (recv, rec, _), http() as client:
        query = urlencode({"code": code, "state": state})
        answer = client.get(f"http://localhost:{recv.port}/callback?{query}")
        assert answer.status_code == 200
        assert [c.code for c in rec.callbacks] == [code]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[LoopbackReceiver, Recorder, str]]:
    with receiver(accept=False) as parts:
        yield parts


@PROPERTY
@given(raw=st.text(max_size=80), wrong=st.text(max_size=40))
def test_property_arbitrary_queries_never_count_without_the_state(
    shared: tuple[LoopbackReceiver, Recorder, str], raw: str, wrong: str
) -> None:
    recv, rec, state = shared
    before = len(rec.callbacks)
    with http() as client:
        garbage = client.get(f"http://localhost:{recv.port}/callback?" + quote(raw, safe="&=+"))
        if wrong == state:
            return
        mismatched = client.get(
            f"http://localhost:{recv.port}/callback?" + urlencode({"code": "c", "state": wrong})
        )
    assert garbage.status_code == 400
    assert mismatched.status_code == 400
    assert len(rec.callbacks) == before


# -- strictness: the exact target, the exact Host ---------------------------------------


def _raw(port: int, request: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode("latin-1"))
        return sock.makefile("rb").read()


def _status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "target",
    [
        "//callback?{q}",
        "//localhost:{port}/callback?{q}",
        "http://localhost:{port}/callback?{q}",
        "/callback/..?{q}",
        "/callback/.?{q}",
        "/callback/?{q}",
        "/%63allback?{q}",
        "/callback;x?{q}",
        "/callback#x?{q}",
        "callback?{q}",
        "*",
    ],
)
def test_only_the_exact_origin_form_callback_path_counts(target: str) -> None:
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "x", "state": state})
        line = target.format(q=query, port=recv.port)
        reply = _raw(recv.port, f"GET {line} HTTP/1.1\r\nHost: localhost:{recv.port}\r\n\r\n")
        assert _status(reply) == 404, reply[:80]
        assert rec.callbacks == []
        _complete(recv, rec, state)


@pytest.mark.parametrize(
    "hosts",
    [
        ["localhost.:{port}"],
        ["localhost"],
        ["localhost:{other}"],
        ["user@localhost:{port}"],
        ["127.0.0.2:{port}"],
        ["127.1:{port}"],
        ["0x7f.0.0.1:{port}"],
        ["[::ffff:127.0.0.1]:{port}"],
        ["localhost:{port}.evil.example"],
        ["localhost:{port}", "localhost:{port}"],
        ["localhost:{port}", "evil.example"],
        [],
    ],
)
def test_a_host_header_other_than_exactly_a_loopback_name_and_our_port_is_refused(
    hosts: list[str],
) -> None:
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "x", "state": state})
        other = recv.port + 1
        header = "".join(f"Host: {h.format(port=recv.port, other=other)}\r\n" for h in hosts)
        reply = _raw(recv.port, f"GET /callback?{query} HTTP/1.1\r\n{header}\r\n")
        assert _status(reply) == 403, reply[:80]
        assert rec.callbacks == []
        _complete(recv, rec, state)


@pytest.mark.parametrize("host", ["localhost", "LocalHost", "127.0.0.1", "[::1]"])
def test_each_loopback_name_with_our_port_is_accepted(host: str) -> None:
    with receiver() as (recv, rec, state):
        query = urlencode({"code": "the-code", "state": state})
        thread = threading.Thread(
            target=_raw,
            args=(recv.port, f"GET /callback?{query} HTTP/1.1\r\nHost: {host}:{recv.port}\r\n\r\n"),
        )
        thread.start()
        assert rec.arrived.wait(5)
        recv.finish(True, "done")
        thread.join(5)
        assert rec.callbacks[0].code == "the-code"


def test_a_flood_of_bad_callbacks_reports_each_cause_once() -> None:
    with receiver() as (recv, rec, state), http() as client:
        base = f"http://localhost:{recv.port}/callback?"
        for index in range(300):
            answer = client.get(base + urlencode({"code": "x", "state": f"wrong-{index}"}))
            assert answer.status_code == 400
        assert rec.rejected == ["a callback with a wrong state was ignored"]
        for _ in range(50):
            client.get(base + urlencode({"code": "x"}))
            client.get(base + urlencode({"state": state}))
        assert rec.rejected == [
            "a callback with a wrong state was ignored",
            "a callback with a missing state was ignored",
            "a callback without code or error was ignored",
        ]
        _complete(recv, rec, state)


# -- the start address ----------------------------------------------------------------------


def test_the_start_address_redirects_once_to_the_authorize_url() -> None:
    target = "https://claude.example/oauth/authorize?code=true&state=S&code_challenge=C"
    with receiver() as (recv, rec, state), http() as client:
        start = recv.start_address(target)
        assert start.startswith(f"http://localhost:{recv.port}/start/")
        assert "state" not in start and "challenge" not in start
        first = client.get(start)
        assert first.status_code == 302 and first.headers["location"] == target
        assert first.headers["cache-control"] == "no-store"
        assert first.headers["referrer-policy"] == "no-referrer"
        again = client.get(start)
        assert again.status_code == 410 and b"already used" in again.content
        assert "location" not in again.headers
        guessed = client.get(f"http://localhost:{recv.port}/start/guessed")
        assert guessed.status_code == 404
        assert client.get(f"http://localhost:{recv.port}/start/").status_code == 404
        assert rec.callbacks == [] and rec.rejected == []
        _complete(recv, rec, state)


def test_the_start_address_is_refused_to_a_foreign_host_header() -> None:
    with receiver() as (recv, _, _):
        start = recv.start_address("https://claude.example/oauth/authorize?state=S")
        path = start.split(str(recv.port), 1)[1]
        reply = _raw(recv.port, f"GET {path} HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert _status(reply) == 403 and b"claude.example" not in reply
        with http() as client:  # not spent by the refused request
            assert client.get(start).status_code == 302


def test_the_start_path_is_random_per_login() -> None:
    with receiver() as (first, _, _), receiver() as (second, _, _):
        a = first.start_address("https://x.example/")
        b = second.start_address("https://x.example/")
    assert a.rsplit("/", 1)[1] != b.rsplit("/", 1)[1]
    assert len(a.rsplit("/", 1)[1]) >= 32
