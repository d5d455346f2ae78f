"""``usage --refresh``: the plan from the profile, at most one call a minute across
processes, and the last values when it refuses (429 or 403: backing off as Claude does)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.usage_endpoint import (
    DEFAULT_BACKOFF,
    MAX_BACKOFF,
    MIN_INTERVAL,
    backoff_seconds,
    refresh,
)
from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.store import TokenRecord
from helpers.cli import CLI
from helpers.tokens import seed

SONNET = "claude-sonnet-4-5-20250929"
NOW = 1_790_000_000.0


# -- against the emulator ----------------------------------------------------------


def _spend(emulator: ClaudeEmulator, settings: Settings, times: int) -> None:
    token = seed_token(settings)
    headers = {
        "authorization": f"Bearer {token}",
        "anthropic-beta": "oauth-2025-04-20",
        "anthropic-version": "2023-06-01",
    }
    body = {"model": SONNET, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(times):
        httpx.post(emulator.base_url + "/v1/messages", headers=headers, json=body, timeout=10)


def seed_token(settings: Settings) -> str:
    from claude_code_oauth.tokens import store

    record = store.load(settings.token_path)
    assert record is not None
    return record.access_token


def _usage_calls(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/api/oauth/usage")


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, settings: Settings) -> Settings:
    seed(emulator, settings.token_path, expires_in=3600)
    emulator.configure_usage(limits={"five_hour": 8}, plan="pro", endpoint_form="both")
    return settings


def test_refresh_saves_the_endpoint_figures_and_the_plan(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    _spend(emulator, signed_in, 3)
    outcome = refresh(signed_in, emulator.account_uuid)
    assert outcome.asked and outcome.note is None and not outcome.failed
    usage = usage_snapshot.load(usage_snapshot.usage_path(signed_in))
    assert usage.account == emulator.account_uuid
    assert usage.plan is not None and (usage.plan.name, usage.plan.tier) == (
        "Pro",
        "default_claude_pro",
    )
    snapshot = usage.snapshot
    assert snapshot is not None and snapshot.source == "usage_endpoint"
    counters = emulator.usage_counters()["windows"]
    for name in ("five_hour", "seven_day", "seven_day_sonnet"):
        assert snapshot.limits.windows[name].utilization == pytest.approx(
            counters[name]["utilization"], abs=0.01
        )
    assert snapshot.limits.windows["five_hour"].resets_at == pytest.approx(
        counters["five_hour"]["resets_at"], abs=1
    )
    # Asked again at once: the endpoint is not called, the last values stay.
    again = refresh(signed_in, emulator.account_uuid)
    assert not again.asked and "at most once a minute" in (again.note or "")
    assert again.usage.snapshot == snapshot
    assert _usage_calls(emulator) == 1
    later = refresh(signed_in, emulator.account_uuid, now=time.time() + MIN_INTERVAL + 1)
    assert later.asked and _usage_calls(emulator) == 2


def test_when_the_endpoint_rate_limits_the_last_values_stay(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    assert refresh(signed_in, emulator.account_uuid).asked
    first = usage_snapshot.load(usage_snapshot.usage_path(signed_in)).snapshot
    emulator.configure_usage(endpoint_min_interval=600)
    start = time.time() + MIN_INTERVAL + 1
    limited = refresh(signed_in, emulator.account_uuid, now=start)
    assert limited.asked and not limited.failed
    assert "rate-limiting" in (limited.note or "") and "showing the last values" in limited.note
    assert limited.usage.snapshot == first and limited.usage.endpoint_retry_until is not None
    # Its Retry-After holds every process back, beyond our own minute.
    waiting = refresh(signed_in, emulator.account_uuid, now=start + MIN_INTERVAL + 1)
    assert not waiting.asked and "asked to wait" in (waiting.note or "")
    assert _usage_calls(emulator) == 2


def test_the_backoff_is_retry_after_else_five_minutes_at_most_an_hour() -> None:
    assert backoff_seconds(None) == DEFAULT_BACKOFF == 300
    assert backoff_seconds(42) == 42 and backoff_seconds(0) == 1
    assert backoff_seconds(7200) == MAX_BACKOFF == 3600


def test_a_long_retry_after_is_capped_at_an_hour(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    assert refresh(signed_in, emulator.account_uuid).asked
    emulator.configure_usage(endpoint_min_interval=7200)
    start = time.time() + MIN_INTERVAL + 1
    limited = refresh(signed_in, emulator.account_uuid, now=start)
    assert "rate-limiting (retry in 3600 s)" in (limited.note or "")
    assert limited.usage.endpoint_retry_until == start + MAX_BACKOFF


def test_a_403_holds_every_process_back_as_a_429_does(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    """The usage endpoint refuses a token without user:profile (403): like Claude's own
    client, nobody asks again for 5 minutes (no Retry-After), and the note says why."""
    body = emulator.issue_login(scope="user:inference")
    token_store.save(settings.token_path, TokenRecord.from_token_response(body, now=time.time()))
    start = time.time()
    refused = refresh(settings, emulator.account_uuid, now=start)
    assert refused.asked and refused.failed
    note = refused.note or ""
    assert "403" in note or "permission_error" in note, note
    assert "not asked again for 5 min" in note and "\n" not in note
    assert refused.usage.endpoint_retry_until == start + DEFAULT_BACKOFF
    waiting = refresh(settings, emulator.account_uuid, now=start + MIN_INTERVAL + 1)
    assert not waiting.asked and "asked to wait" in (waiting.note or "")
    assert _usage_calls(emulator) == 1
    again = refresh(settings, emulator.account_uuid, now=start + DEFAULT_BACKOFF + 1)
    assert again.asked and _usage_calls(emulator) == 2


def test_an_unreachable_endpoint_is_a_note_and_keeps_the_values(
    emulator: ClaudeEmulator, signed_in: Settings, unused_port: int
) -> None:
    env = dict(signed_in._environ, CLAUDE_CODE_OAUTH_API_BASE_URL=f"http://127.0.0.1:{unused_port}")
    broken = Settings(environ=env)
    outcome = refresh(broken, emulator.account_uuid)
    assert outcome.failed and outcome.asked
    assert "could not be reached" in (outcome.note or "") and "\n" not in outcome.note


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.multiprocess
def test_one_call_a_minute_across_processes(
    emulator: ClaudeEmulator, client_env: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(environ=client_env)
    seed(emulator, settings.token_path, expires_in=3600)
    emulator.configure_usage(limits={"five_hour": 10})
    _spend(emulator, settings, 4)
    procs = [
        subprocess.Popen(
            [*CLI, "usage", "--refresh", "--json"],
            env=client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert _usage_calls(emulator) == 1
    reports = [json.loads(out) for out, _ in outputs]
    notes = [err for _, err in outputs if "at most once a minute" in err]
    assert len(notes) == 3
    # Whoever got there first saw the endpoint's figures; every report is of that account.
    fresh = [r for r in reports if r["source"] == "usage_endpoint"]
    assert fresh and fresh[0]["windows"]["five_hour"]["utilization"] == 40.0
    assert fresh[0]["plan"] == {
        "name": "Max",
        "tier": "default_claude_max_20x",
        "display_name": "Max 20x",
        "extra_usage_enabled": False,
    }


def test_a_sign_in_reads_the_plan_once_and_keeps_it(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from claude_code_oauth.account.usage_endpoint import read_plan
    from claude_code_oauth.account.usage_snapshot import UsageFile, UsageSnapshot

    path = usage_snapshot.usage_path(signed_in)
    theirs = UsageSnapshot(usage_snapshot.UnifiedLimits(), time.time(), "headers")
    usage_snapshot.save(path, UsageFile(account="someone-else", snapshot=theirs, extra={"k": 1}))
    plan = read_plan(signed_in, emulator.account_uuid)
    assert plan is not None and (plan.name, plan.tier) == ("Pro", "default_claude_pro")
    assert usage_snapshot.load(path) == UsageFile(
        account=emulator.account_uuid, plan=plan, extra={"k": 1}
    )
    # No account to tell: the file's figures stay.
    mine = UsageFile(account="a", snapshot=theirs, extra={})
    usage_snapshot.save(path, mine)
    kept = read_plan(signed_in, None)
    assert usage_snapshot.load(path) == mine._replace(plan=kept)


def test_reading_the_plan_is_best_effort(emulator: ClaudeEmulator, signed_in: Settings) -> None:
    from claude_code_oauth.account.usage_endpoint import read_plan

    path = Path(usage_snapshot.usage_path(signed_in))
    emulator.inject("profile", "500")
    assert read_plan(signed_in, emulator.account_uuid) is None
    assert not path.exists()
    path.symlink_to(path.parent / "elsewhere.json")  # the usage file cannot be written
    assert read_plan(signed_in, emulator.account_uuid) is None
    assert not (path.parent / "elsewhere.json").exists()


@pytest.mark.parametrize(
    ("seconds", "span"),
    [
        (0.5, "1 s"),
        (119, "119 s"),
        (119.5, "120 s"),
        (120, "2 min"),
        (121, "3 min"),
        (300, "5 min"),
        (3600, "60 min"),
    ],
)
def test_waits_are_said_in_seconds_then_minutes(seconds: float, span: str) -> None:
    from claude_code_oauth.account.usage_endpoint import _span

    assert _span(seconds) == span


def test_the_notes_of_a_refusal_word_for_word(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from claude_code_oauth.testing.hostile_proxy import HostileProxy

    with HostileProxy(emulator.base_url) as proxy:
        settings = Settings(environ=proxy.env(dict(signed_in._environ)))
        start = time.time()
        proxy.add_rule(
            "/api/oauth/usage",
            times=1,
            forward=False,
            status=429,
            headers={"Retry-After": "90"},
            body=b"{}",
        )
        limited = refresh(settings, emulator.account_uuid, now=start)
        assert limited.note == (
            "The usage endpoint is rate-limiting (retry in 90 s); showing the last values."
        )
        proxy.add_rule("/api/oauth/usage", times=1, forward=False, status=403, body=b"{}")
        bare = refresh(settings, emulator.account_uuid, now=start + 91)
        assert bare.failed and bare.note == (
            "The usage endpoint answered HTTP 403 without an error message. It is not asked "
            "again for 5 min (as Claude's own client waits); showing the last values."
        )
        envelope = (
            b'{"type": "error", "error": {"type": "permission_error", '
            b'"message": "No profile scope."}}'
        )
        proxy.add_rule("/api/oauth/usage", times=1, forward=False, status=403, body=envelope)
        said = refresh(settings, emulator.account_uuid, now=start + 91 + DEFAULT_BACKOFF + 1)
        assert said.note == (
            "The usage endpoint refused the request: permission_error (No profile scope.). It "
            "is not asked again for 5 min (as Claude's own client waits); showing the last "
            "values."
        )


def test_a_plan_that_cannot_be_read_is_a_note_beside_the_figures(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    emulator.inject("profile", "500")
    outcome = refresh(signed_in, emulator.account_uuid)
    assert outcome.asked and not outcome.failed and outcome.usage.snapshot is not None
    assert outcome.note == (
        "The plan could not be read: The profile endpoint failed with HTTP 500: api_error "
        "(Internal server error); try again shortly."
    )
    slow = Settings({"http_timeout": 0.5}, environ=dict(signed_in._environ))
    emulator.inject("profile", "slow", delay=5)
    late = refresh(slow, emulator.account_uuid, now=time.time() + MIN_INTERVAL + 1)
    host = emulator.base_url.removeprefix("http://")
    assert late.note is not None and late.note.startswith(
        f"The plan could not be read: The profile endpoint ({host}) did not answer within 0.5 s"
    )


# -- what a user would see if the endpoint's rules drifted (docs/mutation.md) --------


def test_the_endpoint_is_asked_with_our_user_agent_for_json(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from claude_code_oauth import USER_AGENT

    assert refresh(signed_in, emulator.account_uuid).asked
    calls = [r for r in emulator.requests if r.path == "/api/oauth/usage"]
    assert [(r.method, r.headers["user-agent"], r.headers["accept"]) for r in calls] == [
        ("GET", USER_AGENT, "application/json")
    ]


def test_an_unreachable_endpoint_keeps_the_last_values_word_for_word(
    emulator: ClaudeEmulator, signed_in: Settings, unused_port: int
) -> None:
    first = refresh(signed_in, emulator.account_uuid, now=NOW)
    assert first.usage.snapshot is not None
    env = dict(signed_in._environ, CLAUDE_CODE_OAUTH_API_BASE_URL=f"http://127.0.0.1:{unused_port}")
    broken = refresh(Settings(environ=env), emulator.account_uuid, now=NOW + MIN_INTERVAL)
    assert broken.asked and broken.failed
    assert broken.note == (
        "The usage endpoint could not be reached (ConnectError). Showing the last values."
    )
    assert broken.usage.snapshot == first.usage.snapshot


def _checked_at(settings: Settings, when: float) -> None:
    path = usage_snapshot.usage_path(settings)
    usage_snapshot.save(path, usage_snapshot.UsageFile(endpoint_checked_at=when))


def test_once_a_minute_means_a_minute_to_the_second(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    assert refresh(signed_in, emulator.account_uuid, now=NOW).asked
    again = refresh(signed_in, emulator.account_uuid, now=NOW)
    assert again.asked is False and again.note == (
        "The usage endpoint was asked 0 s ago (at most once a minute); showing the last values."
    )
    assert refresh(signed_in, emulator.account_uuid, now=NOW + MIN_INTERVAL).asked
    # A last call a minute or more *ahead* means the clock was set back: not recent.
    _checked_at(signed_in, NOW + MIN_INTERVAL)
    assert refresh(signed_in, emulator.account_uuid, now=NOW).asked
    _checked_at(signed_in, NOW + MIN_INTERVAL - 1)
    assert not refresh(signed_in, emulator.account_uuid, now=NOW).asked
    assert _usage_calls(emulator) == 3


def test_a_retry_after_ends_on_time_and_is_forgotten_after_an_answer(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from claude_code_oauth.testing.hostile_proxy import HostileProxy

    with HostileProxy(emulator.base_url) as proxy:
        settings = Settings(environ=proxy.env(dict(signed_in._environ)))
        proxy.add_rule(
            "/api/oauth/usage",
            times=1,
            forward=False,
            status=429,
            headers={"Retry-After": "90"},
            body=b"{}",
        )
        assert refresh(settings, emulator.account_uuid, now=NOW).usage.endpoint_retry_until == (
            NOW + 90
        )
        waiting = refresh(settings, emulator.account_uuid, now=NOW + 61)
        assert waiting.note == (
            "The usage endpoint asked to wait 29 s more; showing the last values."
        )
        answered = refresh(settings, emulator.account_uuid, now=NOW + 90)
        assert answered.asked and answered.note is None
        assert answered.usage.endpoint_retry_until is None
        # A clock set back later does not bring the wait that ended back.
        assert refresh(settings, emulator.account_uuid, now=NOW - 100).asked


def test_a_server_error_names_the_usage_endpoint(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    from claude_code_oauth.testing.hostile_proxy import HostileProxy

    with HostileProxy(emulator.base_url) as proxy:
        settings = Settings(environ=proxy.env(dict(signed_in._environ)))
        proxy.add_rule("/api/oauth/usage", times=1, forward=False, status=500, body=b"{}")
        failed = refresh(settings, emulator.account_uuid, now=NOW)
    assert failed.failed and failed.note == (
        "The usage endpoint failed with HTTP 500; try again shortly. Showing the last values."
    )


def test_the_endpoint_answer_is_not_taken_for_a_model_answer(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    """Were the usage endpoint's answer to carry unified headers (a proxy's, or Claude's
    tomorrow), they describe no request sent: the capture (and so the extra-usage
    guard) never sees them; only the endpoint's own figures are kept."""
    from claude_code_oauth.account.unified_limits import PREFIX
    from claude_code_oauth.account.usage_capture import capture_for
    from claude_code_oauth.testing.hostile_proxy import HostileProxy

    with HostileProxy(emulator.base_url) as proxy:
        settings = Settings(environ=proxy.env(dict(signed_in._environ)))
        billed = {PREFIX + "status": "rejected", PREFIX + "overage-in-use": "true"}
        proxy.add_rule(
            "/api/oauth/usage", times=1, forward=False, status=200, headers=billed, body=b"{}"
        )
        outcome = refresh(settings, emulator.account_uuid, now=NOW)
    capture = capture_for(settings)
    assert capture.flush(10)
    assert capture.latest is None
    assert outcome.usage.snapshot is not None
    assert outcome.usage.snapshot.source == "usage_endpoint"
