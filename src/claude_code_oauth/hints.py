"""How a message names the user's next step, wherever the user is, for any profile.

The core says "sign in again", "register the models again" or "switch to that
profile" in many places; which command does that depends on where the user is —
a shell (``claude-code-oauth login``) or Code Puppy's prompt (``/claude-code-auth``)
— and on the profile (`` --profile work``). A
:class:`~claude_code_oauth.app.reporter.Reporter` may carry a :class:`Hints` as
``hints``; code that words a next step asks :func:`hints_for`. Errors raised deep
in the core, where nobody knows who will show them, ask :func:`anywhere`: the
host's wording when this process is a host that said so (:func:`set_host_hints`:
Code Puppy's plugin does when our code first runs there — everything its user
reads arrives at its prompt), else :data:`ANYWHERE_HINTS`, which names both.
"""

from __future__ import annotations

from .config_rules import DEFAULT_PROFILE


def profile_option(profile: str) -> str:
    """`` --profile NAME``, or nothing for ``default``."""
    return "" if profile == DEFAULT_PROFILE else f" --profile {profile}"


class Hints:
    """The commands to name, each ready to drop into a sentence.

    Templates take ``{opt}`` (`` --profile NAME`` or nothing) and ``{name}`` (a
    profile). A plain class rather than a dataclass: building a dataclass costs
    milliseconds at import, and Code Puppy's commands import this on first use.
    """

    __slots__ = ("_login", "_refresh_models", "_switch", "where")

    def __init__(self, *, login: str, refresh_models: str, switch: str, where: str) -> None:
        self._login = login
        self._refresh_models = refresh_models
        self._switch = switch
        self.where = where

    def login(self, profile: str = DEFAULT_PROFILE, *, console: bool = False) -> str:
        """How to sign in (again) to ``profile`` (with ``console``: a Console sign-in)."""
        return self._login.format(opt=profile_option(profile) + (" --console" if console else ""))

    def refresh_models(self, profile: str = DEFAULT_PROFILE, *, pin: bool = False) -> str:
        """How to discover and register ``profile``'s models again."""
        return self._refresh_models.format(opt=profile_option(profile) + (" --pin" if pin else ""))

    def switch(self, profile: str) -> str:
        """How to make ``profile`` the active one."""
        return self._switch.format(name=profile)

    def __repr__(self) -> str:
        return f"Hints(where={self.where!r})"


CLI_HINTS = Hints(
    login="`claude-code-oauth login{opt}`",
    refresh_models="`claude-code-oauth models --refresh{opt}`",
    switch="`claude-code-oauth switch {name}`",
    where="the command line",
)
#: For errors that may be shown anywhere: both wordings.
ANYWHERE_HINTS = Hints(
    login="`claude-code-oauth login{opt}` (or /claude-code-auth{opt} in Code Puppy)",
    refresh_models="`claude-code-oauth models --refresh{opt}` (or /claude-code-auth{opt})",
    switch="`claude-code-oauth switch {name}` (or /claude-code-switch {name} in Code Puppy)",
    where="anywhere",
)


_host_hints: Hints | None = None


def set_host_hints(hints: Hints | None) -> None:
    """Say that this process is a host whose user reads every message at its prompt
    (``None``: not any more)."""
    global _host_hints
    _host_hints = hints


def anywhere() -> Hints:
    """The wording for a message raised where nobody knows who will show it."""
    return _host_hints if _host_hints is not None else ANYWHERE_HINTS


def hints_for(reporter: object) -> Hints:
    """The reporter's :class:`Hints`, or the CLI's."""
    hints = getattr(reporter, "hints", None)
    return hints if isinstance(hints, Hints) else CLI_HINTS
