"""One ``httpx.Client`` per process, created once.

Creating a client builds an SSL context (about 20 ms here, 50 ms cold), which
would otherwise sit between the browser's callback and the saved token. The
login flow warms it up in the background while the user is in the browser.
The client is thread-safe; per-request timeouts are passed by each caller, and
redirects are never followed (an endpoint that redirects is misconfigured).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

_client: httpx.Client | None = None
_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The process-wide client (created on first use)."""
    global _client
    if _client is None:
        with _lock:
            if _client is None:
                import httpx

                _client = httpx.Client(follow_redirects=False)
    return _client


def warm_up_in_background() -> None:
    """Create the client (and import what a code exchange needs) in a daemon thread."""

    def run() -> None:
        shared_client()
        import filelock  # noqa: F401 - the token lock needs it right after the exchange

        from ..tokens import endpoint  # noqa: F401

    threading.Thread(target=run, name="claude-code-oauth-warm-up", daemon=True).start()
