"""``claude-code-oauth storage [--to keyring|file]``: the real command, against a real
gnome-keyring on a private bus. A move keeps the sign-in (``token`` answers the same
access token), leaves no token in any file under the data directory after ``--to
keyring`` and no item after ``--to file``; a keyring that fails changes nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring, bare_bus
from claude_code_oauth.tokens.record import TokenRecord
from helpers.cli import run_cli
from helpers.tokens import assert_same_secret, seed

pytestmark = pytest.mark.subprocess


@pytest.fixture
def env(client_env: dict[str, str], keyring_env: dict[str, str]) -> dict[str, str]:
    return {**client_env, "DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"]}


def _path(data_dir: Path, profile: str) -> Path:
    return data_dir / f"claude_code_oauth.{profile}.json"


def _secrets(record: TokenRecord) -> list[str]:
    return [s for s in (record.access_token, record.refresh_token) if s]


def _files_holding(data_dir: Path, record: TokenRecord) -> list[str]:
    """Every file under ``data_dir`` that holds one of ``record``'s tokens (names only)."""
    found = []
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(s.encode() in data for s in _secrets(record)):
                found.append(path.name)
    return found


def _clean(done: subprocess.CompletedProcess[str], record: TokenRecord) -> None:
    assert not any(s in done.stdout + done.stderr for s in _secrets(record)), "a token was shown"


def _token(env: dict[str, str], profile: str, record: TokenRecord) -> None:
    done = run_cli(env, "token", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert_same_secret(done.stdout.strip(), record.access_token, "the access token")


def test_a_move_to_the_keyring_and_back_keeps_the_same_sign_in(
    emulator: ClaudeEmulator,
    env: dict[str, str],
    data_dir: Path,
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    path = _path(data_dir, profile)
    record = seed(emulator, path, expires_in=3600)
    done = run_cli(env, "storage")
    assert done.returncode == 0, done.stderr
    assert f"{profile}: in its token file {path} (mode 0600)" in done.stdout.splitlines()
    assert "New sign-ins keep their secrets in their token file" in done.stdout

    done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
    assert done.returncode == 0, done.stderr
    _clean(done, record)
    assert (
        f"Moved profile {profile}'s credentials to the Secret Service (item {profile}): its "
        f"token file {path} no longer holds any secret."
    ) in done.stdout.splitlines()
    assert "This does not change the storage setting (file)" in done.stdout
    assert "CLAUDE_CODE_OAUTH_STORAGE=keyring" in done.stdout
    assert done.stderr == ""  # no leftover to name
    assert _files_holding(data_dir, record) == []
    assert secret_service.get(profile) is not None
    _token(env, profile, record)
    done = run_cli(env, "storage", "--profile", profile)
    assert done.stdout.splitlines()[0] == (
        f"{profile}: in the Secret Service (item {profile}); {path} holds no secret"
    )
    done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert "already in the Secret Service (item" in done.stdout

    done = run_cli(env, "storage", "--to", "file", "--profile", profile)
    assert done.returncode == 0, done.stderr
    _clean(done, record)
    assert (
        f"Moved profile {profile}'s credentials to its token file {path} (mode 0600)."
    ) in done.stdout.splitlines()
    assert secret_service.get(profile) is None
    assert _files_holding(data_dir, record) == [path.name]
    assert path.stat().st_mode & 0o777 == 0o600
    _token(env, profile, record)
    done = run_cli(env, "storage", "--to", "file", "--profile", profile)
    assert done.returncode == 0, done.stderr
    assert "already in its token file" in done.stdout


def test_every_profile_moves_with_all_profiles(
    emulator: ClaudeEmulator,
    env: dict[str, str],
    data_dir: Path,
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    names = [profile, f"{profile}-b"]
    records = [seed(emulator, _path(data_dir, name), expires_in=3600) for name in names]
    done = run_cli(env, "storage", "--to", "keyring", "--all-profiles")
    assert done.returncode == 0, done.stderr
    for name, record in zip(names, records, strict=True):
        assert f"Moved profile {name}'s credentials to the Secret Service" in done.stdout
        assert _files_holding(data_dir, record) == []
        _token(env, name, record)
    done = run_cli(env, "storage", "--to", "file", "--all-profiles")
    assert done.returncode == 0, done.stderr
    assert [secret_service.get(name) for name in names] == [None, None]
    for name, record in zip(names, records, strict=True):
        _token(env, name, record)


def test_copies_that_may_hold_tokens_are_named_not_removed(
    emulator: ClaudeEmulator, env: dict[str, str], data_dir: Path, profile: str
) -> None:
    path = _path(data_dir, profile)
    record = seed(emulator, path, expires_in=3600)
    aside = data_dir / f"{path.name}.corrupt-20260101-000000-4242"
    shutil.copy(path, aside)
    done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
    assert done.returncode == 0, done.stderr
    (warning,) = done.stderr.splitlines()
    assert warning.startswith("warning: These files under the data directory may still hold tokens")
    assert str(aside) in warning
    assert _files_holding(data_dir, record) == [aside.name]
    run_cli(env, "storage", "--to", "file", "--profile", profile)  # the item goes


def test_not_signed_in_is_one_line_and_writes_nothing(
    env: dict[str, str], data_dir: Path, profile: str, secret_service: SecretServiceStore
) -> None:
    done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
    assert done.returncode == 1
    assert done.stderr == f"error: Profile {profile} is not signed in: there is nothing to move.\n"
    assert secret_service.get(profile) is None
    done = run_cli(env, "storage", "--to", "keyring", "--all-profiles")
    assert (done.returncode, done.stderr) == (
        1,
        "error: No profile is signed in: there is nothing to move.\n",
    )
    done = run_cli(env, "storage", "--to", "keyring", "--profile", profile, "--all-profiles")
    assert done.returncode == 2 and "not allowed with argument" in done.stderr
    assert list(data_dir.iterdir()) == []  # not even a lock file


def test_a_keyring_that_is_not_there_changes_nothing(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, profile: str
) -> None:
    path = _path(data_dir, profile)
    record = seed(emulator, path, expires_in=3600)
    before = path.read_bytes()
    with bare_bus() as bus:
        env = {**client_env, "DBUS_SESSION_BUS_ADDRESS": bus.address}
        done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
        assert done.returncode == 1
        (line,) = done.stderr.splitlines()
        assert line.startswith(
            f"error: Could not move profile {profile}'s credentials to the Secret Service ("
        )
        assert "nothing was changed or lost: it still signs in from its token file." in line
        assert path.read_bytes() == before
        _token(env, profile, record)


def test_a_locked_keyring_whose_prompt_is_dismissed_changes_nothing(
    emulator: ClaudeEmulator,
    env: dict[str, str],
    data_dir: Path,
    profile: str,
    private_keyring: PrivateKeyring,
    secret_service: SecretServiceStore,
) -> None:
    """The write may prompt to unlock; without a display gnome-keyring dismisses it."""
    path = _path(data_dir, profile)
    record = seed(emulator, path, expires_in=3600)
    before = path.read_bytes()
    private_keyring.lock()
    try:
        done = run_cli(env, "storage", "--to", "keyring", "--profile", profile)
    finally:
        private_keyring.unlock()
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert "nothing was changed or lost: it still signs in from its token file." in line
    assert path.read_bytes() == before
    assert secret_service.get(profile) is None
    _token(env, profile, record)

    # Back from the keyring: its item cannot be read while it is locked.
    assert run_cli(env, "storage", "--to", "keyring", "--profile", profile).returncode == 0
    moved = path.read_bytes()
    private_keyring.lock()
    try:
        done = run_cli(env, "storage", "--to", "file", "--profile", profile)
    finally:
        private_keyring.unlock()
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: Could not move profile {profile}'s credentials to its token")
    assert f"it still signs in from the Secret Service (item {profile})." in line
    assert path.read_bytes() == moved
    _token(env, profile, record)
    run_cli(env, "storage", "--to", "file", "--profile", profile)


def test_help_says_what_it_does(env: dict[str, str]) -> None:
    done = run_cli(env, "storage", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for phrase in (
        "--to {keyring,file}",
        "--all-profiles",
        "read back and compared",
        "CLAUDE_CODE_OAUTH_STORAGE=keyring",
        "nothing was lost",
    ):
        assert phrase in text, phrase
