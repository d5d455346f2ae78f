"""Profiles (``profiles``, ``/claude-code-switch`` without a name): every sign-in on
this machine, the active one first and marked. Reads local files only; never a token.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..config import Settings

if TYPE_CHECKING:
    from ..profiles.listing import ProfileSummary


class ProfileList:
    """``summaries`` (the active profile first), and ``problem``: what is wrong with the
    active-profile file when it is damaged (then ``default`` comes first, unmarked)."""

    __slots__ = ("now", "problem", "summaries")

    def __init__(self, summaries: list[ProfileSummary], problem: str | None, now: float) -> None:
        self.summaries = summaries
        self.problem = problem
        self.now = now

    @property
    def any_signed_in(self) -> bool:
        return any(summary.signed_in for summary in self.summaries)

    def lines(self) -> list[str]:
        """One line per profile, ``* `` marking the active one."""
        from ..profiles.listing import describe

        return [
            ("* " if summary.active else "  ") + describe(summary, self.now)
            for summary in self.summaries
        ]

    def to_json(self) -> list[dict[str, Any]]:
        return [summary.to_json(self.now) for summary in self.summaries]


def profile_list(settings: Settings, *, now: float | None = None) -> ProfileList:
    """Every profile, reading the active-profile file once."""
    from ..profiles.listing import active_listing

    now = time.time() if now is None else now
    summaries, problem = active_listing(settings, now=now)
    return ProfileList(summaries, problem, now)


def environment_override(settings: Settings) -> str | None:
    """A note when ``CLAUDE_CODE_OAUTH_PROFILE`` overrides the active profile here."""
    from ..config_rules import env_name

    variable = env_name("profile")
    if settings.source("profile") == variable and str(settings.raw("profile")).strip():
        value = settings.raw("profile")
        return f"{variable}={value} overrides the active profile in this environment."
    return None
