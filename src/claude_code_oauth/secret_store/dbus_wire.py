"""The D-Bus wire format: messages and the values in them, marshalled and unmarshalled.

What a caller may rely on:

* :func:`encode_message` builds one little-endian message (header fields, body of the
  given signature); :func:`message_length` tells from the first 16 bytes how long
  the whole message is; :func:`decode_message` reads it back (either byte order).
* Values follow the signature: integers for ``ybnqiuxth``, ``bool`` for ``b``,
  ``float`` for ``d``, ``str`` for ``s``/``o``/``g``, ``bytes`` for ``ay``, ``dict``
  for ``a{..}``, ``list`` for other arrays, ``tuple`` for structs, :class:`Variant`
  for ``v`` (both ways).
* Anything malformed — a length past the end, a string without its NUL or not UTF-8,
  a bool other than 0/1, nesting deeper than 64, a message over
  :data:`MAX_MESSAGE` — raises :class:`WireError` (a ``ValueError``) with one line;
  nothing else escapes. Unix file descriptors are not supported (none are needed).

Standard library only (``struct``, ``collections``); imported on the ``token`` fast
path, so ``typing`` is not imported at run time.
"""

from __future__ import annotations

import struct
from collections import namedtuple

TYPE_CHECKING = False  # typing is not imported at run time: this is on the fast path
if TYPE_CHECKING:
    from typing import Any

#: The largest message this client reads or writes. Credentials are a few hundred
#: bytes; anything near this is not an answer to a call of ours.
MAX_MESSAGE = 1 << 20
MAX_DEPTH = 64

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
NO_REPLY_EXPECTED = 0x1

# Header field codes and the type of each.
PATH, INTERFACE, MEMBER, ERROR_NAME, REPLY_SERIAL, DESTINATION, SENDER, SIGNATURE = range(1, 9)
_FIELD_TYPES = {
    PATH: "o",
    INTERFACE: "s",
    MEMBER: "s",
    ERROR_NAME: "s",
    REPLY_SERIAL: "u",
    DESTINATION: "s",
    SENDER: "s",
    SIGNATURE: "g",
}

_FIXED = {
    "y": ("B", 1),
    "b": ("I", 4),
    "n": ("h", 2),
    "q": ("H", 2),
    "i": ("i", 4),
    "u": ("I", 4),
    "x": ("q", 8),
    "t": ("Q", 8),
    "d": ("d", 8),
    "h": ("I", 4),
}
_ALIGN = {"s": 4, "o": 4, "g": 1, "a": 4, "(": 8, "{": 8, "v": 1}


class WireError(ValueError):
    """A message or value that does not follow the D-Bus wire format."""


class MessageTooLarge(WireError):
    """A message over :data:`MAX_MESSAGE`."""


class Variant(namedtuple("Variant", "signature value")):
    """A ``v`` value: its own signature (``str``) and the value."""

    __slots__ = ()


class Message(namedtuple("Message", "type flags serial fields body")):
    """One decoded message: ``type``, ``flags``, ``serial`` (ints), ``fields`` (header
    field codes to their values) and ``body`` (a tuple)."""

    __slots__ = ()
    type: int
    flags: int
    serial: int
    fields: dict[int, Any]
    body: tuple[Any, ...]

    @property
    def reply_serial(self) -> int | None:
        value = self.fields.get(REPLY_SERIAL)
        return value if isinstance(value, int) else None

    @property
    def error_name(self) -> str | None:
        value = self.fields.get(ERROR_NAME)
        return value if isinstance(value, str) else None

    @property
    def path(self) -> str | None:
        value = self.fields.get(PATH)
        return value if isinstance(value, str) else None

    @property
    def interface(self) -> str | None:
        value = self.fields.get(INTERFACE)
        return value if isinstance(value, str) else None

    @property
    def member(self) -> str | None:
        value = self.fields.get(MEMBER)
        return value if isinstance(value, str) else None


def split_signature(signature: str) -> list[str]:
    """The single complete types of ``signature`` (``"sa{sv}"`` → ``["s", "a{sv}"]``)."""
    types = []
    index = 0
    while index < len(signature):
        end = _type_end(signature, index)
        types.append(signature[index:end])
        index = end
    return types


def _type_end(signature: str, index: int, depth: int = 0) -> int:
    if depth > MAX_DEPTH:
        raise WireError("a D-Bus signature nests too deeply")
    if index >= len(signature):
        raise WireError(f"the D-Bus signature {signature!r} ends inside a type")
    code = signature[index]
    if code in _FIXED or code in "sogv":
        return index + 1
    if code == "a":
        return _type_end(signature, index + 1, depth + 1)
    if code in "({":
        close = ")" if code == "(" else "}"
        index += 1
        while index < len(signature) and signature[index] != close:
            index = _type_end(signature, index, depth + 1)
        if index >= len(signature):
            raise WireError(f"the D-Bus signature {signature!r} has an unclosed {code}")
        return index + 1
    raise WireError(f"the D-Bus signature {signature!r} has an unknown type code {code!r}")


def _alignment(code: str) -> int:
    fixed = _FIXED.get(code)
    return fixed[1] if fixed else _ALIGN[code]


# -- marshalling --------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self.buf = bytearray()

    def pad(self, size: int) -> None:
        self.buf.extend(b"\0" * (-len(self.buf) % size))

    def write(self, kind: str, value: Any) -> None:
        code = kind[0]
        fixed = _FIXED.get(code)
        if fixed is not None:
            self.pad(fixed[1])
            number = float(value) if code == "d" else int(value)
            self.buf += struct.pack("<" + fixed[0], number)
        elif code in "so":
            data = str(value).encode("utf-8")
            self.pad(4)
            self.buf += struct.pack("<I", len(data)) + data + b"\0"
        elif code == "g":
            data = str(value).encode("ascii")
            self.buf += bytes((len(data),)) + data + b"\0"
        elif code == "v":
            self.write("g", value.signature)
            self.write(value.signature, value.value)
        elif code == "(":
            self.pad(8)
            parts = split_signature(kind[1:-1])
            if len(parts) != len(value):
                raise WireError(f"a struct {kind} needs {len(parts)} values")
            for part, item in zip(parts, value, strict=True):
                self.write(part, item)
        elif code == "a":
            self._write_array(kind[1:], value)
        else:
            raise WireError(f"cannot marshal the D-Bus type {kind!r}")

    def _write_array(self, element: str, value: Any) -> None:
        self.pad(4)
        at = len(self.buf)
        self.buf += b"\0\0\0\0"
        self.pad(_alignment(element[0]))
        start = len(self.buf)
        if element == "y":
            self.buf += bytes(value)
        elif element[0] == "{":
            key_type, value_type = split_signature(element[1:-1])
            for key, item in value.items():
                self.pad(8)
                self.write(key_type, key)
                self.write(value_type, item)
        else:
            for item in value:
                self.write(element, item)
        struct.pack_into("<I", self.buf, at, len(self.buf) - start)


def encode_message(
    message_type: int,
    serial: int,
    fields: dict[int, Any],
    signature: str = "",
    body: tuple[Any, ...] = (),
    flags: int = 0,
) -> bytes:
    """One little-endian message. ``fields`` must not hold ``SIGNATURE`` (set from
    ``signature``). Raises :class:`WireError` if the result exceeds :data:`MAX_MESSAGE`."""
    payload = _Writer()
    for kind, value in zip(split_signature(signature), body, strict=True):
        payload.write(kind, value)
    header_fields = [(code, Variant(_FIELD_TYPES[code], value)) for code, value in fields.items()]
    if signature:
        header_fields.append((SIGNATURE, Variant("g", signature)))
    header = _Writer()
    header.buf += struct.pack("<cBBBII", b"l", message_type, flags, 1, len(payload.buf), serial)
    header.write("a(yv)", header_fields)
    header.pad(8)
    data = bytes(header.buf + payload.buf)
    if len(data) > MAX_MESSAGE:
        raise MessageTooLarge(f"a D-Bus message of {len(data)} bytes is over this client's limit")
    return data


# -- unmarshalling ----------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes, order: str, pos: int = 0) -> None:
        self.data = data
        self.order = order
        self.pos = pos

    def align(self, size: int) -> None:
        self.pos += -self.pos % size
        if self.pos > len(self.data):
            raise WireError("a D-Bus message ends inside its padding")

    def take(self, size: int) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise WireError("a D-Bus message ends inside a value")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def read(self, kind: str, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("a D-Bus value nests too deeply")
        code = kind[0]
        fixed = _FIXED.get(code)
        if fixed is not None:
            self.align(fixed[1])
            (value,) = struct.unpack(self.order + fixed[0], self.take(fixed[1]))
            if code == "b":
                if value not in (0, 1):
                    raise WireError(f"a D-Bus boolean holds {value}")
                return bool(value)
            return value
        if code in "sog":
            if code == "g":
                size = self.take(1)[0]
            else:
                self.align(4)
                (size,) = struct.unpack(self.order + "I", self.take(4))
            raw = self.take(size + 1)
            if raw[-1:] != b"\0":
                raise WireError("a D-Bus string lacks its terminating NUL")
            try:
                return raw[:-1].decode("utf-8")
            except UnicodeDecodeError:
                raise WireError("a D-Bus string is not UTF-8") from None
        if code == "v":
            signature = self.read("g", depth + 1)
            types = split_signature(signature)
            if len(types) != 1:
                raise WireError(f"a D-Bus variant has the signature {signature!r}")
            return Variant(signature, self.read(signature, depth + 1))
        if code == "(":
            self.align(8)
            return tuple(self.read(part, depth + 1) for part in split_signature(kind[1:-1]))
        if code == "a":
            return self._read_array(kind[1:], depth + 1)
        raise WireError(f"cannot read the D-Bus type {kind!r}")

    def _read_array(self, element: str, depth: int) -> Any:
        self.align(4)
        (size,) = struct.unpack(self.order + "I", self.take(4))
        self.align(_alignment(element[0]))
        end = self.pos + size
        if end > len(self.data):
            raise WireError("a D-Bus array runs past the end of its message")
        if element == "y":
            return bytes(self.take(size))
        if element[0] == "{":
            key_type, value_type = split_signature(element[1:-1])
            result = {}
            while self.pos < end:
                self.align(8)
                key = self.read(key_type, depth)
                result[key] = self.read(value_type, depth)
            items: Any = result
        else:
            items = []
            while self.pos < end:
                items.append(self.read(element, depth))
        if self.pos != end:
            raise WireError("a D-Bus array's elements overrun its length")
        return items


def message_length(start: bytes) -> int:
    """The whole length of the message whose first 16 bytes are ``start``."""
    if len(start) < 16:
        raise WireError("a D-Bus message header is cut short")
    order = {b"l": "<", b"B": ">"}.get(start[:1])
    if order is None:
        raise WireError("a D-Bus message has an unknown byte order")
    body_length, _serial, fields_length = struct.unpack(order + "III", start[4:16])
    header: int = 16 + fields_length
    total: int = header + (-header % 8) + body_length
    if total > MAX_MESSAGE:
        raise MessageTooLarge(f"a D-Bus message of {total} bytes is over this client's limit")
    return total


def decode_message(data: bytes) -> Message:
    """Decode one whole message (exactly :func:`message_length` bytes)."""
    total = message_length(data[:16])
    if len(data) != total:
        raise WireError("a D-Bus message's length does not match its header")
    order = "<" if data[:1] == b"l" else ">"
    message_type, flags, version = data[1], data[2], data[3]
    if version != 1:
        raise WireError(f"a D-Bus message has protocol version {version}")
    (serial,) = struct.unpack(order + "I", data[8:12])
    reader = _Reader(data, order, 12)
    fields = {}
    for code, variant in reader.read("a(yv)"):
        expected = _FIELD_TYPES.get(code)
        if expected is not None and variant.signature != expected:
            raise WireError(f"a D-Bus header field {code} has the type {variant.signature!r}")
        fields[code] = variant.value
    reader.align(8)
    signature = fields.get(SIGNATURE, "")
    body = tuple(reader.read(kind) for kind in split_signature(signature))
    if reader.pos != len(data):
        raise WireError("a D-Bus message's body is longer than its signature")
    return Message(message_type, flags, serial, fields, body)
