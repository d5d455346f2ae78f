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


# With a clock of our own: the deadline's exact boundary, and a wait that ends at it.

NOW = 1000.0


def test_a_refresh_whose_deadline_is_now_is_not_waited_for() -> None:
    with exit_wait.refreshing(0.0, clock=lambda: NOW):
        assert exit_wait.wait_for_refreshes(clock=lambda: NOW) is False


def test_a_refresh_with_under_a_second_left_is_still_waited_for() -> None:
    entered, finish = threading.Event(), threading.Event()

    def refresh() -> None:
        with exit_wait.refreshing(0.5, clock=lambda: NOW):
            entered.set()
            finish.wait(30)

    def clock() -> float:
        # Read by the waiter under the in-flight lock: the refresh can only finish once
        # the waiter waits, whatever the machine's speed.
        finish.set()
        return NOW

    worker = threading.Thread(target=refresh, daemon=True)
    worker.start()
    assert entered.wait(30)
    assert exit_wait.wait_for_refreshes(clock=clock) is True
    worker.join(30)


def test_the_wait_ends_at_the_deadline_while_the_refresh_goes_on() -> None:
    entered, release = threading.Event(), threading.Event()
    readings = iter([NOW, NOW + 1.0])

    def stuck() -> None:
        with exit_wait.refreshing(0.05, clock=lambda: NOW):
            entered.set()
            release.wait(30)

    worker = threading.Thread(target=stuck, daemon=True)
    worker.start()
    assert entered.wait(30)
    # 0.05 s left at the first reading; past the deadline at the next (after the wait).
    assert exit_wait.wait_for_refreshes(clock=lambda: next(readings)) is False
    release.set()
    worker.join(30)
