"""Usage and extra usage inside a real Code Puppy session that crosses a limit.

One Code Puppy subprocess per scenario (``tests/helpers/puppy_driver.py``) signs
in against the emulator, whose usage counters have a 5-hour limit of a few
requests with extra usage on, and sends requests through our model type until
Claude bills them as extra usage. Between steps the driver waits on stdin while
this test resets the emulator's windows. Nothing is mocked.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.account.extra_usage_guard import refusal
from claude_code_oauth.models.model_failures import REPLY_PREFIX
from claude_code_oauth.testing.clock import WallClock
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.local_time import texts_between

SONNET = "claude-code-claude-sonnet-4-5-20250929"
HAIKU = "claude-code-claude-haiku-4-5-20251001"
BILLED = "billing these requests as extra usage"


def _messages(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


def _warnings(t: driver.Transcript, step: int) -> list[str]:
    return [text for kind, text in t.messages(step) if kind == "warning" and BILLED in text]


def _driver_env(home: str, emulator: ClaudeEmulator, browser: str, **extra: str) -> dict[str, str]:
    env = driver.puppy_env(home, emulator.env(), browser=browser)
    env.update(extra)
    return env


def test_warn_once_per_stretch_and_usage_matches_the_counters(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    emulator.configure_usage(limits={"five_hour": 2}, extra_usage=True, extra_limit=20)
    home = driver.make_home(str(tmp_path))
    counters: dict[str, Any] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            emulator.reset_usage()  # every window starts again: extra usage stops
            send("go")

    t = driver.run_driver(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "agent_run", "model": SONNET},  # 2: 50 %
            {"op": "model_run", "model": HAIKU},  # 3: 100 %, still in the plan
            {"op": "model_run", "model": HAIKU},  # 4: billed as extra usage: one warning
            {"op": "model_run", "model": HAIKU},  # 5: still billed: no second warning
            {"op": "wait", "label": "reset"},
            {"op": "model_run", "model": HAIKU},  # 7: in the plan again: it stopped
            {"op": "model_run", "model": HAIKU},  # 8
            {"op": "model_run", "model": HAIKU},  # 9: billed again: warned again
            {"op": "cmd", "text": "/claude-code-usage --json"},  # 10
            {"op": "cmd", "text": "/claude-code-status"},  # 11
            {"op": "cmd", "text": "/claude-code-usage"},  # 12
            {"op": "cmd", "text": "/claude-code-usage --json --refresh"},  # 13: the endpoint
        ],
        _driver_env(home, emulator, scripted_browser),
        on_event=on_event,
    )
    counters = emulator.usage_counters()
    assert t.data(2).get("output") == REPLY_TEXT, t.data(2)
    for step in (3, 4, 5, 7, 8, 9):
        assert t.data(step).get("output") == REPLY_TEXT, (step, t.data(step))
    warned = {step: _warnings(t, step) for step in range(14)}
    assert {step: len(found) for step, found in warned.items() if found} == {4: 1, 9: 1}
    assert (
        "/claude-code-usage" in warned[4][0]
        and "CLAUDE_CODE_OAUTH_EXTRA_USAGE=block" in warned[4][0]
    )
    assert _messages(emulator) == 7 and counters["extra_used"] == 3

    # /claude-code-usage --json: the emulator's counters, from this session's answers.
    report = json.loads(next(text for kind, text in t.messages(10) if text.startswith("{")))
    assert report["source"] == "headers"
    assert report["windows"]["five_hour"]["utilization"] == pytest.approx(
        counters["windows"]["five_hour"]["utilization"], abs=0.01
    )
    assert report["windows"]["five_hour"]["utilization"] == 150.0
    assert report["windows"]["seven_day"]["utilization"] == pytest.approx(
        counters["windows"]["seven_day"]["utilization"], abs=0.01
    )
    assert (report["extra_usage"]["status"], report["extra_usage"]["in_use"]) == ("allowed", True)
    assert report["extra_usage"]["utilization"] == 15.0  # 3 of 20 units
    assert report["binding_window"] == "five_hour"

    status = [text for _, text in t.messages(11) if text.startswith("Usage:")]
    assert len(status) == 1 and status[0].startswith("Usage: 5 h 150 % (resets ")
    assert status[0].endswith("· extra usage in use")
    human = t.texts(12)
    assert "Extra usage: on, in use" in human and "(binding)" in human

    # From the usage endpoint: the same counters, as the endpoint reports them.
    endpoint = json.loads(next(text for _, text in t.messages(13) if text.startswith("{")))
    assert endpoint["source"] == "usage_endpoint"
    for name in ("five_hour", "seven_day"):
        assert endpoint["windows"][name]["utilization"] == pytest.approx(
            counters["windows"][name]["utilization"], abs=0.5
        ), name
    assert endpoint["plan"]["name"] == "Max"
    everything = "\n".join(str(e) for e in t.events) + t.stderr
    assert "sk-ant-" not in everything
    assert "Traceback" not in t.stderr


def _refusals(resets_at: float, earliest: float, latest: float) -> set[str]:
    """Every line the guard can have answered for a 5-hour window resetting at
    ``resets_at``, refused between ``earliest`` and ``latest``: its own formatter's."""
    return texts_between(
        lambda now: REPLY_PREFIX + refusal("five_hour", resets_at, now), earliest, latest
    )


def _tomorrow_at(clock: WallClock, hour: int, minute: int) -> float:
    today = time.localtime(clock())
    return time.mktime((today.tm_year, today.tm_mon, today.tm_mday + 1, hour, minute, 0, 0, 0, -1))


@pytest.mark.time_sensitive
def test_block_refuses_with_the_reset_time_and_sends_again_after_it(
    tmp_path: Path, scripted_browser: str
) -> None:
    """The session's clock is the test's (through the environment, then moved with
    ``sync_clock``), as is the emulator's: it starts at 21:00 local time, so the 5-hour
    window resets tomorrow (the line names the day), at 00:30 the same reset is today's,
    and the reset is passed by moving the clock, never by waiting for it."""
    clock = WallClock.at_local(21, 0)
    received: dict[int, float] = {}  # step -> the clock when its result arrived
    marks: dict[str, float] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "result":
            received[event["step"]] = clock()
        if event.get("event") != "waiting":
            return
        if event["label"] == "clock" and "past midnight" not in marks:
            marks["first reset"] = emulator.usage_counters()["windows"]["five_hour"]["resets_at"]
            clock.advance(_tomorrow_at(clock, 0, 30) - clock())
            marks["past midnight"] = clock()
        elif event["label"] == "clock":
            clock.advance(marks["new reset"] - clock() + 1)  # just past the new reset
            marks["past the reset"] = clock()
        else:
            marks["before"] = _messages(emulator)
            # The 5-hour window now resets in a minute; the session learns the new reset
            # time from the usage endpoint (the next step), not from a request.
            emulator.reset_usage("five_hour", in_seconds=60.0)
            marks["new reset"] = emulator.usage_counters()["windows"]["five_hour"]["resets_at"]
        send(repr(clock.offset))

    with ClaudeEmulator(wall_clock=clock) as emulator:
        emulator.configure_usage(limits={"five_hour": 2}, extra_usage=True)
        home = driver.make_home(str(tmp_path))
        env = _driver_env(home, emulator, scripted_browser, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block")
        t = driver.run_driver(
            [
                {"op": "load"},
                {"op": "cmd", "text": "/claude-code-auth"},
                {"op": "model_run", "model": HAIKU},  # 2: 50 %: the window starts
                {"op": "model_run", "model": HAIKU},  # 3: 100 %: the next would be extra
                {"op": "model_run", "model": HAIKU},  # 4: refused, not sent
                {"op": "agent_run", "model": SONNET},  # 5: refused inside Code Puppy's agent
                {"op": "cmd", "text": "/claude-code-usage"},  # 6
                {"op": "sync_clock"},  # 7: 00:30 tomorrow
                {"op": "model_run", "model": HAIKU},  # 8: refused: the same reset, today
                {"op": "wait", "label": "reset soon"},  # 9
                {"op": "cmd", "text": "/claude-code-usage --refresh"},  # 10
                {"op": "model_run", "model": HAIKU},  # 11: refused until the new reset
                {"op": "sync_clock"},  # 12: just past the new reset
                {"op": "model_run", "model": HAIKU},  # 13: sent
            ],
            {**env, **clock.env()},
            on_event=on_event,
            timeout=120,
        )
        window = emulator.usage_counters()["windows"]["five_hour"]
        sent = _messages(emulator)
        extra_used = emulator.usage_counters()["extra_used"]
    for step in (2, 3):
        assert t.data(step).get("output") == REPLY_TEXT, (step, t.data(step))
    # The first window: it started with step 2's request, and the headers carry its
    # reset in whole seconds. At 21:00 it resets tomorrow: the line names the day.
    first_reset = math.ceil(marks["first reset"])
    started = marks["first reset"] - 5 * 3600

    # Refused before sending: the model answers one line of ours naming the window and
    # when it resets (an answer, not an exception: the one shape every Code Puppy
    # release shows as a single line).
    refused = t.data(4)
    assert "error" not in refused, refused
    assert refused["output"] in _refusals(first_reset, started, received[4]), refused
    assert time.strftime("%a %d %b ", time.localtime(first_reset)) in refused["output"]
    assert marks["before"] == 2  # no refused attempt reached Claude

    # In Code Puppy's own agent loop: the same line as the turn's answer; no error, no
    # traceback, no retries.
    agent = t.data(5)
    assert "raised" not in agent, agent
    assert agent.get("output", "").startswith("[claude-code-oauth] Not sent (extra_usage = block)")
    shown = t.messages(5)
    assert not any(kind == "error" for kind, _ in shown), shown
    assert not any("Traceback" in s or "Unexpected error" in s for _, s in shown)
    assert "Traceback" not in t.stderr
    assert "extra_usage = block" in t.texts(6) and "send nothing until" in t.texts(6)

    # Past midnight the same reset is today's: the time alone.
    after_midnight = t.data(8)["output"]
    assert after_midnight in _refusals(first_reset, marks["past midnight"], received[8])
    assert "(in 1 h 29 min)" in after_midnight or "(in 1 h 30 min)" in after_midnight

    # The usage endpoint tells the new reset; the guard waits for that one, and sends
    # once the clock has passed it.
    assert "from the usage endpoint" in t.texts(10)
    new_reset = math.ceil(marks["new reset"])
    assert t.data(11)["output"] in _refusals(new_reset, marks["new reset"] - 60, received[11])
    assert t.data(13).get("output") == REPLY_TEXT, t.data(13)
    assert window["used"] == 1  # a new window: the request went out after the reset
    assert sent == 3
    assert extra_used == 0  # nothing was billed as extra usage


def test_block_never_refuses_on_severity_grace_or_slow_headers(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    """Issue 17: with extra usage on and ``block``, every answer carries the offers that
    are not windows (a wrap-up allowance, a slower lane whose budget is spent, a
    fallback model, upgrade paths) and the usage endpoint colours the 5-hour row
    ``critical`` at 91 %: none is a limit, so every request is sent."""
    emulator.configure_usage(
        limits={"five_hour": 10},
        extra_usage=True,
        signals={"grace": 0.0, "slow": 0.0, "fallback": 0.0, "upgrade_paths": 0.0},
        slow_budget_used=1.0,
        endpoint_form="limits",
    )
    home = driver.make_home(str(tmp_path))

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            used = emulator.usage_counters()["windows"]["five_hour"]["used"]
            emulator.configure_usage(cost=9.1 - used)  # the next request: 91 %
            send("go")

    t = driver.run_driver(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "agent_run", "model": SONNET},  # 2: every offer in the answer
            {"op": "model_run", "model": HAIKU},  # 3: sent all the same
            {"op": "wait", "label": "to 91 %"},
            {"op": "model_run", "model": HAIKU},  # 5: 91 %
            {"op": "cmd", "text": "/claude-code-usage --json --refresh"},  # 6: critical
            {"op": "model_run", "model": HAIKU},  # 7: sent: a colour is not a limit
            {"op": "cmd", "text": "/claude-code-usage"},  # 8
            {"op": "cmd", "text": "/claude-code-status"},  # 9
        ],
        _driver_env(home, emulator, scripted_browser, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block"),
        on_event=on_event,
    )
    assert t.data(2).get("output") == REPLY_TEXT, t.data(2)
    for step in (3, 5, 7):
        assert t.data(step).get("output") == REPLY_TEXT, (step, t.data(step))
    refreshed = json.loads(next(text for _, text in t.messages(6) if text.startswith("{")))
    assert refreshed["source"] == "usage_endpoint"
    assert refreshed["windows"]["five_hour"]["severity"] == "critical"
    assert refreshed["windows"]["five_hour"]["utilization"] == pytest.approx(91.0)
    human = t.texts(8)
    assert "Claude also says: a slower lane" not in human  # its budget is spent
    assert "a wrap-up allowance is available; a fallback model is offered" in human
    assert not any(text.lower().startswith(("grace", "slow")) for _, text in t.messages(8))
    status = [text for _, text in t.messages(9) if text.startswith("Usage:")]
    assert len(status) == 1 and "grace" not in status[0] and "slow" not in status[0]
    assert "Traceback" not in t.stderr
