"""``status`` and ``doctor`` say where the credentials live and whether that store works,
against the real private Secret Service (a subprocess each, as a user runs them)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from claude_code_oauth.tokens.record import TokenRecord
from helpers.cli import run_cli
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess

SECRET_SERVICE = "OS keyring (Secret Service)"


def _env(client_env: dict[str, str], keyring_env: dict[str, str], profile: str) -> dict[str, str]:
    return {
        **client_env,
        "DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"],
        "CLAUDE_CODE_OAUTH_PROFILE": profile,
    }


def _keyring_sign_in(emulator: ClaudeEmulator, env: dict[str, str]) -> tuple[Path, TokenRecord]:
    """A login of ``env``'s profile, its secrets moved to the private keyring."""
    settings = Settings(environ=env)
    path = Path(settings.token_path)
    record = seed(emulator, path, expires_in=3600)
    with token_store.held(token_store.token_lock(settings)):
        token_store.save(
            str(path),
            record,
            secrets=KeyringTarget("secret-service", settings.profile),
            stores=StoreOpener(environ=env),
        )
    assert record.access_token not in path.read_text() and "secrets" in path.read_text()
    return path, record


def _clean(done: subprocess.CompletedProcess[str], record: TokenRecord) -> None:
    out = done.stdout + done.stderr
    assert "Traceback" not in out
    assert record.access_token not in out and str(record.refresh_token) not in out


def _check(doctor: subprocess.CompletedProcess[str], name: str) -> dict[str, object]:
    (found,) = [c for c in json.loads(doctor.stdout)["checks"] if c["name"] == name]
    return found


def test_status_names_the_keyring_and_the_file(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
) -> None:
    env = _env(client_env, keyring_env, profile)
    path, record = _keyring_sign_in(emulator, env)
    done = run_cli(env, "status")
    assert done.returncode == 0, done.stderr
    _clean(done, record)
    assert (
        f"Credentials: {SECRET_SERVICE}, item of profile {profile}; the rest in {path} (mode 0600)"
    ) in done.stdout.splitlines()
    report = json.loads(run_cli(env, "status", "--json").stdout)
    assert report["signed_in"] is True and report["needs_login"] is False
    assert report["credentials"] == {
        "store": "keyring",
        "name": SECRET_SERVICE,
        "item": profile,
        "problem": None,
    }


def test_status_names_the_file_store(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    done = run_cli(client_env, "status")
    _clean(done, record)
    assert f"Credentials: file {token_path} (mode 0600)" in done.stdout.splitlines()
    report = json.loads(run_cli(client_env, "status", "--json").stdout)
    assert report["credentials"] == {"store": "file", "name": "file", "item": None, "problem": None}


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_missing_or_damaged_item_is_one_line_in_status_and_doctor(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
    secret_service: SecretServiceStore,
    damage: str,
) -> None:
    env = _env(client_env, keyring_env, profile)
    _path, record = _keyring_sign_in(emulator, env)
    if damage == "missing":
        assert secret_service.delete(profile)
        words = f"The keyring item of profile {profile} that"
        named = "is missing from the Secret Service"
    else:
        secret_service.set(profile, b"{not json")
        words = f"The keyring item of profile {profile} in the Secret Service is damaged"
        named = "it is not JSON"
    done = run_cli(env, "status")
    _clean(done, record)
    assert done.returncode != 0
    (problem,) = [line for line in done.stdout.splitlines() if words in line]
    assert named in problem and problem.startswith(f"The sign-in (profile {profile}) cannot")
    report = json.loads(run_cli(env, "status", "--json").stdout)
    assert report["needs_login"] is True and words in report["credentials"]["problem"]
    doctor = run_cli(env, "doctor", "--json")
    _clean(doctor, record)
    item = _check(doctor, "keyring_item")
    assert item["ok"] is False and words in str(item["detail"]) and named in str(item["detail"])
    assert _check(doctor, "credential_store")["ok"] is True


def test_a_locked_keyring_is_named_and_needs_no_new_login(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
    private_keyring: PrivateKeyring,
) -> None:
    env = _env(client_env, keyring_env, profile)
    _path, record = _keyring_sign_in(emulator, env)
    private_keyring.lock()
    try:
        report = json.loads(run_cli(env, "status", "--json").stdout)
        doctor = run_cli(env, "doctor", "--json")
    finally:
        private_keyring.unlock()
    assert report["needs_login"] is False and "locked" in report["credentials"]["problem"]
    store = _check(doctor, "credential_store")
    assert store["ok"] is False and "locked" in str(store["detail"])
    _clean(doctor, record)


def test_doctor_checks_the_store_the_item_and_its_generation(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    env = _env(client_env, keyring_env, profile)
    _, record = _keyring_sign_in(emulator, env)
    doctor = run_cli(env, "doctor", "--json")
    _clean(doctor, record)
    store = _check(doctor, "credential_store")
    assert store["ok"] is True and SECRET_SERVICE in str(store["detail"])
    item = _check(doctor, "keyring_item")
    assert item["ok"] is True and "generation 1" in str(item["detail"])
    # A process that died between the item and the file: the item is a save ahead.
    raw = secret_service.get(profile)
    assert raw is not None
    ahead = json.loads(raw)
    ahead["generation"] = 2
    secret_service.set(profile, json.dumps(ahead).encode())
    item = _check(run_cli(env, "doctor", "--json"), "keyring_item")
    assert item["ok"] is False and "generation 2" in str(item["detail"])
    assert "generation 1" in str(item["detail"]) and item["fix"]
    human = run_cli(env, "doctor")
    assert "✗ Keyring item:" in human.stdout and "Traceback" not in human.stdout


def test_doctor_lists_stale_items_with_how_to_remove_them(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    keyring_env: dict[str, str],
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    """An item whose profile has no token file naming it (a move back to the file whose
    delete failed, a token file removed by hand) is listed, with the command that
    removes it; the item of a keyring sign-in is not."""
    env = _env(client_env, keyring_env, profile)
    _path, record = _keyring_sign_in(emulator, env)
    stale = f"{profile}-stale"
    secret_service.set(stale, b'{"v":1}')
    doctor = run_cli(env, "doctor", "--json")
    _clean(doctor, record)
    check = _check(doctor, "stale_items")
    assert check["ok"] is False
    listed = str(check["detail"]).split(": ", 1)[1].split(", ")
    assert stale in listed and profile not in listed
    assert "`secret-tool clear service claude-code-oauth profile " in str(check["fix"])
    secret_service.delete(stale)
