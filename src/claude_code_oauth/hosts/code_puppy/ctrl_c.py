"""Ctrl-C while a command waits inside Code Puppy.

Code Puppy's interactive loop installs its own SIGINT handler for its whole
life and runs a slash command synchronously in the main thread, so a command
that blocks never sees Ctrl-C: the guard swallows it (and from 0.0.755 a second
press within half a second makes Code Puppy quit once the command returns).
:func:`cancels` puts our own handler in place only for the duration of a wait
and puts Code Puppy's back afterwards, whatever happens inside.

The handler itself does nothing that could block or raise: it writes a byte to
a pipe. A watcher thread reads it and calls ``cancel()`` (for the login,
:meth:`~claude_code_oauth.login.flow.LoginFlow.cancel`, which ends the wait with
``LoginCancelled``). So no lock is ever taken inside the signal handler (the
main thread may hold it), and no ``KeyboardInterrupt`` is ever raised into Code
Puppy, whose command dispatcher catches only ``Exception``.

Outside the main thread signal handlers cannot be installed: the scope then
does nothing and the wait ends at its timeout, as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def cancels(cancel: Callable[[], None]) -> Iterator[bool]:
    """While inside, Ctrl-C calls ``cancel()`` (once per press, from a helper thread).

    Yields whether the handler is installed. On the way out the previous
    SIGINT handler is restored before anything else, so a press after the
    scope reaches Code Puppy as usual.
    """
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)

    def on_sigint(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):  # a full pipe: a cancel is pending anyway
            os.write(write_fd, b"\0")

    def watch() -> None:
        while True:
            try:
                pressed = os.read(read_fd, 64)
            except OSError:
                return
            if not pressed:  # the scope ended (write end closed)
                return
            with contextlib.suppress(Exception):
                cancel()

    watcher = threading.Thread(target=watch, name="claude-code-oauth-ctrl-c", daemon=True)
    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except (ValueError, OSError):
        os.close(read_fd)
        os.close(write_fd)
        yield False
        return
    watcher.start()
    try:
        yield True
    finally:
        # None: a handler not installed from Python, which signal() cannot put back.
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
        os.close(write_fd)
        watcher.join(5)
        os.close(read_fd)
