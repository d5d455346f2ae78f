"""The real interactive ``code-puppy`` in a pseudo-terminal, rendered by a terminal emulator.

:class:`PuppyTerminal` starts ``<venv>/bin/code-puppy`` under pexpect with a
fixed size (80 columns by default), feeds everything it writes to a pyte
screen that keeps the lines scrolled off the top, and lets a test type lines,
press Ctrl-C and wait — by polling with a deadline — for text to appear.

A test asserts on what a user would see (:meth:`transcript`: scrollback plus
screen) and, for URLs, on the byte stream (:meth:`output`): a terminal
soft-wraps a long line at the right margin, which looks exactly like a
hard-wrapped one on the screen, so "the URL is one unbroken line" is checked on
the output with the terminal's escape sequences removed.

The environment follows what makes Code Puppy run unattended: a private HOME
with ``puppy.cfg`` (see :func:`puppy_driver.make_home`), no ``XDG_*``, the null
keyring, no version check against PyPI (``NO_VERSION_UPDATE=1``), a truecolor
xterm. Secrets are never printed: :meth:`transcript` is only returned to the
test, and failure messages show the screen with token-shaped text redacted.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

import pexpect
import pyte

from .puppy_driver import REDACT

#: CSI and OSC escape sequences, and the single-character controls a terminal eats.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC ... BEL or ST
    r"|\x1b[@-Z\\-_=>]"  # two-byte escapes
    r"|[\x07\x08\x0e\x0f]"
)


def strip_escapes(text: str) -> str:
    """``text`` without terminal escape sequences (line breaks kept)."""
    return _ESCAPES.sub("", text)


class PuppyTerminal:
    """One interactive Code Puppy session in a pty."""

    def __init__(
        self, code_puppy: str, env: dict[str, str], *, cwd: str, columns: int = 80, rows: int = 24
    ) -> None:
        env = {k: v for k, v in env.items() if not k.startswith("XDG_")}
        env.update(
            TERM="xterm-256color",
            COLORTERM="truecolor",
            NO_VERSION_UPDATE="1",
            COLUMNS=str(columns),
            LINES=str(rows),
        )
        self.columns = columns
        self._screen = pyte.HistoryScreen(columns, rows, history=20000, ratio=0.5)
        self._stream = pyte.ByteStream(self._screen)
        self._raw = bytearray()
        self.child = pexpect.spawn(code_puppy, [], env=env, cwd=cwd, dimensions=(rows, columns))

    # -- reading ---------------------------------------------------------------------

    def _pump(self, timeout: float) -> bool:
        """Read what is there (waiting up to ``timeout``); False once the process has ended."""
        try:
            data = self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self._raw.extend(data)
        self._stream.feed(data)
        return True

    def screen(self) -> str:
        """The visible screen, one line per row (trailing blanks removed)."""
        return "\n".join(line.rstrip() for line in self._screen.display)

    def transcript(self) -> str:
        """Everything that scrolled off the top, then the visible screen."""
        columns = self.columns
        history = [
            "".join(row[x].data for x in range(columns)).rstrip()
            for row in self._screen.history.top
        ]
        return "\n".join([*history, self.screen()])

    def output(self) -> str:
        """The whole byte stream so far, decoded, without escape sequences."""
        return strip_escapes(self._raw.decode("utf-8", "replace"))

    def output_length(self) -> int:
        return len(self._raw)

    def output_since(self, mark: int) -> str:
        return strip_escapes(bytes(self._raw[mark:]).decode("utf-8", "replace"))

    def wait_for(
        self,
        pattern: str,
        timeout: float,
        *,
        more_than: int = 0,
        since: int | None = None,
    ) -> re.Match[str]:
        """Poll until ``pattern`` (a regex) appears, and return the match.

        By default it is searched in the rendered transcript, and must appear
        more than ``more_than`` times (take :meth:`count` before typing, to wait
        for a new occurrence). With ``since`` (an :meth:`output_length` mark) it
        is searched in the output written after the mark instead. Raises
        AssertionError showing the (redacted) screen when the deadline passes or
        Code Puppy exits first.
        """
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        alive = True
        while True:
            if since is not None:
                match = regex.search(self.output_since(since))
            else:
                matches = list(regex.finditer(self.transcript()))
                match = matches[-1] if len(matches) > more_than else None
            if match is not None:
                return match
            if not alive or time.monotonic() > deadline:
                why = "Code Puppy exited" if not alive else f"not within {timeout:g} s"
                raise AssertionError(
                    f"{pattern!r} did not appear ({why}); screen:\n{self.redacted_screen()}"
                )
            alive = self._pump(0.1)

    def count(self, pattern: str) -> int:
        """How often ``pattern`` appears in the rendered transcript now."""
        return len(re.findall(pattern, self.transcript(), re.MULTILINE))

    def settle(self, quiet: float = 1.0, timeout: float = 30.0) -> None:
        """Read until nothing arrives for ``quiet`` seconds (or ``timeout`` passes)."""
        deadline = time.monotonic() + timeout
        last = len(self._raw)
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if not self._pump(0.1):
                return
            if len(self._raw) != last:
                last, quiet_since = len(self._raw), time.monotonic()
            elif time.monotonic() - quiet_since >= quiet:
                return

    def redacted_screen(self) -> str:
        return REDACT.sub("sk-ant-REDACTED", self.screen())

    # -- typing ----------------------------------------------------------------------

    def type_line(self, text: str) -> None:
        self.child.send(text + "\r")

    def ctrl_c(self) -> None:
        self.child.sendintr()

    # -- the end -----------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.child.isalive()

    def close(self) -> Any:
        """End the session (``/exit``, then force); returns the exit status."""
        if self.child.isalive():
            try:
                self.type_line("/exit")
                deadline = time.monotonic() + 20
                while self.child.isalive() and time.monotonic() < deadline:
                    self._pump(0.1)
            finally:
                if self.child.isalive():
                    self.child.terminate(force=True)
        self.child.close()
        return self.child.exitstatus

    def __enter__(self) -> PuppyTerminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def terminal_env(base: dict[str, str]) -> dict[str, str]:
    """``base`` (see :func:`puppy_driver.puppy_env`) for an interactive session."""
    env = dict(base)
    env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    return env
