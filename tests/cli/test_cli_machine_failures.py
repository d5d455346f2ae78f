"""When the machine fails under the CLI: a full disk, a read-only remount, a directory
the user may not write. Nothing single-use is spent that cannot be saved, every
command says in one line which path failed and why, and the login survives: once
the disk is freed (or remounted read-write) the next run works, and the emulator saw
no replay.

Each test mounts its own tmpfs (the suite runs as root, as CI does); a user without
root's override of file modes is ``nobody`` (:mod:`helpers.machine_faults`).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import store as token_store
from helpers.cli import one_error_line, run_cli
from helpers.machine_faults import (
    AS_NOBODY,
    NOBODY,
    chown_tree,
    fill,
    nobodys_python,
    remount,
    tmpfs,
)
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.machine

TOKEN = "claude_code_oauth.json"
#: How to run Python as nobody: (argv prefix, the environment it needs).
Nobody = tuple[list[str], dict[str, str]]


@pytest.fixture
def disk() -> Iterator[Path]:
    with tmpfs("1m") as mount_point:
        yield mount_point


def _env(client_env: dict[str, str], data: Path) -> dict[str, str]:
    env = dict(client_env)
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data)
    env["HOME"] = str(data.parent / "home")
    return env


def _signed_in(emulator: ClaudeEmulator, data: Path, *, expires_in: float = -10) -> Path:
    data.mkdir(mode=0o700)
    path = data / TOKEN
    seed(emulator, path, expires_in=expires_in)
    (data / f"{TOKEN}.lock").touch(mode=0o600)
    return path


def _refreshes(emulator: ClaudeEmulator) -> int:
    return emulator.grants["refresh_token"]


def test_a_full_disk_spends_no_refresh_token_and_the_login_survives(
    emulator: ClaudeEmulator, client_env: dict[str, str], disk: Path
) -> None:
    path = _signed_in(emulator, disk / "data")
    before = stored(path)
    env = _env(client_env, disk / "data")
    filler = fill(disk)
    done = run_cli(env, "token")
    assert done.returncode == 1 and done.stdout == ""
    line = one_error_line(done.stderr)
    assert "Not refreshing" in line and "No space left on device" in line
    assert str(disk / "data") in line and "Free some space" in line
    assert _refreshes(emulator) == 0
    assert digest(stored(path).refresh_token) == digest(before.refresh_token)

    filler.unlink()
    done = run_cli(env, "token")
    assert done.returncode == 0, done.stderr
    assert digest(done.stdout.strip()) == digest(stored(path).access_token)
    assert _refreshes(emulator) == 1 and emulator.replays == 0


COMMANDS = [
    ("token",),
    ("logout",),
    ("usage", "--refresh"),
    ("login", "--no-browser", "--timeout", "5"),
    ("switch", "default"),
    ("models", "--refresh"),
]


def test_a_read_only_data_dir_is_one_line_in_every_command_and_the_login_survives(
    emulator: ClaudeEmulator, client_env: dict[str, str], disk: Path
) -> None:
    data = disk / "data"
    path = _signed_in(emulator, data)
    before = path.read_bytes()
    env = _env(client_env, data)
    remount(disk, read_only=True)
    try:
        for command in COMMANDS:
            done = run_cli(env, *command)
            assert done.returncode != 0, command
            line = one_error_line(done.stderr)
            assert "Read-only file system" in line and str(data) in line, (command, line)
            assert "could not be reached" not in line, (command, line)
        status = run_cli(env, "status")
        assert "Traceback" not in status.stderr and status.returncode == 0
        doctor = run_cli(env, "doctor")
        assert doctor.returncode == 1 and "Traceback" not in doctor.stderr + doctor.stdout
        (files,) = [ln for ln in doctor.stdout.splitlines() if "Data directory" in ln]
        assert files.startswith("✗") and "Read-only file system" in files
        assert "could not be reached" not in doctor.stdout
        assert "remount" in doctor.stdout.lower()
    finally:
        remount(disk, read_only=False)
    assert path.read_bytes() == before
    assert _refreshes(emulator) == 0

    done = run_cli(env, "token")
    assert done.returncode == 0, done.stderr
    assert _refreshes(emulator) == 1 and emulator.replays == 0


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[Nobody]:
    """How to run Python as nobody with this package importable: (argv prefix, the
    environment it needs)."""
    with nobodys_python() as (python, added):
        yield [*AS_NOBODY, *python], added


def _as_nobody(nobody: Nobody, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    prefix, added = nobody
    return subprocess.run(
        [*prefix, "-m", "claude_code_oauth", *args],
        env={**env, **added},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def nobodys_disk() -> Iterator[Path]:
    with tmpfs("4m", owner=NOBODY) as mount_point:
        yield mount_point


def _nobodys_login(emulator: ClaudeEmulator, disk: Path) -> Path:
    path = _signed_in(emulator, disk / "data")
    (disk / "home").mkdir()
    chown_tree(disk, NOBODY)
    return path


def test_a_directory_the_user_may_not_write_spends_nothing(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    nobodys_disk: Path,
    as_nobody: Nobody,
) -> None:
    data = nobodys_disk / "data"
    path = _nobodys_login(emulator, nobodys_disk)
    env = _env(client_env, data)
    data.chmod(0o500)
    done = _as_nobody(as_nobody, env, "token")
    assert done.returncode == 1
    line = one_error_line(done.stderr)
    assert "Not refreshing" in line and "Permission denied" in line and str(data) in line
    assert _refreshes(emulator) == 0
    doctor = _as_nobody(as_nobody, env, "doctor")
    (files,) = [ln for ln in doctor.stdout.splitlines() if "Data directory" in ln]
    assert files.startswith("✗") and "Permission denied" in files and "(mode 0500)" not in files

    data.chmod(0o700)
    done = _as_nobody(as_nobody, env, "token")
    assert done.returncode == 0, done.stderr
    assert digest(done.stdout.strip()) == digest(stored(path).access_token)
    assert _refreshes(emulator) == 1 and emulator.replays == 0


def test_a_save_that_fails_after_the_server_rotated_keeps_the_login(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    nobodys_disk: Path,
    as_nobody: Nobody,
) -> None:
    data = nobodys_disk / "data"
    path = _nobodys_login(emulator, nobodys_disk)
    before = stored(path)
    with HostileProxy(emulator.base_url) as proxy:
        env = proxy.env(_env(client_env, data))
        # The server rotates; then, before its answer arrives, the directory turns
        # read-only for the user (the reservation taken before the call stays open).
        proxy.add_rule("/v1/oauth/token", before_answer=lambda: data.chmod(0o500))
        done = _as_nobody(as_nobody, env, "token")
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        (warning,) = [ln for ln in done.stderr.splitlines() if ln.startswith("warning: ")]
        assert "Permission denied" in warning and "kept in" in warning
        assert f"chmod u+rwx {data}" in warning
        printed = done.stdout.strip()
        # The caller got the new token; the file still holds the old login.
        assert digest(printed) != digest(before.access_token)
        assert digest(stored(path).refresh_token) == digest(before.refresh_token)
        assert _refreshes(emulator) == 1

        data.chmod(0o700)
        # The next run adopts the kept login (its writer is gone) before anything else.
        done = _as_nobody(as_nobody, env, "token")
        assert done.returncode == 0, done.stderr
        assert digest(done.stdout.strip()) == digest(printed)
        assert digest(stored(path).access_token) == digest(printed)
        assert [p.name for p in data.iterdir() if p.name.endswith(".tmp")] == []
        assert _refreshes(emulator) == 1

        # And it refreshes with the kept refresh token: no replay.
        record = stored(path)
        record.expires_at = time.time() - 10
        token_store.save(str(path), record)
        os.chown(path, NOBODY, NOBODY)
        done = _as_nobody(as_nobody, env, "token")
        assert done.returncode == 0, done.stderr
        assert _refreshes(emulator) == 2 and emulator.replays == 0


def test_nobody_can_run_the_command_here(as_nobody: Nobody) -> None:
    """The fixtures' premise: fail loudly if this machine cannot run the CLI as nobody."""
    prefix, added = as_nobody
    done = subprocess.run(
        [*prefix, "-c", "import claude_code_oauth, httpx, filelock, os; print(os.getuid())"],
        env={**os.environ, **added},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == str(NOBODY), done.stderr
