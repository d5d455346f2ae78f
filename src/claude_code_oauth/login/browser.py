"""Decide whether a browser can be opened, and open one without blocking.

Python's :mod:`webbrowser` is used, so ``BROWSER`` is honoured. No browser is
expected in an SSH session, nor on Linux and other Unix systems (not macOS)
without a display (``DISPLAY``/``WAYLAND_DISPLAY``); an explicitly set
``BROWSER`` always counts.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping


def browser_expected(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> tuple[bool, str]:
    """``(expected, reason)``; ``reason`` explains a ``False`` for the user."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("BROWSER", "").strip():
        return True, "BROWSER is set"
    # Before the platform check: over SSH a Mac or Windows would open the browser on
    # the remote machine's screen, where the user is not.
    if any(environ.get(v) for v in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")):
        return False, "this is an SSH session"
    if platform.startswith(("win", "cygwin", "darwin")):
        return True, "desktop platform"
    if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
        return False, "there is no graphical display (DISPLAY/WAYLAND_DISPLAY unset)"
    return True, "a display is available"


def open_in_background(url: str, on_failure: Callable[[str], None]) -> threading.Thread:
    """Open ``url`` in a thread; ``on_failure(reason)`` if no browser could be started.

    A thread because :mod:`webbrowser` waits for a ``BROWSER`` command to exit,
    and the login must keep listening meanwhile.
    """

    def run() -> None:
        import webbrowser

        try:
            opened = webbrowser.open(url, new=1)
        except Exception as exc:  # webbrowser raises assorted errors per platform
            on_failure(f"the browser could not be started ({type(exc).__name__})")
            return
        if not opened:
            on_failure("no browser could be started")

    thread = threading.Thread(target=run, name="claude-code-oauth-browser", daemon=True)
    thread.start()
    return thread
