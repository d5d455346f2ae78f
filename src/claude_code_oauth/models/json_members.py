"""Read a top-level JSON object keeping each member's original text.

``extra_models.json`` belongs to the user and to Code Puppy; we only own the
entries we marked. :func:`parse_members` parses the object with the standard
library's C scanner but remembers every value's exact source text, so
:func:`render_members` can write foreign entries back byte-for-byte as the user
wrote them (formatting, number spelling and escapes included) while only our
entries are generated. It is also what keeps a rewrite of a 10 000-entry file
fast: only our few entries are re-serialised.
"""

from __future__ import annotations

import json
from json.decoder import WHITESPACE, scanstring
from typing import Any

_decoder = json.JSONDecoder()


class DuplicateKey(ValueError):
    """The object names a key twice (``json.loads`` would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Member:
    """One ``"key": value`` pair: parsed, and as written."""

    __slots__ = ("key", "key_text", "value", "value_text")

    def __init__(self, key: str, key_text: str, value: Any, value_text: str) -> None:
        self.key = key
        self.key_text = key_text
        self.value = value
        self.value_text = value_text


def _skip(text: str, pos: int) -> int:
    return WHITESPACE.match(text, pos).end()  # type: ignore[union-attr]


def parse_members(text: str) -> list[Member]:
    """The members of the single JSON object in ``text``.

    Raises :class:`json.JSONDecodeError` (with line and column) for invalid
    JSON, :class:`DuplicateKey` for a repeated top-level key, and
    :class:`TypeError` naming the type when the top level is not an object.
    """
    pos = _skip(text, 0)
    if not text.startswith("{", pos):
        value = json.loads(text)  # raises JSONDecodeError for invalid text
        raise TypeError(type(value).__name__)
    pos = _skip(text, pos + 1)
    members: list[Member] = []
    seen: set[str] = set()
    if text.startswith("}", pos):
        pos += 1
    else:
        while True:
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key, key_end = scanstring(text, pos + 1)
            key_text = text[pos:key_end]
            pos = _skip(text, key_end)
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            start = _skip(text, pos + 1)
            try:
                value, end = _decoder.raw_decode(text, start)
            except StopIteration:  # pragma: no cover - raw_decode maps this itself
                raise json.JSONDecodeError("Expecting value", text, start) from None
            if key in seen:
                raise DuplicateKey(key)
            seen.add(key)
            members.append(Member(key, key_text, value, text[start:end]))
            pos = _skip(text, end)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
                continue
            if text.startswith("}", pos):
                pos += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    if _skip(text, pos) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip(text, pos))
    return members


def generated(key: str, value: Any) -> Member:
    """A member of ours, formatted like ``json.dumps(indent=2)`` nested one level."""
    value_text = json.dumps(value, indent=2, ensure_ascii=False)
    key_text = json.dumps(key, ensure_ascii=False)
    try:
        (key_text + value_text).encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (legal as a JSON \u escape) cannot be written as UTF-8.
        value_text = json.dumps(value, indent=2)
        key_text = json.dumps(key)
    return Member(key, key_text, value, value_text.replace("\n", "\n  "))


def render_members(members: list[Member]) -> str:
    """The object text: one member per top-level line, values as given."""
    if not members:
        return "{}\n"
    body = ",\n".join(f"  {m.key_text}: {m.value_text}" for m in members)
    return "{\n" + body + "\n}\n"
