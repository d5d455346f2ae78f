"""`http_timeout` bounds the whole call: `token`, `login` and `models --refresh` as real
processes against a server that trickles its answer (a byte every 1.5 s), and the
token-file lock is not held past it.

Bounds are generous ("no hang"): unbounded, each of these runs for minutes.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import store as token_store
from helpers.cli import CLI, one_error_line, run_cli
from helpers.polling import wait_for
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.subprocess

TOKEN = "/v1/oauth/token"
MODELS = "/v1/models"
HTTP_TIMEOUT = 2
#: Unbounded, a trickled answer of this body takes 1.5 s per byte: minutes.
CANNED = (
    b'{"token_type": "Bearer", "access_token": "never-delivered-access", '
    b'"refresh_token": "never-delivered-refresh", "expires_in": 28800}'
)
#: "No hang": far above HTTP_TIMEOUT plus a Python start-up, far below the trickle.
BOUND = 20.0


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy) -> dict[str, str]:
    return {**proxy.env(client_env), "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": str(HTTP_TIMEOUT)}


def run(env: dict[str, str], *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the command; also say how long it took (the deadline under test)."""
    started = time.monotonic()
    done = run_cli(env, *args)
    return done, time.monotonic() - started


def assert_hung_up(proxy: HostileProxy, path: str) -> None:
    """The client closed its connection before the trickled answer was complete (the
    proxy's exchange ends when its next byte finds nobody reading)."""
    exchange = proxy.requests_to(path)[-1]
    assert exchange.finished.wait(10)
    assert exchange.client_left_after is not None


@pytest.mark.parametrize("head", [False, True], ids=["body trickles", "headers trickle"])
def test_token_gives_up_at_the_deadline_with_one_line(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    head: bool,
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, forward=False, body=CANNED, trickle=1.5, trickle_head=head)
    done, took = run(env, "token")
    assert done.returncode == 1 and done.stdout == ""
    assert f"did not answer within {HTTP_TIMEOUT} s" in one_error_line(done.stderr)
    assert took < BOUND
    assert_hung_up(proxy, TOKEN)
    # Nothing was rotated (the answer never arrived): the stored login is unchanged.
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)


def test_the_refresh_does_not_hold_the_token_lock_past_the_deadline(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
) -> None:
    seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, forward=False, body=CANNED, trickle=1.5)
    refresher = subprocess.Popen(
        [sys.executable, "-m", "claude_code_oauth", "token"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The request reaches the server only under the lock: from here it is held.
        wait_for(lambda: bool(proxy.requests_to(TOKEN)))
        asked = proxy.requests_to(TOKEN)[0].started
        lock = token_store.token_lock(Settings(environ=env), timeout=BOUND)
        with token_store.held(lock):
            held_for = time.monotonic() - asked
        out, err = refresher.communicate(timeout=60)
    finally:
        refresher.kill()
        refresher.wait()
    assert held_for < HTTP_TIMEOUT + 10  # generous ("no hang"); unbounded: minutes
    assert refresher.returncode == 1 and out == "" and "Traceback" not in err


def test_login_gives_up_on_a_trickling_exchange_with_one_line(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    scripted_browser: str,
) -> None:
    proxy.add_rule(TOKEN, trickle=1.5)
    done, took = run({**env, "BROWSER": scripted_browser}, "login", "--no-models")
    assert done.returncode == 1
    assert f"did not answer within {HTTP_TIMEOUT} s" in one_error_line(done.stderr)
    # The browser's page said so (the scripted browser reports a failed final page).
    assert "Sign-in failed" in done.stderr
    assert took < BOUND
    assert not token_path.exists()
    assert_hung_up(proxy, TOKEN)


@pytest.mark.parametrize("head", [False, True], ids=["body trickles", "headers trickle"])
def test_models_refresh_gives_up_at_the_deadline_with_one_line(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    head: bool,
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule(MODELS, trickle=1.5, trickle_head=head)
    done, took = run(env, "models", "--refresh")
    assert done.returncode == 1
    assert f"did not answer within {HTTP_TIMEOUT} s" in one_error_line(done.stderr)
    assert took < BOUND
    assert_hung_up(proxy, MODELS)


def test_status_verify_gives_up_on_a_trickling_profile_endpoint(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/api/oauth/profile", trickle=1.5, trickle_head=True)
    done, took = run(env, "status", "--verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Server check")]
    assert f"did not answer within {HTTP_TIMEOUT} s" in line
    assert took < BOUND


def test_a_refresh_outliving_the_call_that_asked_for_it_is_saved_before_the_exit(
    emulator: ClaudeEmulator, proxy: HostileProxy, client_env: dict[str, str], token_path: Path
) -> None:
    # models --refresh: the models endpoint answers 401 slowly (its head ~1.4 s), so the
    # refresh starts inside the call's worker; the token endpoint rotates at once, but
    # its answer is held until the command has said the call gave up (its 3 s deadline).
    # The command then waits for the refresh, within the refresh's own deadline (3 s
    # from its start), and the rotated token must be saved before the exit.
    env = {**proxy.env(client_env), "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "3"}
    before = seed(emulator, token_path, expires_in=3600)
    stderr: list[str] = []
    gave_up = threading.Event()
    proxy.add_rule(MODELS, forward=False, status=401, body=b"{}", trickle=0.02, trickle_head=True)
    proxy.add_rule(TOKEN, before_answer=lambda: gave_up.wait(30))
    child = subprocess.Popen(
        [*CLI, "models", "--refresh"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stderr is not None
    for line in child.stderr:
        stderr.append(line)
        if "did not answer within 3 s" in line:
            gave_up.set()
    assert child.wait(60) == 1 and gave_up.is_set()
    assert "did not answer within 3 s" in one_error_line("".join(stderr))
    assert emulator.grants.get("refresh_token") == 1
    assert digest(stored(token_path).refresh_token) != digest(before.refresh_token)
    # The next refresh uses the rotated token: no replay, the login lives.
    proxy.clear_rules()
    record = stored(token_path)
    record.expires_at = record.obtained_at = time.time() - 10
    token_store.save(str(token_path), record)
    again = run_cli(client_env, "token")
    assert again.returncode == 0, again.stderr[-2000:]
    assert emulator.replays == 0


def test_usage_refresh_gives_up_on_a_trickling_usage_endpoint(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/api/oauth/usage", trickle=1.5, trickle_head=True)
    done, took = run(env, "usage", "--refresh")
    assert "Traceback" not in done.stderr
    assert f"did not answer within {HTTP_TIMEOUT} s" in done.stderr
    assert took < BOUND
    assert_hung_up(proxy, "/api/oauth/usage")
