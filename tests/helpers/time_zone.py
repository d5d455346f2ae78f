"""Local time in a zone a test names, so a line with clock times can be checked exactly."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def local_zone(zone: str) -> Iterator[None]:
    """``TZ=zone`` for the block (``UTC``, ``Europe/Berlin``…); the previous zone after."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()
