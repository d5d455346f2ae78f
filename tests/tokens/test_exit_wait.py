"""Refreshes in flight at exit: waited for until done, or until their deadline."""

from __future__ import annotations

import threading

from claude_code_oauth.tokens import exit_wait


def test_nothing_in_flight_returns_at_once() -> None:
    assert exit_wait.wait_for_refreshes() is True


def test_a_refresh_in_flight_is_waited_for() -> None:
    started, finish, done = threading.Event(), threading.Event(), []

    def refresh() -> None:
        with exit_wait.refreshing(60):
            started.set()
            finish.wait(30)
            done.append(True)

    worker = threading.Thread(target=refresh, daemon=True)
    worker.start()
    assert started.wait(30)
    threading.Timer(0.05, finish.set).start()
    assert exit_wait.wait_for_refreshes() is True
    assert done == [True]


def test_a_refresh_past_its_deadline_is_not_waited_for() -> None:
    release = threading.Event()
    entered = threading.Event()

    def stuck() -> None:
        with exit_wait.refreshing(0.0):
            entered.set()
            release.wait(30)

    worker = threading.Thread(target=stuck, daemon=True)
    worker.start()
    assert entered.wait(30)
    assert exit_wait.wait_for_refreshes() is False  # gives up at the deadline, no hang
    release.set()
    worker.join(30)
