"""Just enough Markdown for the documentation tests: links, heading anchors, tables.

Code is skipped: fenced blocks and inline code spans never hold a link or a heading.
Anchors follow GitHub's rule (the heading's text, lower case, punctuation other than
``-`` and ``_`` dropped, spaces turned into ``-``; a repeated heading gets ``-1``, ``-2``).
"""

from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^```.*?^```[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def without_code(text: str) -> str:
    """``text`` with fenced blocks and inline code spans blanked (lines are kept)."""
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return _CODE_SPAN.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def links(text: str) -> list[str]:
    """The target of every inline link ``[text](target)`` outside code."""
    return [m.group(2) for m in _LINK.finditer(without_code(text))]


def is_relative(target: str) -> bool:
    """True for a link into this repository (no scheme such as ``https:``)."""
    return not _SCHEME.match(target)


def headings(text: str) -> list[str]:
    """The text of every ATX heading (``#`` … ``######``) outside fenced blocks."""
    text = _FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    found = []
    for line in text.splitlines():
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            found.append(match.group(1))
    return found


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading's text (before duplicates are numbered)."""
    text = _LINK.sub(lambda m: m.group(1), heading)
    text = text.replace("`", "").replace("*", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor a Markdown file offers, repeated headings numbered as GitHub does."""
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(path.read_text(encoding="utf-8")):
        base = anchor(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def table_under(text: str, heading: str) -> list[list[str]]:
    """The body rows of the first table after the heading ``heading``, cells stripped."""
    lines = text.splitlines()
    start = next(
        i for i, line in enumerate(lines) if re.match(rf"^#+\s+{re.escape(heading)}$", line)
    )
    rows: list[list[str]] = []
    in_table = False
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            in_table = True
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif in_table or line.startswith("#"):
            break
    # rows[0] is the header, rows[1] the |---| separator
    return rows[2:]
