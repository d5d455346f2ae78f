"""Read pasted lines from the terminal while a login waits, and stop cleanly.

The reader only reads while the login is waiting and stops the moment it ends,
so it never swallows a line meant for whatever reads stdin next (Code Puppy's
own prompt, for one). On POSIX it waits with ``select`` on stdin and a wake-up
pipe, reading raw bytes so no line is stranded in Python's buffer. Elsewhere it
falls back to a daemon thread reading lines.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import sys
import threading
from collections.abc import Callable
from typing import IO


class StdinPasteReader:
    """Call ``on_line(line)`` for every non-empty line typed or pasted on ``stream``."""

    def __init__(self, on_line: Callable[[str], None], stream: IO[str] | None = None) -> None:
        self._on_line = on_line
        self._stream = sys.stdin if stream is None else stream
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1

    def start(self) -> bool:
        """Start reading; ``False`` if there is no readable stdin."""
        stream = self._stream
        if stream is None or stream.closed:
            return False
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return False
        if os.name != "posix":
            target: Callable[[], None] = self._read_lines
        else:
            self._wake_r, self._wake_w = os.pipe()
            target = lambda: self._select_loop(fd)  # noqa: E731
        self._thread = threading.Thread(target=target, name="claude-code-oauth-paste", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop reading (idempotent); returns once the reader has let go of stdin."""
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")
        if self._thread is not None and self._wake_w >= 0:
            self._thread.join(2.0)
        for fd in (self._wake_r, self._wake_w):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._wake_r = self._wake_w = -1

    def __enter__(self) -> StdinPasteReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _emit(self, raw: bytes) -> None:
        line = raw.decode("utf-8", "replace").strip()
        if line:
            self._on_line(line)

    def _select_loop(self, fd: int) -> None:
        pending = b""
        with selectors.DefaultSelector() as selector:
            try:
                selector.register(fd, selectors.EVENT_READ)
            except (OSError, ValueError):
                # A regular file (``login < file``): epoll refuses it, but reading it
                # never blocks, so plain line reading is safe.
                self._read_lines()
                return
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = [key.fd for key, _ in selector.select()]
                if self._wake_r in ready:
                    return
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:  # EOF: a paste can no longer arrive
                    self._emit(pending)
                    return
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    self._emit(line)

    def _read_lines(self) -> None:
        try:
            for line in self._stream:
                if line.strip():
                    self._on_line(line.strip())
        except (OSError, ValueError):
            return
