"""dbus_wire: messages and values round-trip, known bytes, and malformed input is one
WireError, never another exception."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_code_oauth.secret_store import dbus_wire as wire
from claude_code_oauth.secret_store.dbus_wire import Variant, WireError


def _round_trip(signature: str, body: tuple[object, ...]) -> tuple[object, ...]:
    data = wire.encode_message(wire.METHOD_RETURN, 7, {wire.REPLY_SERIAL: 3}, signature, body)
    assert wire.message_length(data[:16]) == len(data)
    message = wire.decode_message(data)
    assert (message.type, message.serial, message.reply_serial) == (wire.METHOD_RETURN, 7, 3)
    return message.body


def test_every_type_our_calls_use_round_trips() -> None:
    body = (
        255,
        True,
        -2,
        65535,
        -(2**31),
        2**32 - 1,
        -(2**63),
        2**64 - 1,
        1.5,
        "päth ✓",
        "/org/freedesktop/secrets/collection/login",
        "a{sv}",
        Variant("a{ss}", {"service": "claude-code-oauth", "profile": "work"}),
        b"\x00\x01secret bytes\xff",
        ["/a", "/b"],
        {"/item/1": ("/session/1", b"", b"value", "text/plain")},
        (1, "two", [3, 4]),
        [],
        {},
    )
    signature = "ybnqiuxtdsogvayao" + "a{o(oayays)}" + "(isai)" + "as" + "a{ss}"
    assert _round_trip(signature, body) == body


def test_hello_is_the_bytes_the_specification_describes() -> None:
    data = wire.encode_message(
        wire.METHOD_CALL,
        1,
        {
            wire.PATH: "/org/freedesktop/DBus",
            wire.INTERFACE: "org.freedesktop.DBus",
            wire.MEMBER: "Hello",
            wire.DESTINATION: "org.freedesktop.DBus",
        },
    )
    # Fixed part: little-endian, method call, no flags, version 1, empty body, serial 1.
    assert data[:12] == b"l\x01\x00\x01" + struct.pack("<II", 0, 1)
    (fields_length,) = struct.unpack("<I", data[12:16])
    assert len(data) == 16 + fields_length + (-(16 + fields_length) % 8)
    # The first header field: code 1 (PATH), variant signature "o", the string, NUL.
    path = b"/org/freedesktop/DBus"
    assert data[16:20] == b"\x01\x01o\x00"
    assert data[20:24] == struct.pack("<I", len(path))
    assert data[24 : 24 + len(path) + 1] == path + b"\x00"


def test_big_endian_messages_are_read() -> None:
    # An error reply (type 3) in big-endian with an ERROR_NAME, REPLY_SERIAL and a string body.
    fields = b"".join(
        [
            b"\x04\x01s\x00" + struct.pack(">I", 3) + b"a.B\x00",  # ERROR_NAME "a.B"
            b"\x00" * 4,  # pad to 8
            b"\x05\x01u\x00" + struct.pack(">I", 9),  # REPLY_SERIAL 9
            b"\x08\x01g\x00" + b"\x01s\x00",  # SIGNATURE "s"
        ]
    )
    header = b"B\x03\x00\x01" + struct.pack(">III", 8, 2, len(fields)) + fields
    header += b"\x00" * (-len(header) % 8)
    data = header + struct.pack(">I", 3) + b"why\x00"
    message = wire.decode_message(data)
    assert (message.type, message.error_name, message.reply_serial) == (wire.ERROR, "a.B", 9)
    assert message.body == ("why",)


_leaf = st.one_of(
    st.integers(0, 2**32 - 1).map(lambda v: ("u", v)),
    st.integers(-(2**63), 2**63 - 1).map(lambda v: ("x", v)),
    st.text(max_size=20).filter(lambda s: "\0" not in s).map(lambda v: ("s", v)),
    st.binary(max_size=40).map(lambda v: ("ay", v)),
    st.booleans().map(lambda v: ("b", v)),
)


def _containers(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, min_size=1, max_size=4).map(
            lambda items: ("(" + "".join(s for s, _ in items) + ")", tuple(v for _, v in items))
        ),
        children.map(lambda item: ("v", Variant(*item))),
        st.dictionaries(st.text(max_size=8).filter(lambda s: "\0" not in s), st.integers(0, 9)).map(
            lambda d: ("a{si}", d)
        ),
    )


@given(st.lists(st.recursive(_leaf, _containers, max_leaves=12), max_size=5))
def test_random_bodies_round_trip(items: list[tuple[str, object]]) -> None:
    signature = "".join(s for s, _ in items)
    body = tuple(v for _, v in items)
    assert _round_trip(signature, body) == body


_SAMPLE = wire.encode_message(
    wire.METHOD_RETURN,
    5,
    {wire.REPLY_SERIAL: 2},
    "a{o(oayays)}v",
    ({"/i/1": ("/s/1", b"", b"secret", "text/plain")}, Variant("as", ["x"])),
)


@given(
    st.lists(st.tuples(st.integers(0, len(_SAMPLE) - 1), st.integers(0, 255)), max_size=4),
    st.integers(0, len(_SAMPLE)),
)
def test_a_damaged_message_decodes_or_raises_wire_error(
    changes: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(_SAMPLE)
    for index, value in changes:
        data[index] = value
    with contextlib.suppress(WireError):  # anything else fails the test
        wire.decode_message(bytes(data[:cut]))


_VALID = {"b": (True,), "s": ("x",), "ai": ([1],), "v": (Variant("s", "x"),)}


def _message_with_body(signature: str, raw_body: bytes) -> bytes:
    """A valid header claiming ``signature`` around hand-made body bytes."""
    good = wire.encode_message(
        wire.METHOD_RETURN, 1, {wire.REPLY_SERIAL: 1}, signature, _VALID[signature]
    )
    (body_length,) = struct.unpack("<I", good[4:8])
    header = bytearray(good[: len(good) - body_length])
    struct.pack_into("<I", header, 4, len(raw_body))
    return bytes(header) + raw_body


@pytest.mark.parametrize(
    ("signature", "raw_body", "what"),
    [
        ("b", struct.pack("<I", 2), "boolean"),
        ("s", struct.pack("<I", 3) + b"abcX", "NUL"),
        ("s", struct.pack("<I", 2) + b"\xff\xfe\x00", "UTF-8"),
        ("s", struct.pack("<I", 1000) + b"ab\x00", "ends inside"),
        ("ai", struct.pack("<I", 400) + b"\x00" * 4, "past the end"),
        ("ai", struct.pack("<I", 6) + b"\x00" * 8, "overrun"),
        ("v", b"\x02ss\x00", "variant"),
    ],
)
def test_malformed_bodies_are_one_wire_error(signature: str, raw_body: bytes, what: str) -> None:
    with pytest.raises(WireError, match=what):
        wire.decode_message(_message_with_body(signature, raw_body))


def test_a_message_over_the_limit_is_refused_from_its_first_16_bytes() -> None:
    start = b"l\x02\x00\x01" + struct.pack("<III", wire.MAX_MESSAGE, 1, 16)
    with pytest.raises(wire.MessageTooLarge):
        wire.message_length(start)
    with pytest.raises(wire.MessageTooLarge):
        wire.encode_message(wire.METHOD_CALL, 1, {}, "ay", (b"x" * wire.MAX_MESSAGE,))


def test_nesting_and_signatures_are_bounded() -> None:
    with pytest.raises(WireError, match="nests too deeply"):
        wire.split_signature("a" * 100 + "i")
    for bad in ("(ii", "a", "a{s", "z"):
        with pytest.raises(WireError):
            wire.split_signature(bad)
    with pytest.raises(WireError, match="byte order"):
        wire.message_length(b"X" + b"\x00" * 15)


def test_a_header_field_of_the_wrong_type_is_a_wire_error() -> None:
    data = bytearray(wire.encode_message(wire.METHOD_RETURN, 1, {wire.REPLY_SERIAL: 1}, "u", (1,)))
    # REPLY_SERIAL's variant says "u"; claim "i" (same size, so it parses, wrong type).
    at = data.index(b"\x05\x01u\x00")
    data[at + 2] = ord("i")
    with pytest.raises(WireError, match="header field 5"):
        wire.decode_message(bytes(data))
