"""What a sign-in's grant must hold before it is saved.

Claude grants an Anthropic Console (API-billed) account no ``user:inference``: a
subscription sign-in granted without it would fail at every request (Claude Code
treats such a grant as a Console sign-in). A Console sign-in creates an API key,
which needs ``org:create_api_key`` — which an organization may leave out of the grant
where members may not create keys (CONTEXT §2c). :func:`check_grant` refuses either
in one line that says what to do; the login flow calls it before anything is saved
or any key is asked for.
"""

from __future__ import annotations

from ..config import Settings
from ..errors import ScopeNotGranted


def check_grant(settings: Settings, granted: str, *, console: bool) -> None:
    """Raise :class:`ScopeNotGranted` unless ``granted`` (space separated) holds what the
    sign-in needs: ``user:inference`` (a subscription sign-in: without it no request
    works), or ``org:create_api_key`` (a Console sign-in: it creates the API key)."""
    from ..hints import anywhere

    scopes = granted.split()
    shown = " ".join(scopes) or "none"
    hints = anywhere()
    if console and "org:create_api_key" not in scopes:
        raise ScopeNotGranted(
            f"The Anthropic Console granted this sign-in without org:create_api_key "
            f"(granted: {shown}): your organization does not let this account create API "
            "keys. Nothing was saved.",
            hint="Ask an admin of the organization to allow API-key creation for your "
            "role, or sign in to another organization.",
        )
    if not console and "user:inference" not in scopes:
        raise ScopeNotGranted(
            f"Claude granted this sign-in without user:inference (granted: {shown}), so it "
            "cannot make requests: that is how Claude answers an Anthropic Console "
            "(API-billed) account. Nothing was saved.",
            hint=f"Sign in with {hints.login(settings.profile, console=True)} instead.",
        )
