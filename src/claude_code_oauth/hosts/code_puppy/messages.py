"""Our words in Code Puppy: each command's output as one message, in order, URLs unbroken.

Code Puppy hands every ``emit_*`` call to a queue that two threads consume, so
two separate calls can reach the terminal in either order. So while a command
runs (:func:`command_output`), :class:`Emit` — the core's
:class:`~claude_code_oauth.app.reporter.Reporter` here — only *collects* lines;
they are emitted together as one message (a :class:`Block`) when the command
ends, when it raises, and at natural points in between (:meth:`Emit.flush`: the
login flushes before it waits, and every notice during the wait). Outside a
command (a model being built, the model list being read) each call is emitted
at once, as its own message.

A :class:`Block` renders each line in its level's style (success green, warning
yellow, error bold red). A line that is only a URL (indentation allowed) is
written as one unbroken run of characters on a terminal — the terminal may
soft-wrap it, but no newline is ever inserted, so clicking and copying work at
any width; off a terminal it is plain text.

Code Puppy's ``output_level = low`` shortens informational messages to their
first line, and ``suppress_informational_messages`` drops them. A block that
holds a URL the user must open is therefore emitted as an error-level message
in those modes (it still renders in its own colours), so the sign-in URLs are
never hidden; everything else follows the user's setting.

rich is imported only when a block is rendered (inside Code Puppy, where rich
is already loaded), so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ...hints import Hints

#: Levels from least to most severe; a block is emitted at its most severe level.
LEVELS = ("info", "success", "warning", "error")
_STYLES = {"info": None, "success": "green", "warning": "yellow", "error": "bold red"}
_URL_LINE = re.compile(r"\s*https?://\S+\s*")


def code_puppy_hints() -> Hints:
    """How next steps are phrased inside Code Puppy (no shell commands: the user is
    at Code Puppy's prompt). Imported on first use, not at Code Puppy's start-up."""
    from ...hints import Hints

    return Hints(
        login="/claude-code-auth{opt}",
        refresh_models="/claude-code-auth{opt}",
        switch="/claude-code-switch {name}",
        where="Code Puppy",
    )


def is_url_line(text: str) -> bool:
    """True for a line that is one URL and nothing else (surrounding blanks allowed)."""
    return _URL_LINE.fullmatch(text) is not None


class _UnbrokenLine:
    """One line written as a zero-width control segment: Rich neither wraps nor crops it."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.segment import ControlType, Segment
        from rich.text import Text

        if not console.is_terminal:  # control segments are dropped off a terminal
            yield Text(self.text)
            return
        yield Segment(self.text, None, [(ControlType.BELL,)])
        yield Segment.line()


class Block:
    """Lines of one message: a Rich renderable with a plain-text form.

    ``lines`` is ``[(level, text), ...]`` in the order they were reported;
    ``str(block)`` (what Code Puppy's one-line summaries and logs show) is the
    text, one line each.
    """

    def __init__(self, lines: list[tuple[str, str]]) -> None:
        self.lines = list(lines)

    @property
    def level(self) -> str:
        """The most severe level among the lines."""
        return max((level for level, _ in self.lines), key=LEVELS.index, default="info")

    @property
    def has_url(self) -> bool:
        return any(is_url_line(text) for _, text in self.lines)

    @property
    def plain(self) -> str:
        return "\n".join(text for _, text in self.lines)

    def __str__(self) -> str:
        return self.plain

    def __rich_console__(self, console: Any, options: Any) -> Iterator[Any]:
        from rich.text import Text

        for level, text in self.lines:
            if is_url_line(text):
                yield _UnbrokenLine(text.rstrip())
            else:
                yield Text(text, style=_STYLES.get(level) or "")


def _would_hide(level: str) -> bool:
    """Whether Code Puppy's density settings would shorten or drop ``level`` messages."""
    if level == "error":
        return False
    try:
        from code_puppy import config as cp_config

        output_level = getattr(cp_config, "get_output_level", lambda: "normal")()
        suppress = getattr(cp_config, "get_suppress_informational_messages", lambda: False)()
    except Exception:
        return False
    return output_level == "low" or (bool(suppress) and output_level != "high")


def emit_block(block: Block) -> None:
    """Emit ``block`` as one Code Puppy message at its most severe level."""
    if not block.lines:
        return
    from code_puppy import messaging

    level = block.level
    if block.has_url and _would_hide(level):
        level = "error"  # a URL to open must not be cut to a one-line summary
    getattr(messaging, f"emit_{level}")(block)


class _Collector:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def flush(self) -> None:
        lines, self.lines = self.lines, []
        block = Block(lines)
        try:
            emit_block(block)
        except Exception:  # never raise into Code Puppy; plain text is better than nothing
            with contextlib.suppress(Exception):
                from code_puppy.messaging import emit_info

                emit_info(block.plain)


_current: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar(
    "claude_code_oauth_command_output", default=None
)


@contextlib.contextmanager
def command_output() -> Iterator[None]:
    """Collect every :class:`Emit` line reported inside (this thread) and emit
    them as one message on the way out — also when the body raises."""
    collector = _Collector()
    token = _current.set(collector)
    try:
        yield
    finally:
        _current.reset(token)
        collector.flush()


class Emit:
    """A :class:`claude_code_oauth.app.reporter.Reporter` over Code Puppy's messaging.

    Inside :func:`command_output` lines are collected (see the module
    docstring); elsewhere each call is one message. ``hints`` phrases next
    steps for Code Puppy.
    """

    @property
    def hints(self) -> Hints:
        return code_puppy_hints()

    def _report(self, level: str, text: str) -> None:
        collector = _current.get()
        if collector is None:
            emit_block(Block([(level, text)]))
        else:
            collector.lines.append((level, text))

    def info(self, text: str) -> None:
        self._report("info", text)

    def success(self, text: str) -> None:
        self._report("success", text)

    def warning(self, text: str) -> None:
        self._report("warning", text)

    def error(self, text: str) -> None:
        self._report("error", text)

    def flush(self) -> None:
        """Emit what the current command collected so far (before a wait, say)."""
        collector = _current.get()
        if collector is not None:
            collector.flush()
