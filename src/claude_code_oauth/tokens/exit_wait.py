"""Refreshes still in flight when the process exits are waited for, so a rotation is saved.

A refresh may run inside another call's worker thread: a models, profile or usage
request whose 401 asks for a new token. When that outer call gives up at its own
deadline, the command prints its one line and exits — while the refresh, whose
answer the server may already have sent (rotating the refresh token), is not yet
saved. Python stops daemon threads at exit, so without this the rotated token
would be dropped and the next refresh would be a replay that ends the login.

:func:`refreshing` marks a refresh with its deadline (its own ``http_timeout`` plus
the time to save); at exit the interpreter waits, at most until the latest such
deadline, for every marked refresh to finish. Nothing waits when none is in
flight. Standard library only.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

_in_flight: dict[int, float] = {}
_changed = threading.Condition()
_registered = False
_next_id = 0


@contextlib.contextmanager
def refreshing(seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Iterator[None]:
    """Mark the enclosed refresh as one the process must not exit in the middle of,
    for at most ``seconds`` from now (``clock``: monotonic seconds, for tests)."""
    global _registered, _next_id
    with _changed:
        if not _registered:
            atexit.register(wait_for_refreshes)
            _registered = True
        _next_id += 1
        ident = _next_id
        _in_flight[ident] = clock() + seconds
    try:
        yield
    finally:
        with _changed:
            del _in_flight[ident]
            _changed.notify_all()


def wait_for_refreshes(clock: Callable[[], float] = time.monotonic) -> bool:
    """Wait until no marked refresh is in flight, or every one's deadline has passed
    (``clock`` as :func:`refreshing`'s). Returns whether none is left."""
    with _changed:
        while _in_flight:
            remaining = max(_in_flight.values()) - clock()
            if remaining <= 0:
                return False
            _changed.wait(remaining)
        return True
