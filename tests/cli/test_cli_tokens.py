"""The ``status``, ``token`` and ``logout`` commands, run as real processes.

Outputs are captured into variables, never printed; whether a token appears in
them is checked with ``in`` on a separate line, so a failure shows no token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens.store import TokenRecord
from helpers.cli import run_cli
from helpers.tokens import STATUS_KEYS as KEYS
from helpers.tokens import (
    digest,
    seed,
    seed_in_keyring,
    start_worker,
    stored,
    token_requests,
    wait_for_line,
)

pytestmark = pytest.mark.subprocess


def _leaks(done: subprocess.CompletedProcess[str], *secrets: str | None) -> bool:
    text = done.stdout + done.stderr
    return any(s and s in text for s in secrets)


# -- status -------------------------------------------------------------------------------


def test_status_not_signed_in(client_env: dict[str, str], token_path: Path) -> None:
    human = run_cli(client_env, "status")
    assert human.returncode == 1
    assert human.stdout.startswith("Not signed in to Claude.")
    assert str(token_path) in human.stdout and "claude-code-oauth login" in human.stdout
    as_json = run_cli(client_env, "status", "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert set(report) == KEYS and report["signed_in"] is False


def test_status_signed_in(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    human = run_cli(client_env, "status")
    assert human.returncode == 0, human.stderr
    assert "Signed in to Claude as emulated.user@example.com" in human.stdout
    assert f"Credentials: file {token_path} (mode 0600)" in human.stdout
    assert "Scopes: org:create_api_key user:profile user:inference" in human.stdout
    assert human.stderr == ""
    as_json = run_cli(client_env, "status", "--json")
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert set(report) == KEYS
    assert report["signed_in"] is True and report["token_file_mode"] == "0600"
    assert emulator.requests == []  # no network without --verify
    leaked = _leaks(human, record.access_token, record.refresh_token)
    leaked = leaked or _leaks(as_json, record.access_token, record.refresh_token)
    assert not leaked


def test_status_verify(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    ok = run_cli(client_env, "status", "--verify")
    assert ok.returncode == 0, ok.stderr
    assert "Server check: token accepted." in ok.stdout
    emulator.revoke_all()
    refused = run_cli(client_env, "status", "--verify", "--json")
    assert refused.returncode == 1
    report = json.loads(refused.stdout)
    assert report["verified"] is False and "claude-code-oauth login" in report["error"]
    leaked = _leaks(ok, record.access_token, record.refresh_token)
    leaked = leaked or _leaks(refused, record.access_token, record.refresh_token)
    assert not leaked


def test_status_needs_login_exits_1(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600, needs_login=True)
    done = run_cli(client_env, "status")
    assert done.returncode == 1
    assert "A new login is needed" in done.stdout


# -- token --------------------------------------------------------------------------------


def test_token_fast_path(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    assert done.stderr == ""
    exact = done.stdout == record.access_token + "\n"
    assert exact
    assert emulator.requests == []


def test_token_fast_path_imports_no_http_library(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER_TOKEN, "token"],
        env=client_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "rc": 0,
        "printed": len(record.access_token) + 1,
        "loaded": [],
    }


#: What the ``token`` fast path must not import: HTTP libraries, the lock, what they pull
#: in, and the ``keyring`` library (the Secret Service is spoken directly).
HEAVY = ["httpx", "httpcore", "h11", "filelock", "anyio", "ssl", "socket", "logging", "keyring"]
IMPORTS_AFTER_TOKEN = (
    "import contextlib, io, json, sys\n"
    "from claude_code_oauth import cli\n"
    "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
    "    rc = cli.main(sys.argv[1:])\n"
    f"heavy = {HEAVY!r}\n"
    "print(json.dumps({'rc': rc, 'printed': len(out.getvalue()),\n"
    "                  'loaded': [m for m in heavy if m in sys.modules]}))\n"
)


def _keyring_sign_in(
    emulator: ClaudeEmulator, client_env: dict[str, str], keyring_env: dict[str, str], profile: str
) -> tuple[dict[str, str], Path, TokenRecord]:
    """``profile`` signed in as a login under ``storage = keyring`` leaves it: the item in
    the private Secret Service, then a token file without secrets; and the environment
    that reaches that keyring."""
    env = {
        **client_env,
        "DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"],
        "CLAUDE_CODE_OAUTH_STORAGE": "keyring",
    }
    path = Path(Settings(environ=env).with_profile(profile).token_path)
    record = seed_in_keyring(emulator, path, env, profile, expires_in=3600)
    return env, path, record


def test_token_reads_a_keyring_sign_in(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
) -> None:
    env, path, record = _keyring_sign_in(emulator, client_env, keyring_env, profile)
    in_file = record.access_token in path.read_text()
    assert not in_file
    done = run_cli(env, "token", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    exact = done.stdout == record.access_token + "\n"
    assert exact
    assert emulator.requests == []


def test_token_with_the_keyring_gone_is_one_line_naming_it(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
    tmp_path: Path,
) -> None:
    env, path, record = _keyring_sign_in(emulator, client_env, keyring_env, profile)
    before = path.read_bytes()
    gone = {**env, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    done = run_cli(gone, "token", "--profile", profile)
    printed_nothing = done.stdout == ""
    assert done.returncode == 1 and printed_nothing
    line = done.stderr
    assert line.startswith(
        "error: The Secret Service (the keyring) is out of reach "
        f"(reading profile {profile}'s item): cannot reach the session bus ("
    )
    assert line.count("\n") == 1 and "Traceback" not in line
    assert not _leaks(done, record.access_token, record.refresh_token)
    assert path.read_bytes() == before
    assert emulator.requests == []


def test_token_reads_the_keyring_within_keyring_timeout(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    private_keyring: PrivateKeyring,
    profile: str,
) -> None:
    """A keyring daemon that answers nothing: ``token`` gives up after the configured
    ``keyring_timeout``, which the line names (not the 2 s default)."""
    env, path, record = _keyring_sign_in(emulator, client_env, keyring_env, profile)
    env["CLAUDE_CODE_OAUTH_KEYRING_TIMEOUT"] = "0.7"
    before = path.read_bytes()
    with private_keyring.paused():
        done = run_cli(env, "token", "--profile", profile)
    assert path.read_bytes() == before
    printed_nothing = done.stdout == ""
    assert done.returncode == 1 and printed_nothing
    line = done.stderr
    assert line.startswith("error: The Secret Service did not answer within 0.7 s (")
    assert line.count("\n") == 1
    assert not _leaks(done, record.access_token, record.refresh_token)


def test_token_from_the_keyring_imports_no_http_library_nor_keyring(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
) -> None:
    env, _path, record = _keyring_sign_in(emulator, client_env, keyring_env, profile)
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AFTER_TOKEN, "token", "--profile", profile],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    # The token was printed (its length and a newline), so the item was read.
    assert json.loads(done.stdout) == {
        "rc": 0,
        "printed": len(record.access_token) + 1,
        "loaded": [],
    }


def test_token_refreshes_an_expired_token(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=-10)
    done = run_cli(client_env, "token")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert emulator.grants["refresh_token"] == 1
    printed, saved = digest(done.stdout.rstrip("\n")), digest(stored(token_path).access_token)
    assert printed == saved != digest(old.access_token)
    assert done.stdout.count("\n") == 1


def test_token_not_signed_in(client_env: dict[str, str]) -> None:
    done = run_cli(client_env, "token")
    assert done.returncode == 1
    assert done.stdout == ""
    assert (
        done.stderr.startswith("error: Not signed in") and "claude-code-oauth login" in done.stderr
    )


def test_token_warns_when_the_login_ends_soon(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600, login_ends_in=86400)
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    exact = done.stdout == record.access_token + "\n"
    assert exact
    assert done.stderr.startswith("warning: Your Claude login ends in 23h")


def test_token_warns_when_the_login_was_found_dead(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """The access token still works for a while; the user is told to sign in again now."""
    record = seed(emulator, token_path, expires_in=3600, needs_login=True)
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    exact = done.stdout == record.access_token + "\n"
    assert exact
    assert done.stderr.startswith("warning: your Claude login has ended")
    assert "claude-code-oauth login" in done.stderr
    assert emulator.requests == []


def test_token_with_a_failing_endpoint_warns_and_prints_the_valid_token(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=60)  # inside the refresh margin
    emulator.inject("token", "500")
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    exact = done.stdout == record.access_token + "\n"
    assert exact
    assert done.stderr.startswith("warning: Could not refresh") and "HTTP 500" in done.stderr


def test_token_after_the_login_was_revoked(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.revoke_all()
    first = run_cli(client_env, "token")
    second = run_cli(client_env, "token")
    for done in (first, second):
        assert done.returncode == 1 and done.stdout == ""
        assert "claude-code-oauth login" in done.stderr
    assert first.stderr == second.stderr
    assert token_requests(emulator) == 1


def test_token_refuses_a_corrupt_file(client_env: dict[str, str], token_path: Path) -> None:
    token_path.write_text("{")
    done = run_cli(client_env, "token")
    assert done.returncode == 1 and done.stdout == ""
    assert str(token_path) in done.stderr
    assert token_path.read_text() == "{"


def test_token_is_quick(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    started = time.monotonic()
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    assert time.monotonic() - started < 5


# -- models -------------------------------------------------------------------------------


def test_models_signed_out_suggests_signing_in_not_a_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    signed_out = run_cli(client_env, "models")
    assert signed_out.returncode == 0, signed_out.stderr
    assert signed_out.stdout.strip() == (
        "No Claude models are registered. Sign in with `claude-code-oauth login`."
    )
    # What it used to suggest fails when signed out: that is why it is not suggested.
    refresh = run_cli(client_env, "models", "--refresh")
    assert refresh.returncode == 1 and "sign" in refresh.stderr.lower()

    seed(emulator, token_path, expires_in=3600)
    signed_in = run_cli(client_env, "models")
    assert signed_in.stdout.strip() == (
        "No Claude models are registered. Run `claude-code-oauth models --refresh`."
    )
    assert run_cli(client_env, "models", "--refresh").returncode == 0
    assert "claude-code-claude-sonnet-4-5-20250929" in run_cli(client_env, "models").stdout


def test_output_to_a_reader_that_went_away_is_not_a_traceback(client_env: dict[str, str]) -> None:
    # `claude-code-oauth config | head -1` once head has exited: the pipe has no reader.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "claude_code_oauth", "config"],
            env=client_env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr == "", done.stderr
    assert done.returncode == 1


# -- logout -------------------------------------------------------------------------------


def test_logout_twice(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    first = run_cli(client_env, "logout")
    assert first.returncode == 0, first.stderr
    assert f"Removed the tokens ({token_path})." in first.stdout
    assert not token_path.exists()
    second = run_cli(client_env, "logout")
    assert second.returncode == 0
    assert "No tokens were stored." in second.stdout
    after = run_cli(client_env, "status")
    assert after.returncode == 1 and after.stdout.startswith("Not signed in")
    leaked = _leaks(first, record.access_token, record.refresh_token)
    leaked = leaked or _leaks(second, record.access_token, record.refresh_token)
    assert not leaked


def test_logout_takes_the_token_lock(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """While another process holds the lock (say, mid-refresh), logout waits, then fails clearly."""
    seed(emulator, token_path, expires_in=3600)
    holder = start_worker(client_env, "hold-lock")
    try:
        wait_for_line(holder, "locked")
        done = run_cli({**client_env, "CLAUDE_CODE_OAUTH_LOCK_TIMEOUT": "0.5"}, "logout")
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "lock" in done.stderr
    assert token_path.exists()
