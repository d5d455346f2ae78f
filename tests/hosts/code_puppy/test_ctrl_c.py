"""hosts.code_puppy.ctrl_c: real SIGINTs to this process, in and out of the scope."""

from __future__ import annotations

import os
import signal
import threading
import time

from claude_code_oauth.hosts.code_puppy.ctrl_c import cancels

#: Tests of the adapter in pytest's own process: not once per Code Puppy release.
IN_THIS_PROCESS = True


def _wait(event: threading.Event) -> bool:
    return event.wait(10)  # a liveness bound: the watcher calls back at once


def test_ctrl_c_inside_calls_cancel_and_the_previous_handler_comes_back() -> None:
    guard_presses: list[int] = []

    def guard(signum: int, frame: object) -> None:  # like Code Puppy's: swallows it
        guard_presses.append(signum)

    previous = signal.signal(signal.SIGINT, guard)
    try:
        cancelled = threading.Event()
        with cancels(cancelled.set) as installed:
            assert installed
            assert signal.getsignal(signal.SIGINT) is not guard
            os.kill(os.getpid(), signal.SIGINT)
            assert _wait(cancelled)
        assert signal.getsignal(signal.SIGINT) is guard
        assert guard_presses == []
        os.kill(os.getpid(), signal.SIGINT)  # after the scope: Code Puppy's again
        deadline = time.monotonic() + 10
        while not guard_presses and time.monotonic() < deadline:
            time.sleep(0.01)  # let the interpreter run the pending handler
        assert guard_presses == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_cancel_that_raises_does_not_escape_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    called = threading.Event()

    def cancel() -> None:
        called.set()
        raise RuntimeError("cancel failed")

    with cancels(cancel):
        os.kill(os.getpid(), signal.SIGINT)
        assert _wait(called)
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_the_main_thread_nothing_is_installed() -> None:
    before = signal.getsignal(signal.SIGINT)
    seen: list[bool] = []

    def run() -> None:
        with cancels(lambda: None) as installed:
            seen.append(installed)

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(10)
    assert seen == [False]
    assert signal.getsignal(signal.SIGINT) is before
