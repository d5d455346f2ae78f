"""Waiting for something another process or thread makes true, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll ``predicate`` every 10 ms until it is truthy; fail the test after ``timeout``.

    For conditions nothing can notify us of (a proxy saw a request, a process
    reached a state). The deadline proves "no hang"; it is not a timing assertion.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not come true in time")
        time.sleep(0.01)
