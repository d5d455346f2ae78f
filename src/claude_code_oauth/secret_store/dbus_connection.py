"""One short-lived connection to the D-Bus session bus, every step within a deadline.

What a caller may rely on:

* :func:`session_bus_address` is ``DBUS_SESSION_BUS_ADDRESS``, else
  ``$XDG_RUNTIME_DIR/bus`` when that is a socket (where systemd's user bus lives, as
  GLib and sd-bus also look), else ``None``: then there is no bus and nothing is tried.
* :class:`BusConnection` connects (``unix:path=`` and ``unix:abstract=`` addresses, tried
  in order), authenticates with SASL ``EXTERNAL`` as this process's uid and says
  ``Hello``. :meth:`~BusConnection.call` sends one method call and returns the reply's
  body; an error reply raises :class:`DBusError` (name and message, for the caller to
  translate). :meth:`~BusConnection.wait_signal` waits for one signal.
* Every socket operation gets the time left of the :class:`~.interface.Deadline` it
  was given, so nothing blocks past it: a bus or peer that stops answering raises
  :class:`~claude_code_oauth.errors.SecretStoreTimeout`. No bus, a refused socket or
  refused authentication raise :class:`~claude_code_oauth.errors.SecretStoreUnavailable`;
  a message this client cannot read raises
  :class:`~claude_code_oauth.errors.SecretStoreError` (over 1 MiB:
  :class:`~claude_code_oauth.errors.SecretTooLarge`). One line each, nothing else
  escapes.
* Standard library only, and ``_socket`` rather than ``socket`` (whose import builds
  enums for a few milliseconds): this is on the ``token`` fast path.
"""

from __future__ import annotations

import _socket
import os

from ..errors import SecretStoreError, SecretStoreUnavailable, SecretTooLarge
from . import dbus_wire as wire
from .interface import Deadline

TYPE_CHECKING = False  # typing is not imported at run time: this is on the fast path
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

BUS_NAME = "org.freedesktop.DBus"
BUS_PATH = "/org/freedesktop/DBus"
#: The flag that stops the bus from starting a service on demand for this call.
NO_AUTO_START = 0x2


class DBusError(Exception):
    """An error reply: ``name`` (``org.freedesktop.DBus.Error.ServiceUnknown``, …) and
    the peer's message (never shown to the user as is: the caller words it)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def session_bus_address(environ: Mapping[str, str] | None = None) -> str | None:
    """Where the session bus is, or ``None`` when there is none to try."""
    environ = os.environ if environ is None else environ
    address = environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = environ.get("XDG_RUNTIME_DIR", "")
    if runtime:
        import stat

        path = os.path.join(runtime, "bus")
        try:
            if stat.S_ISSOCK(os.stat(path).st_mode):
                return "unix:path=" + path
        except OSError:
            return None
    return None


def _unescape(value: str) -> str:
    """A D-Bus address value: ``%xx`` escapes decoded."""
    if "%" not in value:
        return value
    out = bytearray()
    index = 0
    raw = value.encode("utf-8")
    while index < len(raw):
        if raw[index] == 0x25:  # "%"
            pair = raw[index + 1 : index + 3]
            if len(pair) != 2:
                raise ValueError("a cut-short escape")
            out += bytes.fromhex(pair.decode("ascii"))
            index += 3
        else:
            out.append(raw[index])
            index += 1
    return out.decode("utf-8", "replace")


def socket_targets(address: str) -> list[str]:
    """The Unix socket addresses (abstract ones starting with NUL) in a bus address."""
    targets = []
    for entry in address.split(";"):
        transport, _, params = entry.partition(":")
        if transport != "unix":
            continue
        keys = dict(part.split("=", 1) for part in params.split(",") if "=" in part)
        try:
            if "path" in keys:
                targets.append(_unescape(keys["path"]))
            elif "abstract" in keys:
                targets.append("\0" + _unescape(keys["abstract"]))
        except ValueError:
            continue  # a malformed escape: not an address we can use
    return targets


class BusConnection:
    """A connection to the session bus for one store operation. Use it as a context
    manager; every step keeps ``deadline``."""

    def __init__(self, address: str, deadline: Deadline) -> None:
        self.deadline = deadline
        self._buffer = bytearray()
        self._serial = 0
        self._signals: list[wire.Message] = []
        self._sock = self._connect(address)
        try:
            self._authenticate()
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> BusConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    # -- connecting ---------------------------------------------------------------------

    def _connect(self, address: str) -> Any:
        targets = socket_targets(address)
        if not targets:
            raise SecretStoreUnavailable(
                "The session bus address names no Unix socket this client can use "
                "(only unix:path= and unix:abstract= are spoken).",
                hint="Check DBUS_SESSION_BUS_ADDRESS.",
            )
        failure = ""
        for target in targets:
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            try:
                sock.settimeout(self.deadline.remaining())
                sock.connect(target)
                return sock
            except TimeoutError:
                sock.close()
                raise self.deadline.expired() from None
            except OSError as exc:
                sock.close()
                failure = f"{target.lstrip(chr(0))}: {exc.strerror or exc}"
        raise SecretStoreUnavailable(
            f"Cannot reach the session bus ({failure}).",
            hint="Is the desktop session (or dbus-run-session) still running?",
        )

    def _authenticate(self) -> None:
        uid = str(os.getuid()).encode("ascii").hex().encode("ascii")
        self._send(b"\0AUTH EXTERNAL " + uid + b"\r\n")
        line = self._read_line()
        if not line.startswith(b"OK "):
            raise SecretStoreUnavailable(
                "The session bus refused to let this process in (SASL EXTERNAL rejected).",
                hint="Is DBUS_SESSION_BUS_ADDRESS another user's bus?",
            )
        # BEGIN and Hello go together; Hello's reply is read (and skipped) with the next.
        hello = self._encode_call(BUS_NAME, BUS_PATH, BUS_NAME, "Hello", "", ())
        self._send(b"BEGIN\r\n" + hello)

    def _read_line(self) -> bytes:
        while b"\r\n" not in self._buffer:
            if len(self._buffer) > 4096:
                raise SecretStoreError("The session bus sent an authentication line over 4 KiB.")
            self._receive()
        line, _, rest = bytes(self._buffer).partition(b"\r\n")
        self._buffer = bytearray(rest)
        return line

    # -- messages -------------------------------------------------------------------------

    def _encode_call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str,
        body: tuple[Any, ...],
        flags: int = 0,
    ) -> bytes:
        self._serial += 1
        fields = {
            wire.PATH: path,
            wire.INTERFACE: interface,
            wire.MEMBER: member,
            wire.DESTINATION: destination,
        }
        try:
            return wire.encode_message(
                wire.METHOD_CALL, self._serial, fields, signature, body, flags
            )
        except wire.WireError as exc:
            raise SecretTooLarge(f"Cannot send {member} to the session bus: {exc}.") from None

    def call(
        self,
        destination: str,
        path: str,
        interface: str,
        member: str,
        signature: str = "",
        body: tuple[Any, ...] = (),
        *,
        auto_start: bool = True,
    ) -> tuple[Any, ...]:
        """Send one method call and return its reply's body; raises :class:`DBusError`."""
        flags = 0 if auto_start else NO_AUTO_START
        self._send(self._encode_call(destination, path, interface, member, signature, body, flags))
        serial = self._serial
        while True:
            message = self._read_message()
            if message.type == wire.SIGNAL:
                self._signals.append(message)
            elif message.reply_serial == serial:
                if message.type == wire.ERROR:
                    text = (
                        message.body[0] if message.body and isinstance(message.body[0], str) else ""
                    )
                    raise DBusError(message.error_name or "unknown error", text)
                return message.body

    def add_match(self, rule: str) -> None:
        self.call(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch", "s", (rule,))

    def wait_signal(
        self, path: str, interface: str, member: str, deadline: Deadline
    ) -> wire.Message:
        """The first signal ``interface.member`` from object ``path`` (after :meth:`add_match`)."""
        saved = self.deadline
        self.deadline = deadline
        try:
            while True:
                for index, message in enumerate(self._signals):
                    if (message.path, message.interface, message.member) == (
                        path,
                        interface,
                        member,
                    ):
                        del self._signals[index]
                        return message
                message = self._read_message()
                if message.type == wire.SIGNAL:
                    self._signals.append(message)
        finally:
            self.deadline = saved

    def _read_message(self) -> wire.Message:
        try:
            while len(self._buffer) < 16:
                self._receive()
            total = wire.message_length(bytes(self._buffer[:16]))
            while len(self._buffer) < total:
                self._receive()
            data = bytes(self._buffer[:total])
            del self._buffer[:total]
            return wire.decode_message(data)
        except wire.MessageTooLarge as exc:
            raise SecretTooLarge(
                f"The session bus sent an answer this client refuses: {exc}."
            ) from None
        except wire.WireError as exc:
            raise SecretStoreError(
                f"The session bus sent a message this client cannot read: {exc}."
            ) from None

    # -- the socket ----------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        try:
            self._sock.settimeout(self.deadline.remaining())
            self._sock.sendall(data)
        except TimeoutError:
            raise self.deadline.expired() from None
        except OSError as exc:
            raise SecretStoreUnavailable(
                f"The session bus connection failed ({exc.strerror or exc})."
            ) from None

    def _receive(self) -> None:
        try:
            self._sock.settimeout(self.deadline.remaining())
            chunk = self._sock.recv(65536)
        except TimeoutError:
            raise self.deadline.expired() from None
        except OSError as exc:
            raise SecretStoreUnavailable(
                f"The session bus connection failed ({exc.strerror or exc})."
            ) from None
        if not chunk:
            raise SecretStoreUnavailable("The session bus closed the connection.")
        self._buffer += chunk
