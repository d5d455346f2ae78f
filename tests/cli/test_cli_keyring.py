"""``claude-code-oauth`` with ``storage = keyring``, as a user runs it: a browser login,
``token`` (fresh, then refreshed), ``logout`` — against a real gnome-keyring on a
private bus; and with no session bus at all: one line, nothing spent, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from helpers.cli import one_error_line, run_cli
from helpers.tokens import assert_same_secret, files_containing, seed

pytestmark = pytest.mark.subprocess

#: Seconds any one of these commands may take; without a bus the answer is immediate.
COMMAND_DEADLINE = 60


def _item(secret_service: SecretServiceStore, profile: str) -> dict[str, object]:
    raw = secret_service.get(profile)
    assert raw is not None, "the keyring item is missing"
    item: dict[str, object] = json.loads(raw)
    return item


def _no_secret_in_any_file(data_dir: Path, *secrets: object) -> None:
    for secret in secrets:
        assert isinstance(secret, str) and secret
        assert files_containing([data_dir], secret, skip=set()) == [], "a token is in a file"


def test_a_keyring_sign_in_from_login_to_logout(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    data_dir: Path,
    keyring_env: dict[str, str],
    secret_service: SecretServiceStore,
    scripted_browser: str,
    profile: str,
) -> None:
    env = {
        **client_env,
        "CLAUDE_CODE_OAUTH_STORAGE": "keyring",
        "CLAUDE_CODE_OAUTH_PROFILE": profile,
        "DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"],
        "BROWSER": scripted_browser,
    }
    login = run_cli(env, "login", "--no-models", "--timeout", "60", timeout=COMMAND_DEADLINE)
    assert login.returncode == 0, login.stderr
    first = _item(secret_service, profile)
    _no_secret_in_any_file(data_dir, first["access_token"], first["refresh_token"])

    token = run_cli(env, "token", timeout=COMMAND_DEADLINE)
    assert token.returncode == 0, token.stderr
    assert_same_secret(token.stdout.strip(), first["access_token"], "the access token")
    assert emulator.grants["refresh_token"] == 0

    # A margin longer than the token's life makes it due: `token` refreshes it.
    due = {**env, "CLAUDE_CODE_OAUTH_REFRESH_MARGIN": "100000"}
    refreshed = run_cli(due, "token", timeout=COMMAND_DEADLINE)
    assert refreshed.returncode == 0, refreshed.stderr
    assert emulator.grants["refresh_token"] == 1
    second = _item(secret_service, profile)
    assert_same_secret(refreshed.stdout.strip(), second["access_token"], "the access token")
    assert second["generation"] == 2 and second["refresh_token"] != first["refresh_token"]
    _no_secret_in_any_file(data_dir, second["access_token"], second["refresh_token"])
    stored = json.loads((data_dir / f"claude_code_oauth.{profile}.json").read_text())
    assert stored["secrets"] == {"store": "secret-service", "item": profile, "generation": 2}

    logout = run_cli(env, "logout", timeout=COMMAND_DEADLINE)
    assert logout.returncode == 0, logout.stderr
    assert secret_service.get(profile) is None
    assert not (data_dir / f"claude_code_oauth.{profile}.json").exists()


def _no_bus(client_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in client_env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["XDG_RUNTIME_DIR"] = str(tmp_path / "runtime-without-a-bus")
    return env


def test_without_a_session_bus_a_keyring_login_refuses_before_anything_is_spent(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    env = {**_no_bus(client_env, tmp_path), "CLAUDE_CODE_OAUTH_STORAGE": "keyring"}
    done = run_cli(env, "login", "--no-browser", "--no-models", timeout=COMMAND_DEADLINE)
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "session bus" in line
    assert emulator.requests == []
    assert not (data_dir / "claude_code_oauth.json").exists()


def test_without_a_session_bus_a_keyring_sign_in_is_one_line_and_kept(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    keyring_env: dict[str, str],
    secret_service: SecretServiceStore,
    tmp_path: Path,
) -> None:
    """The default profile's item: this session's private keyring, and no other test
    here writes it."""
    record = seed(emulator, token_path, expires_in=3600)
    stores = StoreOpener(environ=keyring_env)
    token_store.save(
        str(token_path), record, secrets=KeyringTarget("secret-service", "default"), stores=stores
    )
    before = token_path.read_bytes()
    try:
        done = run_cli(_no_bus(client_env, tmp_path), "token", timeout=COMMAND_DEADLINE)
        assert done.returncode == 1
        assert "session bus" in one_error_line(done.stderr)
        assert done.stdout == ""
        assert token_path.read_bytes() == before
    finally:
        token_store.delete(str(token_path), stores=stores)
