"""SIGTERM during a save: held until the save is done, then delivered to the handler that
was there before (the real end of a process is in test_killed_writers)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from claude_code_oauth.storage.term_guard import deferred_sigterm


@pytest.fixture
def terms() -> Iterator[list[int]]:
    """SIGTERM is recorded here instead of ending the test run."""
    received: list[int] = []

    def record(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = signal.signal(signal.SIGTERM, record)
    yield received
    signal.signal(signal.SIGTERM, previous)


def test_a_sigterm_inside_is_delivered_once_the_block_ends(terms: list[int]) -> None:
    handler = signal.getsignal(signal.SIGTERM)
    with deferred_sigterm():
        signal.raise_signal(signal.SIGTERM)
        assert terms == []  # held
    assert terms == [signal.SIGTERM]
    assert signal.getsignal(signal.SIGTERM) is handler
    with deferred_sigterm():
        pass
    assert terms == [signal.SIGTERM]  # nothing held, nothing delivered


def test_blocks_nest_and_the_signal_waits_for_the_outermost(terms: list[int]) -> None:
    with deferred_sigterm():
        with deferred_sigterm():
            signal.raise_signal(signal.SIGTERM)
        assert terms == []
    assert terms == [signal.SIGTERM]


def test_outside_the_main_thread_nothing_changes(terms: list[int]) -> None:
    seen: list[object] = []

    def other() -> None:
        with deferred_sigterm():
            seen.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [signal.getsignal(signal.SIGTERM)]


def test_a_held_sigterm_is_delivered_once_even_if_the_block_is_left_twice(
    terms: list[int],
) -> None:
    # A reservation leaves its guard when it is closed; a second exit (a clean-up path
    # run again) must not deliver the same SIGTERM a second time.
    guard = deferred_sigterm().__enter__()
    signal.raise_signal(signal.SIGTERM)
    guard.__exit__(None, None, None)
    guard.__exit__(None, None, None)
    assert terms == [signal.SIGTERM]
