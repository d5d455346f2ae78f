"""The login's warm-up thread: joined when the login closes, silent when it fails."""

from __future__ import annotations

import threading

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.login import warm_up
from claude_code_oauth.login.flow import LoginFlow


def test_closing_a_login_waits_for_the_warm_up_to_finish(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A Ctrl-C right after start() must not end the process mid-import (CPython's
    # shutdown can hang on a daemon thread's import lock): close() waits for it.
    entered, release = threading.Event(), threading.Event()

    def slow_client() -> None:
        entered.set()
        release.wait(30)

    monkeypatch.setattr(warm_up, "shared_client", slow_client)
    flow = LoginFlow(settings, timeout=30)
    flow.start()
    assert entered.wait(10)
    closer = threading.Thread(target=flow.close)
    closer.start()
    closer.join(0.3)
    held = closer.is_alive()
    release.set()
    closer.join(10)
    assert held, "close() returned while the warm-up was still running"
    assert not closer.is_alive()
    assert not any(t.name == "claude-code-oauth-warm-up" for t in threading.enumerate())


def test_a_failing_warm_up_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))

    def broken() -> None:
        raise OSError("no CA bundle")

    monkeypatch.setattr(warm_up, "shared_client", broken)
    thread = warm_up.start_warm_up()
    thread.join(10)
    assert not thread.is_alive()
    assert seen == []
