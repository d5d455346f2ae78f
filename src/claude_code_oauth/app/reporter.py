"""Where a use case's words go: a :class:`Reporter` (print for the CLI, ``emit_*`` in
Code Puppy). No token ever reaches a reporter.

A reporter may also have (both optional, looked up with ``getattr``):

* ``hints`` — a :class:`~claude_code_oauth.hints.Hints` naming the user's next
  step *where they are* (``/claude-code-auth`` inside Code Puppy, a shell
  command in the CLI); :func:`claude_code_oauth.hints.hints_for` reads it;
* ``flush()`` — called before a use case blocks (the login's wait) and after
  every notice during it, so a reporter that collects lines shows them in time
  (:func:`flush`).

A use case that returns its lines instead gives them as :data:`Message` pairs
``(level, text)``, level one of ``info``, ``success``, ``warning``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from contextlib import AbstractContextManager


class Reporter(Protocol):
    def info(self, text: str) -> None: ...

    def success(self, text: str) -> None: ...

    def warning(self, text: str) -> None: ...


#: ``(level, text)``: a line a use case returns, and how much it matters.
Message = tuple[str, str]

#: ``cancel_scope(cancel)`` returns a context manager inside which a user's
#: interrupt calls ``cancel()`` (a host whose Ctrl-C never reaches us otherwise).
CancelScope = Callable[[Callable[[], None]], "AbstractContextManager[object]"]


def flush(reporter: object) -> None:
    """Call the reporter's ``flush()``, if it has one."""
    method = getattr(reporter, "flush", None)
    if callable(method):
        method()


def report(reporter: Reporter, messages: list[Message]) -> None:
    """Hand each message to the reporter's method of its level."""
    for level, text in messages:
        getattr(reporter, level)(text)
