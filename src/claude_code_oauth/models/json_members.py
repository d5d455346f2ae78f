"""Read a top-level JSON object keeping its exact text, and write it back changed only where asked.

``extra_models.json`` belongs to the user and to Code Puppy; we only own the
entries we marked. :func:`parse_object` parses the object with the standard
library's C scanner but remembers the text of everything: each member as
written (key, colon, value and the blanks between them), the separator before
it (comma and blanks), the blanks after ``{`` and before ``}``, and whatever
surrounds the object. :func:`render_object` then writes:

* every member that is not replaced, with the separator before it, byte for
  byte as it was (formatting, number spelling and escapes included);
* a replaced member in place, keeping the separator before it;
* a removed member together with *one* separator — the one before it, or for
  the first member the one after it — so that removing what was added restores
  the original text exactly;
* added members at the end, each after ``",\\n  "``, formatted like
  ``json.dumps(indent=2)`` nested one level;
* the blanks after ``{`` and before ``}``, and around the object, as they were
  — except that an object whose members are all removed is written ``{}``.

It is also what keeps a rewrite of a 10 000-entry file fast: only our few
entries are re-serialised.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_decoder = json.JSONDecoder()
#: JSON's insignificant whitespace (as the json module's own scanner skips it).
_BLANKS = re.compile(r"[ \t\n\r]*")

#: What goes before a member we add after an existing one.
ADDED_SEPARATOR = ",\n  "
#: The layout of an object we create: ``{``, our members, then this before ``}``.
NEW_LEAD, NEW_TRAIL, NEW_TAIL = "\n  ", "\n", "\n"


class DuplicateKey(ValueError):
    """The object names a key twice (``json.loads`` would silently keep the last)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Member:
    """One ``"key": value`` pair: parsed, and as written.

    ``text`` is the member exactly as written (from the key's opening quote to
    the value's last character); ``separator`` the text between the previous
    member and this one (``None`` for the first member, or one not read from a
    file).
    """

    __slots__ = ("key", "key_text", "separator", "text", "value", "value_text")

    def __init__(
        self,
        key: str,
        key_text: str,
        value: Any,
        value_text: str,
        *,
        text: str | None = None,
        separator: str | None = None,
    ) -> None:
        self.key = key
        self.key_text = key_text
        self.value = value
        self.value_text = value_text
        self.text = f"{key_text}: {value_text}" if text is None else text
        self.separator = separator

    def replaced_by(self, other: Member) -> Member:
        """``other`` in this member's place (it keeps this member's separator)."""
        return Member(
            other.key,
            other.key_text,
            other.value,
            other.value_text,
            text=other.text,
            separator=self.separator,
        )


@dataclass(frozen=True)
class JsonObject:
    """A parsed top-level object and the text around its members."""

    members: list[Member]
    #: Blanks before ``{`` / after ``}``.
    head: str = ""
    tail: str = NEW_TAIL
    #: Blanks after ``{`` and before ``}`` (for an object without members, all of them).
    lead: str = NEW_LEAD
    trail: str = NEW_TRAIL


def _skip(text: str, pos: int) -> int:
    blanks = _BLANKS.match(text, pos)  # it matches the empty string: never None
    return blanks.end() if blanks else pos


def parse_object(text: str) -> JsonObject:
    """The single JSON object in ``text``, with its layout.

    Raises :class:`json.JSONDecodeError` (with line and column) for invalid
    JSON, :class:`DuplicateKey` for a repeated top-level key, and
    :class:`TypeError` naming the type when the top level is not an object.
    """
    pos = _skip(text, 0)
    head = text[:pos]
    if not text.startswith("{", pos):
        value = json.loads(text)  # raises JSONDecodeError for invalid text
        raise TypeError(type(value).__name__)
    opened = pos + 1
    pos = _skip(text, opened)
    lead = text[opened:pos]
    members: list[Member] = []
    seen: set[str] = set()
    trail = ""
    if text.startswith("}", pos):
        pos += 1
    else:
        separator: str | None = None
        while True:
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key_start = pos
            key, key_end = _decoder.raw_decode(text, pos)  # a string: it starts with '"'
            key_text = text[key_start:key_end]
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
            members.append(
                Member(
                    key,
                    key_text,
                    value,
                    text[start:end],
                    text=text[key_start:end],
                    separator=separator,
                )
            )
            pos = _skip(text, end)
            if text.startswith(",", pos):
                after = _skip(text, pos + 1)
                separator = text[end:after]
                pos = after
                continue
            if text.startswith("}", pos):
                trail = text[end:pos]
                pos += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
    rest = _skip(text, pos)
    if rest != len(text):
        raise json.JSONDecodeError("Extra data", text, rest)
    return JsonObject(members, head=head, tail=text[pos:], lead=lead, trail=trail)


def parse_members(text: str) -> list[Member]:
    """The members of the single JSON object in ``text`` (see :func:`parse_object`)."""
    return parse_object(text).members


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


def render_object(original: JsonObject, members: list[Member]) -> str:
    """The text of ``original`` with ``members`` as its members (see the module docstring).

    ``members`` are in their new order: members of ``original`` (or their
    :meth:`Member.replaced_by` replacements) in their original order, then any
    added ones.
    """
    if not members:
        inner = original.lead if not original.members else ""
        return f"{original.head}{{{inner}}}{original.tail}"
    had_members = bool(original.members)
    lead = original.lead if had_members else NEW_LEAD
    trail = original.trail if had_members else NEW_TRAIL
    parts = [original.head, "{", lead, members[0].text]
    for member in members[1:]:
        parts.append(ADDED_SEPARATOR if member.separator is None else member.separator)
        parts.append(member.text)
    parts += [trail, "}", original.tail]
    return "".join(parts)


def render_members(members: list[Member]) -> str:
    """A new object holding ``members`` (``{}`` and a newline when there are none)."""
    return render_object(JsonObject([]), members)
