"""Status (``status``, ``/claude-code-status``): the sign-in as the local file describes
it, one profile or every profile, as the stable report of
:func:`claude_code_oauth.account.status.collect` and the lines a person reads.

No network unless ``verify``; never a token (of an API key, its last 4 characters).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..account import status as status_report
from ..config import Settings
from ..errors import ClaudeOAuthError
from ..hints import CLI_HINTS, Hints
from .reporter import Message

if TYPE_CHECKING:
    from ..profiles.listing import ProfileSummary


class ProfileStatus:
    """One profile's ``report`` (the JSON of ``status --json``) and its ``messages``."""

    __slots__ = ("messages", "report")

    def __init__(self, report: dict[str, Any], messages: list[Message]) -> None:
        self.report = report
        self.messages = messages

    @property
    def usable(self) -> bool:
        """Signed in, no new login needed, and not refused by the server check."""
        report = self.report
        return bool(
            report["signed_in"] and not report["needs_login"] and report["verified"] is not False
        )

    @property
    def lines(self) -> list[str]:
        return [text for _, text in self.messages]


def status(
    settings: Settings,
    *,
    verify: bool = False,
    show_profile: bool | None = None,
    hints: Hints = CLI_HINTS,
) -> ProfileStatus:
    """The status of ``settings``' profile, with the compact usage line. The headline
    names the profile when ``show_profile`` (default: when it is not ``default``);
    ``hints`` words the sign-in command where the user is."""
    report = status_report.collect(settings, verify=verify)
    usage = status_report.usage_line(settings, report)
    messages = status_report.render_levels(report, usage, show_profile=show_profile, hints=hints)
    return ProfileStatus(report, messages)


def every_status(
    settings: Settings, *, verify: bool = False
) -> tuple[str | None, list[ProfileStatus]]:
    """The name the active-profile file records, and the status of every profile:
    ``settings``' first, then each other one with a token file (lines without the
    profile in the headline: the caller names it)."""
    from ..profiles.active import recorded_active_profile
    from ..profiles.listing import profile_names

    current = settings.profile
    active = recorded_active_profile(settings)
    names = [current] + [n for n in profile_names(settings) if n != current]
    return active, [
        status(settings.with_profile(name), verify=verify, show_profile=False) for name in names
    ]


def status_among_profiles(settings: Settings, *, hints: Hints = CLI_HINTS) -> list[Message]:
    """The status of ``settings``' profile, then one line for each other profile (the
    active one marked) and how to switch; a profile list that cannot be read is a
    warning first, and the status alone."""
    from ..profiles.listing import describe, list_profiles

    messages: list[Message] = []
    others: list[ProfileSummary] = []
    now = time.time()
    try:
        others = list_profiles(settings, now=now)[1:]
    except ClaudeOAuthError as exc:
        messages.append(("warning", str(exc)))
    messages += status(settings, show_profile=bool(others) or None, hints=hints).messages
    if others:
        messages.append(("info", f"Other profiles ({hints.switch('NAME')} makes one active):"))
        for summary in others:
            mark = " (active)" if summary.active else ""
            messages.append(("info", f"  {describe(summary, now)}{mark}"))
    return messages
