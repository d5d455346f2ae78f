"""What to type to sign in to, or switch to, a profile: one wording for every message."""

from __future__ import annotations

from ..config import DEFAULT_PROFILE


def profile_option(profile: str) -> str:
    """`` --profile NAME``, or nothing for ``default``."""
    return "" if profile == DEFAULT_PROFILE else f" --profile {profile}"


def login_command_hint(profile: str) -> str:
    option = profile_option(profile)
    return f"`claude-code-oauth login{option}` (or /claude-code-auth{option} in Code Puppy)"


def switch_command_hint(profile: str) -> str:
    return f"`claude-code-oauth switch {profile}` (or /claude-code-switch {profile} in Code Puppy)"
