"""Usage capture: every answer through our auth layers keeps the snapshot beside the
token file — by default, throttled, private, without tokens, and never at the cost
of a request."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.usage_capture import UsageCapture, capture_for
from claude_code_oauth.config import Settings
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import seed

SONNET = "claude-sonnet-4-5-20250929"
BODY = {"model": SONNET, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, settings: Settings) -> Settings:
    seed(emulator, settings.token_path, expires_in=3600)
    return settings


def _post(
    settings: Settings, emulator: ClaudeEmulator, times: int, **auth_kwargs: Any
) -> list[int]:
    auth = OAuthBearerAuth(TokenProvider(settings), settings, **auth_kwargs)
    with httpx.Client(base_url=emulator.base_url, auth=auth, timeout=10) as client:
        return [client.post("/v1/messages", json=BODY).status_code for _ in range(times)]


def _holds_a_secret(path: str) -> bool:
    raw = Path(path).read_bytes()
    return b"sk-ant-" in raw or any(s.encode() in raw for s in ISSUED_SECRETS if len(s) >= 16)


def test_the_library_auth_captures_by_default(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    emulator.configure_usage(limits={"five_hour": 4}, extra_usage=True)
    assert _post(signed_in, emulator, 5) == [200] * 5
    capture = capture_for(signed_in)
    assert capture.flush(10)
    path = usage_snapshot.usage_path(signed_in)
    assert path.endswith("claude_code_oauth.default.usage.json")
    assert os.path.dirname(path) == os.path.dirname(signed_in.token_path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    usage = usage_snapshot.load(path)
    assert usage.account == emulator.account_uuid
    snapshot = usage.snapshot
    assert snapshot is not None and snapshot.source == "headers"
    counters = emulator.usage_counters()
    assert snapshot.limits.windows["five_hour"].utilization == pytest.approx(
        counters["windows"]["five_hour"]["utilization"]
    )
    assert snapshot.limits.overage_in_use is True and snapshot.limits.status == "rejected"
    assert not _holds_a_secret(path)


def test_a_refused_answer_is_captured_too(emulator: ClaudeEmulator, signed_in: Settings) -> None:
    # Past the limit with extra usage off Claude answers 429: its headers are the news.
    emulator.configure_usage(limits={"five_hour": 1}, extra_usage=False)
    assert _post(signed_in, emulator, 2) == [200, 429]
    assert capture_for(signed_in).flush(10)
    snapshot = usage_snapshot.load(usage_snapshot.usage_path(signed_in)).snapshot
    assert snapshot is not None and snapshot.limits.status == "rejected"
    assert snapshot.limits.windows["five_hour"].utilization == pytest.approx(100.0)
    assert snapshot.limits.overage_status == "rejected"


def test_no_observers_means_no_capture(emulator: ClaudeEmulator, signed_in: Settings) -> None:
    assert _post(signed_in, emulator, 2, observers=()) == [200, 200]
    assert not os.path.exists(usage_snapshot.usage_path(signed_in))


class _Answer:
    """The part of a response an observer reads."""

    def __init__(self, utilization: str) -> None:
        self.headers = httpx.Headers(
            {
                "anthropic-ratelimit-unified-status": "allowed",
                "anthropic-ratelimit-unified-5h-utilization": utilization,
            }
        )


def test_writes_are_throttled_to_one_a_second_and_keep_the_latest(signed_in: Settings) -> None:
    capture = UsageCapture(signed_in)
    path = usage_snapshot.usage_path(signed_in)
    started = time.monotonic()
    for step in range(50):
        capture(_Answer(f"0.{step:02d}"))
    burst = time.monotonic() - started  # milliseconds, unless the machine stalls
    deadline = time.monotonic() + 20
    while capture.writes < 2:
        assert time.monotonic() < deadline, f"only {capture.writes} write(s)"
        time.sleep(0.02)
    # The burst's first answer was written at once; the rest waited for the second.
    assert time.monotonic() - started >= 0.9
    assert capture.writes <= 2 + int(burst) and capture.failures == 0
    writes = capture.writes
    assert capture.flush(10)
    snapshot = usage_snapshot.load(path).snapshot
    assert snapshot is not None
    assert snapshot.limits.windows["five_hour"].utilization == pytest.approx(49.0)
    assert capture.writes == writes  # nothing was pending any more


def test_answers_without_unified_headers_change_nothing(signed_in: Settings) -> None:
    capture = UsageCapture(signed_in)

    class Plain:
        headers = httpx.Headers({"content-type": "application/json"})

    capture(Plain())
    assert capture.latest is None and capture.flush(1) and capture.writes == 0


def test_a_failing_capture_never_fails_the_request(
    emulator: ClaudeEmulator, signed_in: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The snapshot's path is taken by a directory: every write fails.
    os.mkdir(usage_snapshot.usage_path(signed_in))
    capture = UsageCapture(signed_in)

    def explode(response: Any) -> None:
        raise RuntimeError("observer bug")

    with caplog.at_level(logging.DEBUG, logger="claude_code_oauth"):
        assert _post(signed_in, emulator, 3, observers=(explode, capture)) == [200] * 3
        assert capture.flush(10)
    assert capture.failures >= 1 and capture.writes == 0
    messages = [r.getMessage() for r in caplog.records]
    assert "response observer failed" in messages
    assert any("could not save the usage snapshot" in m for m in messages)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


def test_the_model_path_captures_and_survives_capture_failures(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from pydantic_ai import Agent

    from claude_code_oauth.models.anthropic_model import build_model
    from claude_code_oauth.testing.emulator.api import REPLY_TEXT
    from claude_code_oauth.tokens.provider import provider_for

    emulator.configure_usage(limits={"five_hour": 10})
    haiku = "claude-haiku-4-5-20251001"  # (pydantic-ai warns about Sonnet 4.5's end of life)
    entry = {"name": haiku, "custom_endpoint": {"url": emulator.base_url}}
    provider = provider_for(signed_in)

    def explode(response: Any) -> None:
        raise ValueError("capture bug")

    model = build_model("claude-code-" + haiku, entry, signed_in, provider)
    broken = build_model("claude-code-" + haiku, entry, signed_in, provider, observers=(explode,))

    async def run() -> list[str]:
        return [(await Agent(m).run("hi")).output for m in (model, broken)]

    assert asyncio.run(run()) == [REPLY_TEXT, REPLY_TEXT]
    assert capture_for(signed_in).flush(10)
    snapshot = usage_snapshot.load(usage_snapshot.usage_path(signed_in)).snapshot
    assert snapshot is not None
    assert snapshot.limits.windows["five_hour"].utilization == pytest.approx(10.0)


def test_the_writer_never_keeps_the_host_from_exiting(settings: Settings) -> None:
    """The background writer is a daemon thread (Code Puppy exits without waiting for
    it; pending changes are flushed at exit instead), named for a thread dump."""
    import threading

    from claude_code_oauth.account.unified_limits import UnifiedLimits

    capture = UsageCapture(settings, clock=lambda: 1_790_000_000.0)
    capture.record(usage_snapshot.UsageSnapshot(UnifiedLimits(status="allowed"), 1.0, "headers"))
    assert capture.flush(10)
    writers = [t for t in threading.enumerate() if t.name == "claude-code-oauth-usage"]
    assert writers and all(t.daemon for t in writers)


def test_flush_writes_at_once_without_waiting_for_the_next_turn(settings: Settings) -> None:
    """Writes are at most one per ``min_interval``, but ``flush`` (and interpreter
    exit) does not wait for the next turn: the latest answer is on disk now."""
    from claude_code_oauth.account.unified_limits import UnifiedLimits

    capture = UsageCapture(settings, min_interval=3600.0)
    first = usage_snapshot.UsageSnapshot(UnifiedLimits(status="allowed"), 1.0, "headers")
    capture.record(first)
    assert capture.flush(10)
    second = usage_snapshot.UsageSnapshot(UnifiedLimits(status="rejected"), 2.0, "headers")
    capture.record(second)
    assert capture.flush(2)  # not an hour
    assert usage_snapshot.load(capture.path).snapshot == second


def test_an_answer_is_read_at_the_captures_clock(settings: Settings) -> None:
    """Reset times are judged against the injected clock, and the snapshot is stamped
    with it: a clock far from the wall clock keeps a reset an hour after it."""
    now = 1_000_000_000.0  # 2001: far outside any reset distance of the wall clock
    capture = UsageCapture(settings, clock=lambda: now)

    class Answer:
        headers = httpx.Headers(
            {
                "anthropic-ratelimit-unified-status": "allowed",
                "anthropic-ratelimit-unified-5h-utilization": "0.25",
                "anthropic-ratelimit-unified-5h-reset": str(int(now) + 3600),
            }
        )

    capture(Answer())
    assert capture.flush(10)
    latest = capture.latest
    assert latest is not None and latest.as_of == now and latest.source == "headers"
    assert latest.limits.windows["five_hour"].resets_at == now + 3600
    assert usage_snapshot.load(capture.path).snapshot == latest


def test_flush_gives_up_after_its_timeout_while_the_write_waits_for_the_lock(
    settings: Settings,
) -> None:
    """A write stuck behind another writer's lock makes ``flush`` answer ``False`` after
    its timeout (interpreter exit waits no longer); the write lands once the lock is free."""
    from claude_code_oauth.account.unified_limits import UnifiedLimits
    from claude_code_oauth.storage.file_lock import file_lock

    # The writer waits for the lock up to 20 s: far longer than the flush below.
    capture = UsageCapture(Settings({"lock_timeout": 20}, environ=settings.environ))
    snapshot = usage_snapshot.UsageSnapshot(UnifiedLimits(status="allowed"), 1.0, "headers")
    with file_lock(capture.path + ".lock", 5):  # another process is writing the file
        capture.record(snapshot)
        assert capture.flush(0.2) is False
    assert capture.flush(20) is True
    assert usage_snapshot.load(capture.path).snapshot == snapshot
    assert capture.writes == 1 and capture.failures == 0


def test_an_answer_after_a_quiet_spell_is_written_without_a_flush(settings: Settings) -> None:
    """The writer waits for work when there is none, and is woken by the next answer."""
    from claude_code_oauth.account.unified_limits import UnifiedLimits
    from helpers.polling import wait_for

    capture = UsageCapture(settings, min_interval=0.01)
    first = usage_snapshot.UsageSnapshot(UnifiedLimits(status="allowed"), 1.0, "headers")
    capture.record(first)
    wait_for(lambda: capture.writes == 1)
    second = usage_snapshot.UsageSnapshot(UnifiedLimits(status="rejected"), 2.0, "headers")
    capture.record(second)
    wait_for(lambda: capture.writes == 2)
    assert usage_snapshot.load(capture.path).snapshot == second


def test_each_failed_write_is_counted(settings: Settings) -> None:
    from claude_code_oauth.account.unified_limits import UnifiedLimits

    os.mkdir(usage_snapshot.usage_path(settings))  # every write fails
    capture = UsageCapture(settings)
    for as_of in (1.0, 2.0):
        limits = UnifiedLimits(status="allowed")
        capture.record(usage_snapshot.UsageSnapshot(limits, as_of, "headers"))
        assert capture.flush(10)
    assert capture.failures == 2 and capture.writes == 0


def test_interpreter_exit_writes_what_is_pending_and_waits_for_a_stuck_write_two_seconds(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the capture registers with ``atexit`` (collected here, then run as the
    interpreter runs it at exit): the answer still waiting for its turn is written; a
    write stuck behind another writer's lock holds the exit up ``EXIT_FLUSH_TIMEOUT``
    seconds, not until the lock's own timeout."""
    import atexit

    from claude_code_oauth.account.unified_limits import UnifiedLimits
    from claude_code_oauth.storage.file_lock import file_lock

    at_exit: list[tuple[Any, tuple[Any, ...]]] = []
    monkeypatch.setattr(atexit, "register", lambda hook, *args: at_exit.append((hook, args)))
    capture = UsageCapture(
        Settings({"lock_timeout": 20}, environ=settings.environ), min_interval=3600.0
    )

    def answer(as_of: float) -> usage_snapshot.UsageSnapshot:
        snapshot = usage_snapshot.UsageSnapshot(UnifiedLimits(status="allowed"), as_of, "headers")
        capture.record(snapshot)
        return snapshot

    answer(1.0)
    assert capture.flush(10)
    waiting = answer(2.0)  # its turn is an hour away
    # Registered once, with the first answer (other parts may register their own).
    ((hook, args),) = [(h, a) for h, a in at_exit if getattr(h, "__self__", None) is capture]
    assert hook(*args) is True
    assert usage_snapshot.load(capture.path).snapshot == waiting
    with file_lock(capture.path + ".lock", 5):  # another process is writing the file
        answer(3.0)
        assert hook(*args) is False
