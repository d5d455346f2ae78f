"""A value split into parts that each fit Windows Credential Manager, and joined again.

Windows keeps at most 2 560 bytes per credential, and the ``keyring`` library stores a
password there as UTF-16 (2 bytes a character). So a value is base64-encoded and cut
into parts of :data:`PART_CHARS` characters; the first part travels in the *head*, the
entry named after the profile, which also says how many parts there are, the
generation they belong to and a checksum of the whole value:

    ccoa1:<count>:<generation>:<sha256, first 16 hex digits>:<first part>

The other parts are entries named :func:`part_name` (``<profile>#<generation>.<n>``).
A new value gets a new random generation, so its parts never overwrite the parts the
current head points to: writing the parts first and the head last switches from the
old value to the new in one write, and a failure before it leaves the old value whole.

What a caller may rely on: :func:`join` returns exactly the bytes :func:`split` was
given, or raises ``ValueError`` naming what is wrong (a head that is not ours, a
missing part, a checksum that does not match) — never other bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import NamedTuple

FORMAT = "ccoa1"
#: Base64 characters per part: the head (with its ~40 characters of header) stays
#: under 2 560 bytes in UTF-16.
PART_CHARS = 1000
#: Windows' limit on one credential, in bytes, and what a part may take of it.
WINDOWS_CREDENTIAL_BYTES = 2560
MAX_PARTS = 99


class Head(NamedTuple):
    #: How many parts the value has, this head included (not ``count``: tuples have one).
    parts: int
    generation: str
    checksum: str
    first: str


def _checksum(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()[:16]


def split(secret: bytes) -> tuple[Head, list[str]]:
    """The head of a new generation, and the texts of the other parts (in order)."""
    data = base64.b64encode(secret).decode("ascii")
    parts = [data[index : index + PART_CHARS] for index in range(0, len(data), PART_CHARS)]
    parts = parts or [""]
    if len(parts) > MAX_PARTS:
        raise ValueError(f"a value of {len(secret)} bytes needs more than {MAX_PARTS} parts")
    head = Head(len(parts), secrets.token_hex(4), _checksum(secret), parts[0])
    return head, parts[1:]


def head_text(head: Head) -> str:
    return f"{FORMAT}:{head.parts}:{head.generation}:{head.checksum}:{head.first}"


def parse_head(text: str) -> Head:
    """The head stored under the profile's name; ``ValueError`` if it is not one."""
    fields = text.split(":", 4)
    if len(fields) != 5 or fields[0] != FORMAT:
        raise ValueError("its first entry is not in this program's format")
    _format, count, generation, checksum, first = fields
    if not (count.isdigit() and 1 <= int(count) <= MAX_PARTS):
        raise ValueError("its first entry gives no usable number of parts")
    if not (len(generation) == 8 and _is_hex(generation) and len(checksum) == 16):
        raise ValueError("its first entry's generation or checksum is malformed")
    return Head(int(count), generation, checksum, first)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def part_name(profile: str, head: Head, index: int) -> str:
    """The entry name of part ``index`` (1-based after the head, which is part 0)."""
    return f"{profile}#{head.generation}.{index}"


def join(head: Head, rest: list[str | None]) -> bytes:
    """The value back from its head and the other parts (``None``: a part not found)."""
    if len(rest) != head.parts - 1:
        raise ValueError(f"it should have {head.parts} parts, {len(rest) + 1} were given")
    found: list[str] = []
    for index, part in enumerate(rest, start=1):
        if part is None:
            raise ValueError(f"part {index + 1} of {head.parts} is missing")
        found.append(part)
    try:
        secret = base64.b64decode("".join([head.first, *found]), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("its parts are not the base64 this program writes") from None
    if _checksum(secret) != head.checksum:
        raise ValueError("its parts do not match the checksum in its first entry")
    return secret
