"""``claude-code-oauth usage`` and the usage line of ``status``, run as real processes
against figures the emulator's counters produced."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.usage_capture import capture_for
from claude_code_oauth.config import Settings
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.cli import run_cli
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess

#: The exact keys of `usage --json` (stable: added to, never renamed).
KEYS = {
    "plan",
    "windows",
    "binding_window",
    "extra_usage",
    "fallback",
    "grace",
    "slow",
    "upgrade_paths",
    "as_of",
    "source",
}
SONNET = "claude-sonnet-4-5-20250929"
BODY = {"model": SONNET, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, client_env: dict[str, str]) -> Settings:
    settings = Settings(environ=client_env)
    seed(emulator, settings.token_path, expires_in=3600)
    return settings


def _spend(emulator: ClaudeEmulator, settings: Settings, times: int) -> None:
    """Requests through the library's auth (which captures usage by default)."""
    auth = OAuthBearerAuth(TokenProvider(settings), settings)
    with httpx.Client(base_url=emulator.base_url, auth=auth, timeout=10) as client:
        for _ in range(times):
            client.post("/v1/messages", json=BODY)
    assert capture_for(settings).flush(10)


def test_not_signed_in_is_the_same_keys_with_nulls_and_exit_1(client_env: dict[str, str]) -> None:
    done = run_cli(client_env, "usage", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert set(report) == KEYS
    assert report == {
        "plan": {"name": None, "tier": None, "display_name": None, "extra_usage_enabled": None},
        "windows": {},
        "binding_window": None,
        "extra_usage": {
            "status": None,
            "in_use": None,
            "utilization": None,
            "resets_at": None,
            "disabled_reason": None,
            "surpassed_threshold": None,
        },
        "fallback": None,
        "grace": None,
        "slow": None,
        "upgrade_paths": None,
        "as_of": None,
        "source": None,
    }
    assert "not signed in" in done.stderr
    human = run_cli(client_env, "usage")
    assert human.returncode == 1 and human.stdout.startswith("Not signed in to Claude")
    refreshed = run_cli(client_env, "usage", "--refresh", "--json")
    assert refreshed.returncode == 1 and json.loads(refreshed.stdout) == report


def test_usage_json_matches_the_emulators_counters_from_headers(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    emulator.configure_usage(limits={"five_hour": 6, "seven_day": 60}, extra_usage=True)
    _spend(emulator, signed_in, 7)
    done = run_cli(client_env, "usage", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == KEYS
    counters = emulator.usage_counters()["windows"]
    # The headers carry Claude's window codes only: per-model weeks come from --refresh.
    assert list(report["windows"]) == ["five_hour", "seven_day"]
    for name in ("five_hour", "seven_day"):
        assert report["windows"][name]["utilization"] == pytest.approx(
            counters[name]["utilization"], abs=0.01
        ), name
    assert report["windows"]["five_hour"]["status"] == "rejected"
    assert report["windows"]["five_hour"]["surpassed_threshold"] == 100.0
    assert report["binding_window"] == "five_hour"
    assert report["extra_usage"]["status"] == "allowed"
    assert report["extra_usage"]["in_use"] is True
    assert report["extra_usage"]["utilization"] == 1.0  # 1 of 100 units of extra usage
    assert report["source"] == "headers" and report["as_of"]
    assert report["plan"]["name"] is None  # only a sign-in or --refresh reads the profile
    assert emulator.requests[-1].path == "/v1/messages"  # `usage` itself sent nothing


def test_usage_refresh_matches_the_counters_from_the_endpoint(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    emulator.configure_usage(
        limits={"five_hour": 8, "seven_day_opus": 4}, endpoint_form="limits", plan="team"
    )
    _spend(emulator, signed_in, 2)
    done = run_cli(client_env, "usage", "--refresh", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["source"] == "usage_endpoint"
    assert report["plan"] == {
        "name": "Team",
        "tier": "default_claude_team",
        "display_name": "Team",
        "extra_usage_enabled": False,
    }
    counters = emulator.usage_counters()["windows"]
    windows = report["windows"]
    # weekly_all is seven_day; each weekly_scoped row is a window of its model.
    assert list(windows) == ["five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet"]
    for name in windows:
        assert windows[name]["utilization"] == pytest.approx(
            counters[name]["utilization"], abs=0.01
        ), name
    assert windows["seven_day_opus"]["model"] == "Opus"
    assert windows["seven_day_sonnet"]["model"] == "Sonnet"
    assert windows["five_hour"]["severity"] == "normal"
    human = run_cli(client_env, "usage")
    assert human.returncode == 0
    lines = human.stdout.splitlines()
    assert lines[0] == "Plan: Team (default_claude_team)"
    assert any(line.startswith("5-hour") and "25 %" in line for line in lines)
    assert any(line.startswith("7-day Sonnet") and "0.2 %" in line for line in lines)
    assert lines[-1].endswith("(from the usage endpoint).")


def test_grace_and_slow_headers_are_offers_not_windows(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    """Issue 17: the grace and slow-lane headers once became windows ("grace",
    "slow budget") in `usage`, `usage --json` and the status line."""
    emulator.configure_usage(
        limits={"five_hour": 4},
        extra_usage=True,
        signals={"grace": 0.0, "slow": 0.5, "fallback": 0.5, "upgrade_paths": 0.5},
    )
    _spend(emulator, signed_in, 4)  # the limit: slow lane offered, a fallback model too
    report = json.loads(run_cli(client_env, "usage", "--json").stdout)
    assert set(report) == KEYS
    assert list(report["windows"]) == ["five_hour", "seven_day"]
    assert report["grace"] == {
        "status": "eligible",
        "five_hour_utilization": 0.0,
        "seven_day_utilization": 0.0,
    }
    slow = report["slow"]
    assert (slow["offer"], slow["status"], slow["retry_after"]) == ("treatment", "active", 30)
    assert report["fallback"] == "available" and report["upgrade_paths"] == ["upgrade_plan"]
    lines = run_cli(client_env, "usage").stdout.splitlines()
    offers = [line for line in lines if line.startswith("Claude also says:")]
    assert offers == [
        "Claude also says: a slower lane is offered; a wrap-up allowance is available; "
        "a fallback model is offered; ways past the limit: a plan upgrade."
    ]
    assert not any(line.lower().startswith(("grace", "slow")) for line in lines)
    status = [line for line in run_cli(client_env, "status").stdout.splitlines()]
    usage_line = next(line for line in status if line.startswith("Usage:"))
    assert "grace" not in usage_line and "slow" not in usage_line


def test_status_shows_one_usage_line(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    before = run_cli(client_env, "status")
    assert "Usage: none recorded yet" in before.stdout
    emulator.configure_usage(limits={"five_hour": 4})
    _spend(emulator, signed_in, 1)
    done = run_cli(client_env, "status")
    assert done.returncode == 0
    usage = [line for line in done.stdout.splitlines() if line.startswith("Usage:")]
    assert len(usage) == 1
    assert usage[0].startswith("Usage: 5 h 25 % (resets ") and "· 7 d 0.1 %" in usage[0]
    assert usage[0].endswith("· extra usage off")
    assert "Usage" not in json.dumps(json.loads(run_cli(client_env, "status", "--json").stdout))


def test_a_damaged_snapshot_is_a_note_not_a_failure(
    signed_in: Settings, client_env: dict[str, str]
) -> None:
    Path(usage_snapshot.usage_path(signed_in)).write_text("garbage")
    done = run_cli(client_env, "usage", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["as_of"] is None
    assert "damaged" in done.stderr and done.stderr.count("\n") == 1


def test_the_fast_path_reads_files_only(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    _spend(emulator, signed_in, 1)
    code = (
        "import contextlib, io, json, sys\n"
        "from claude_code_oauth import cli\n"
        "rcs = []\n"
        "for argv in (['usage'], ['usage', '--json']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        rcs.append(cli.main(argv))\n"
        "heavy = ['httpx', 'httpx2', 'httpcore', 'anthropic', 'filelock', 'ssl', 'socket',\n"
        "         'argparse', 'dataclasses', 'datetime', 'threading']\n"
        "print(json.dumps({'rc': rcs, 'loaded': [m for m in heavy if m in sys.modules]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=client_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rc": [0, 0], "loaded": []}


def test_help_explains_the_command(client_env: dict[str, str]) -> None:
    done = run_cli(client_env, "usage", "--help")
    assert done.returncode == 0
    for word in ("--refresh", "--json", "binding_window", "once a minute", "extra usage"):
        assert word in done.stdout, word
    assert "usage" in run_cli(client_env, "--help").stdout


def test_the_snapshot_never_holds_a_token(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    _spend(emulator, signed_in, 2)
    assert run_cli(client_env, "usage", "--refresh").returncode == 0
    from claude_code_oauth.tokens import store

    record = store.load(signed_in.token_path)
    assert record is not None
    raw = Path(usage_snapshot.usage_path(signed_in)).read_text()
    found = [s for s in (record.access_token, record.refresh_token) if s and s in raw]
    assert found == [] and "sk-ant-" not in raw
    assert os.stat(usage_snapshot.usage_path(signed_in)).st_mode & 0o777 == 0o600


def test_block_holds_back_model_requests_but_never_token(
    emulator: ClaudeEmulator, signed_in: Settings, client_env: dict[str, str]
) -> None:
    emulator.configure_usage(limits={"five_hour": 1}, extra_usage=True)
    _spend(emulator, signed_in, 2)  # past the limit, billed as extra usage
    blocking = {**client_env, "CLAUDE_CODE_OAUTH_EXTRA_USAGE": "block"}
    usage = run_cli(blocking, "usage")
    assert "extra_usage = block" in usage.stdout  # the guard would hold requests back…
    token = run_cli(blocking, "token")
    assert token.returncode == 0, token.stderr  # …but a credential helper is not a request
    assert emulator.account_for_token(token.stdout.strip()) == emulator.accounts[0]
