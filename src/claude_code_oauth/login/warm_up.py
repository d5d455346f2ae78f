"""Import the HTTP stack and create the shared client while the user is in the browser.

The code exchange then starts the moment the callback arrives. The work runs in a
daemon thread that :meth:`LoginFlow.close <.flow.LoginFlow.close>` joins (for at most
:data:`JOIN_SECONDS`), so the process never ends while that thread is inside an
import: CPython's shutdown can wait forever on the lock of a module a daemon thread
was importing when the interpreter began to finalize.
"""

from __future__ import annotations

import threading

from ..net.http_client import shared_client

#: Seconds a closing login waits for the warm-up (it normally takes well under one).
JOIN_SECONDS = 10.0


def start_warm_up() -> threading.Thread:
    """Start the warm-up thread and return it. A failure there is not reported: the
    exchange meets the same failure and reports it where the user sees it."""
    thread = threading.Thread(target=_warm_up, name="claude-code-oauth-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up() -> None:
    try:
        shared_client()
        import filelock  # noqa: F401 - the token lock needs it right after the exchange

        from ..tokens import endpoint  # noqa: F401
    except Exception:  # best effort; see start_warm_up
        return
