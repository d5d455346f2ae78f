"""Values read from Claude's unified rate-limit headers, each checked: a number in a
sane range, a time near now, a short lower-case word — or ``None``.

What a caller may rely on: nothing here raises for what a server sends, and a word
is kept only when it is at most 64 characters of ``a-z``, ``0-9`` and ``_``, so
nothing a server echoes (a token, markup, a sentence) passes through into a
snapshot or a line. Standard library only, no ``re``: these run on every answer.
"""

from __future__ import annotations

import math

#: The largest percentage believed (extra usage passes 100 %).
MAX_PERCENT = 10_000.0
#: Reset times further than this from now are not believed.
MAX_RESET_DISTANCE = 400 * 86400
#: The longest wait (seconds) a header is believed to name.
MAX_WAIT = 86400.0
#: Claude's statuses of a window (and of the whole answer).
STATUSES = frozenset({"allowed", "allowed_warning", "rejected"})
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def word(value: object) -> str | None:
    """``value`` if it is a short lower-case word (``out_of_credits``), else ``None``."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if 0 < len(value) <= 64 and value[0] != "_" and _WORD_CHARS.issuperset(value):
        return value
    return None


def percent(text: str) -> float | None:
    """A header's fraction (``0.42``) as a percentage (``42.0``), 0 to :data:`MAX_PERCENT`."""
    try:
        value = float(text) * 100.0
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= MAX_PERCENT else None


def epoch(text: str, now: float) -> float | None:
    """Epoch seconds (whole) within :data:`MAX_RESET_DISTANCE` of ``now``."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value - now) > MAX_RESET_DISTANCE:
        return None
    return float(int(value))


def seconds(text: str) -> float | None:
    """A wait in seconds, 0 to :data:`MAX_WAIT`."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= MAX_WAIT else None


def status(text: str) -> str | None:
    """One of :data:`STATUSES`, or another short word Claude may add, else ``None``."""
    value = text.strip().lower()
    return value if value in STATUSES else word(value[:32])


def boolean(text: str) -> bool | None:
    """``true`` / ``false``, else ``None``."""
    value = text.strip().lower()
    return True if value == "true" else False if value == "false" else None
