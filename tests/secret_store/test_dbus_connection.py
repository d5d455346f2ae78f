"""dbus_connection: where the bus is, and what a bus that misbehaves gets us — a named
one-line error within the deadline. The real bus is in test_secret_service.py; these
are small hand-made peers for what a real bus does not do."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from claude_code_oauth.errors import (
    SecretStoreError,
    SecretStoreTimeout,
    SecretStoreUnavailable,
    SecretTooLarge,
)
from claude_code_oauth.secret_store import dbus_wire as wire
from claude_code_oauth.secret_store.dbus_connection import (
    BusConnection,
    session_bus_address,
    socket_targets,
)
from claude_code_oauth.secret_store.interface import Deadline


def _deadline(seconds: float = 10.0) -> Deadline:
    return Deadline(seconds, "the test bus", "a test call")


def test_the_address_comes_from_the_environment_first(tmp_path: Path) -> None:
    env = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/x", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert session_bus_address(env) == "unix:path=/x"


def test_without_the_variable_the_user_bus_socket_is_used_if_it_is_a_socket(
    tmp_path: Path,
) -> None:
    assert session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) is None
    (tmp_path / "bus").write_text("not a socket")
    assert session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)}) is None
    (tmp_path / "bus").unlink()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "bus"))
    try:
        address = session_bus_address({"XDG_RUNTIME_DIR": str(tmp_path)})
    finally:
        listener.close()
    assert address == f"unix:path={tmp_path}/bus"
    assert session_bus_address({}) is None


def test_socket_targets_keep_unix_addresses_in_order_and_decode_escapes() -> None:
    address = "tcp:host=localhost,port=1;unix:path=/tmp/a%20b,guid=1;unix:abstract=/x;unix:path=%zz"
    assert socket_targets(address) == ["/tmp/a b", "\0/x"]


def test_an_address_with_no_unix_socket_is_unavailable_at_once() -> None:
    with pytest.raises(SecretStoreUnavailable, match="unix:path"):
        BusConnection("tcp:host=localhost,port=1", _deadline())


def test_a_socket_nobody_listens_on_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreUnavailable, match="Cannot reach the session bus"):
        BusConnection(f"unix:path={tmp_path}/nothing", _deadline())


def test_a_bus_that_never_answers_ends_at_the_deadline(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "bus"))
    listener.listen(1)  # accepts into the backlog, never reads, never answers
    try:
        with pytest.raises(SecretStoreTimeout, match=r"within 0\.2 s"):
            BusConnection(f"unix:path={tmp_path}/bus", _deadline(0.2))
    finally:
        listener.close()


@contextmanager
def _peer(tmp_path: Path, after_auth: bytes, auth_reply: bytes = b"OK 1234\r\n") -> Iterator[str]:
    """A one-connection peer: answers the SASL line, then sends ``after_auth``."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "peer"))
    listener.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            received = b""
            while b"\r\n" not in received:
                received += conn.recv(4096)
            conn.sendall(auth_reply)
            if after_auth:  # a refused client may already have hung up
                conn.sendall(after_auth)
            done.wait(30)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix:path={tmp_path}/peer"
    finally:
        done.set()
        thread.join(30)
        listener.close()


def test_refused_authentication_is_unavailable(tmp_path: Path) -> None:
    with (
        _peer(tmp_path, b"", auth_reply=b"REJECTED EXTERNAL\r\n") as address,
        pytest.raises(SecretStoreUnavailable, match="refused to let this process in"),
    ):
        BusConnection(address, _deadline())


def test_a_garbled_message_is_one_line(tmp_path: Path) -> None:
    with _peer(tmp_path, b"X" * 16) as address, BusConnection(address, _deadline()) as bus:
        with pytest.raises(SecretStoreError, match="cannot read") as caught:
            bus.call("a.b", "/", "a.b", "M")
        assert "\n" not in str(caught.value)


def test_a_message_over_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = b"l\x02\x00\x01" + struct.pack("<III", 50 * wire.MAX_MESSAGE, 1, 0)
    with (
        _peer(tmp_path, huge) as address,
        BusConnection(address, _deadline()) as bus,
        pytest.raises(SecretTooLarge),
    ):
        bus.call("a.b", "/", "a.b", "M")


def test_a_peer_that_hangs_up_is_unavailable(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / "peer"))
    listener.listen(1)

    def hang_up() -> None:
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        with pytest.raises(SecretStoreUnavailable, match=r"closed the connection|failed"):
            BusConnection(f"unix:path={tmp_path}/peer", _deadline())
    finally:
        thread.join(30)
        listener.close()


def test_an_abstract_socket_address_is_reached() -> None:
    """``unix:abstract=`` (what dbus-launch used to hand out): the peer refuses us, which
    proves we got there."""
    name = f"claude-code-oauth-test-{os.getpid()}"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind("\0" + name)
    listener.listen(1)

    def refuse() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"REJECTED EXTERNAL\r\n")

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    try:
        with pytest.raises(SecretStoreUnavailable, match="refused to let this process in"):
            BusConnection(f"unix:abstract={name},guid=0", _deadline())
    finally:
        thread.join(30)
        listener.close()
