"""SIGINT for child processes the tests interrupt.

A process started with SIGINT ignored (a background job, ``nohup``, some CI
runners) passes that on to its children across ``exec``, and Python then never
installs its KeyboardInterrupt handler: a test's SIGINT would do nothing. Children
a test means to interrupt get the default disposition back with
:func:`restore_default_sigint` (a ``preexec_fn``).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


def restore_default_sigint() -> None:
    """In the child, before ``exec``: SIGINT back to its default disposition."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@contextlib.contextmanager
def sigint_ignored(ignored: bool = True) -> Iterator[None]:
    """While inside, this (main-thread) process ignores SIGINT, as if started so."""
    if not ignored:
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
