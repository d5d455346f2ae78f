"""How a message names the user's next step, wherever the user is.

The core says "sign in again" or "register the models again" in many places;
which command does that depends on where the user is: a shell
(``claude-code-oauth login``) or Code Puppy's prompt (``/claude-code-auth``).
A :class:`~claude_code_oauth.operations.Reporter` may carry a :class:`Hints`
as ``hints``; code that words a next step asks :func:`hints_for`.
"""

from __future__ import annotations


class Hints:
    """The commands to name, each ready to drop into a sentence (the CLI's by default).

    A plain class rather than a dataclass: building a dataclass costs milliseconds at
    import, and the Code Puppy plugin imports this at Code Puppy's start-up.
    """

    __slots__ = ("login", "refresh_models", "where")

    def __init__(
        self,
        login: str = "`claude-code-oauth login`",
        refresh_models: str = "`claude-code-oauth models --refresh`",
        where: str = "the command line",
    ) -> None:
        self.login = login
        self.refresh_models = refresh_models
        self.where = where

    def __repr__(self) -> str:
        return f"Hints(login={self.login!r}, refresh_models={self.refresh_models!r})"


CLI_HINTS = Hints()


def hints_for(reporter: object) -> Hints:
    """The reporter's :class:`Hints`, or the CLI's."""
    hints = getattr(reporter, "hints", None)
    return hints if isinstance(hints, Hints) else CLI_HINTS
