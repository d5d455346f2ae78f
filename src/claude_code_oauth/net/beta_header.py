"""The ``anthropic-beta`` header: one place that splits, merges and filters it.

What a caller may rely on: :func:`merge_betas` keeps each beta once, in the
order first seen, drops blanks, and never lets an identity beta through
(:data:`IDENTITY_BETAS`: ``claude-code-20250219``, Claude Code's own, which this
project never claims — whoever put it in a request). Pure string work: no
import beyond the standard library, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Betas that claim to be another client (Claude Code): never sent by us.
IDENTITY_BETAS = frozenset({"claude-code-20250219"})


def split_betas(header: str | None) -> list[str]:
    """The names in an ``anthropic-beta`` value (comma separated), blanks left out."""
    return [b.strip() for b in (header or "").split(",") if b.strip()]


def merge_betas(*groups: Iterable[str]) -> list[str]:
    """Every beta of ``groups`` once, in the order first seen; blanks and identity
    betas left out. A header value is a group once split with :func:`split_betas`."""
    merged: list[str] = []
    for group in groups:
        for beta in group:
            name = beta.strip()
            if name and name not in IDENTITY_BETAS and name not in merged:
                merged.append(name)
    return merged


def merge_header(existing: str | None, *betas: str) -> str:
    """``existing`` (a header value) with ``betas`` added, as a header value."""
    return ",".join(merge_betas(split_betas(existing), betas))


def without_beta(existing: str | None, beta: str | None) -> str:
    """``existing`` (a header value) without ``beta`` (nor identity betas), order kept."""
    return ",".join(b for b in merge_betas(split_betas(existing)) if b != beta)
