"""Token answers with absurd numbers or unusable fields, through a mutating proxy.

Each case is a real ``claude-code-oauth`` process talking to the emulator through
:class:`HostileProxy`, which rewrites the token endpoint's answer. What must hold:
one line on stderr (never a traceback), a token file that stays valid JSON with
sane numbers, and — on a refresh — the rotated refresh token kept, so the login
survives (the next refresh is no replay).
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.store import MAX_LIFETIME
from helpers.cli import run_cli
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.subprocess

TOKEN = "/v1/oauth/token"
HUGE = "9" * 400

#: Raw JSON for ``expires_in`` that no usable answer carries.
ABSURD_EXPIRES_IN = {
    "400 digits": HUGE,
    "1e308": "1e308",
    "infinity": "1e999",
    "Infinity": "Infinity",
    "NaN": "NaN",
    "negative": "-5",
    "zero": "0",
    "a year and more": str(MAX_LIFETIME + 1),
    "true": "true",
}


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy) -> dict[str, str]:
    return proxy.env(client_env)


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr[-2000:]
    return errors[0]


def strict_json(path: Path) -> dict[str, object]:
    """The file parsed as strict JSON: NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"the file holds {name}, which is not JSON")

    data = json.loads(path.read_text(), parse_constant=refuse)
    for key in ("expires_at", "obtained_at", "refresh_token_expires_at", "refresh_not_before"):
        value = data.get(key)
        if value is not None:
            assert isinstance(value, (int, float)) and math.isfinite(value), key
            assert 0 <= value < 4_102_444_800, key  # before 2100
    return data


# -- refresh -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ABSURD_EXPIRES_IN.values(), ids=ABSURD_EXPIRES_IN.keys())
def test_an_absurd_expires_in_on_refresh_keeps_the_rotated_token_and_the_login(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    raw: str,
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, set_json={"expires_in": raw})
    done = run_cli(env, "token")
    assert done.returncode == 1
    assert "expires_in" in one_line_error(done)
    assert done.stdout == ""
    strict_json(token_path)
    after = stored(token_path)
    assert emulator.grants["refresh_token"] == 1
    # The server rotated: the file holds the new refresh token, not the spent one.
    assert digest(after.refresh_token) != digest(before.refresh_token)
    assert after.last_error and "expires_in" in after.last_error
    # The login survives: the next refresh presents the new token, not a replay.
    again = run_cli(env, "token")
    assert again.returncode == 0, again.stderr[-2000:]
    assert emulator.replays == 0 and emulator.grants["refresh_token"] == 2
    assert stored(token_path).last_error is None


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"set_json": {"token_type": '"mac"'}}, "token_type"),
        ({"drop_json": ("access_token",)}, "access_token"),
        ({"set_json": {"access_token": '""'}}, "access_token"),
        ({"set_json": {"access_token": "42"}}, "access_token"),
        ({"set_json": {"refresh_token_expires_in": HUGE}}, None),
        ({"set_json": {"scope": "[1, 2]", "account": '"x"'}}, None),
        ({"set_json": {"account": '{"email_address": "a@b.example", "n": NaN}'}}, None),
        ({"set_json": {"organization": '{"uuid": "o", "big": 1e999, "n": [' + HUGE + "]}"}}, None),
    ],
    ids=[
        "mac",
        "no access_token",
        "empty access_token",
        "numeric access_token",
        "huge login",
        "odd",
        "NaN in the account",
        "infinity and 400 digits in the organization",
    ],
)
def test_an_unusable_refresh_answer_keeps_the_rotated_refresh_token(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    change: dict[str, object],
    words: str | None,
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, **change)
    first = run_cli(env, "token")
    if words is None:
        # Tolerable oddities: the answer is used, with the odd field ignored.
        assert first.returncode == 0, first.stderr[-2000:]
        assert "Traceback" not in first.stderr
    else:
        assert first.returncode == 1
        assert words in one_line_error(first)
    strict_json(token_path)
    assert digest(stored(token_path).refresh_token) != digest(before.refresh_token)
    status = run_cli(env, "status")
    assert "Traceback" not in status.stderr and status.returncode == 0, status.stderr[-2000:]
    # Expire the access token locally and refresh again: no replay, the login lives.
    record = stored(token_path)
    record.expires_at = record.obtained_at = 1_700_000_000.0
    token_store.save(str(token_path), record)
    last = run_cli(env, "token")
    assert last.returncode == 0, last.stderr[-2000:]
    assert emulator.replays == 0


def test_refresh_token_expires_in_out_of_range_is_ignored_not_stored(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10, login_ends_in=86400 * 20)
    kept = stored(token_path).refresh_token_expires_at
    proxy.add_rule(TOKEN, set_json={"refresh_token_expires_in": "NaN"})
    done = run_cli(env, "token")
    assert done.returncode == 0, done.stderr[-2000:]
    strict_json(token_path)
    # The previous login deadline stays (the server's value was unusable).
    assert stored(token_path).refresh_token_expires_at == kept


# -- login (code exchange) ---------------------------------------------------------------------


@pytest.mark.parametrize("raw", ABSURD_EXPIRES_IN.values(), ids=ABSURD_EXPIRES_IN.keys())
def test_an_absurd_expires_in_at_login_is_one_line_and_writes_nothing(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    scripted_browser: str,
    raw: str,
) -> None:
    proxy.add_rule(TOKEN, set_json={"expires_in": raw})
    env = {**env, "BROWSER": scripted_browser}
    done = run_cli(env, "login", "--no-models", "--timeout", "30")
    assert done.returncode == 1
    assert "expires_in" in one_line_error(done)
    assert not token_path.exists()
    assert emulator.grants["authorization_code"] == 1


def test_a_huge_login_lifetime_at_login_is_ignored(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    scripted_browser: str,
) -> None:
    proxy.add_rule(TOKEN, set_json={"refresh_token_expires_in": HUGE})
    env = {**env, "BROWSER": scripted_browser}
    done = run_cli(env, "login", "--no-models", "--timeout", "30")
    assert done.returncode == 0, done.stderr[-2000:]
    strict_json(token_path)
    # As if it had not been sent: the login is taken to last 30 days, as Claude Code does.
    end = stored(token_path).refresh_token_expires_at
    assert end is not None and 29 * 86400 < end - time.time() <= 30 * 86400
    status = run_cli(env, "status", "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["login_expires_in"] > 29 * 86400


def test_an_absurd_retry_after_is_believed_for_a_day_at_most(
    emulator: ClaudeEmulator, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", "429", retry_after=10**12)
    done = run_cli(env, "token")
    assert done.returncode == 1 and "HTTP 429" in one_line_error(done)
    data = strict_json(token_path)
    paused = data["refresh_not_before"]
    assert isinstance(paused, float)
    assert paused - time.time() <= token_store.MAX_RETRY_AFTER
    status = run_cli(env, "status")
    assert "Refresh paused by the server until" in status.stdout


def test_a_deeply_nested_answer_is_one_line_and_loses_nothing(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    nested = b"[" * 200_000 + b"]" * 200_000  # under the 1 MiB cap, too deep to parse
    proxy.add_rule(TOKEN, forward=False, body=nested)
    done = run_cli(env, "token")
    assert done.returncode == 1
    assert "not valid JSON" in one_line_error(done)
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
