"""Cross-process refresh: many processes at once, killed processes, a held lock.

Refresh tokens are single-use: a second refresh with the same one is a replay
and the emulator (like Claude) revokes the whole login. These tests start real
worker processes (tests/helpers/token_worker.py) against the emulator and count
what the emulator saw. Tokens are compared by hash only.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from claude_code_oauth.errors import LockTimeout
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import (
    assert_same_secret,
    digest,
    run_worker,
    seed,
    settings_for,
    start_worker,
    stored,
    token_requests,
    wait_for_line,
    worker_command,
)

pytestmark = pytest.mark.multiprocess

PROCESSES = 16
THREADS = 4


def _race(
    client_env: dict[str, str], tmp_path: Path, mode: str, processes: int = PROCESSES
) -> tuple[list[dict[str, object]], float]:
    """Start ``processes`` workers, release them together; their results and the seconds taken."""
    import subprocess

    gate = tmp_path / "gate"
    gate.mkdir()
    go = gate / "go"
    procs = []
    for index in range(processes):
        ready = gate / f"ready-{index}"
        procs.append(
            subprocess.Popen(
                worker_command("race", str(THREADS), str(ready), str(go), mode),
                env=client_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < processes:
        assert time.monotonic() < deadline, "workers did not get ready"
        assert all(p.poll() is None for p in procs), "a worker died before the start"
        time.sleep(0.01)
    started = time.monotonic()
    go.touch()
    results: list[dict[str, object]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"worker failed: {err[-2000:]}"
        results.extend(json.loads(out.strip().splitlines()[-1])["results"])
    return results, time.monotonic() - started


@pytest.mark.parametrize("delay", [0.0, 0.5], ids=["instant", "slow-endpoint"])
def test_64_callers_expired_token_one_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, tmp_path: Path, delay
) -> None:
    path = data_dir / "claude_code_oauth.json"
    old = seed(emulator, path, expires_in=-60)
    old_hash = digest(old.access_token)
    if delay:
        # Keep the one refresh in flight while every other caller piles up on the lock.
        emulator.inject("token", "slow", delay=delay)

    results, seconds = _race(client_env, tmp_path, "get")

    assert len(results) == PROCESSES * THREADS
    errors = [r for r in results if r["error_type"]]
    assert errors == []
    assert emulator.grants["refresh_token"] == 1
    assert emulator.replays == 0
    assert token_requests(emulator) == 1
    hashes = {r["hash"] for r in results}
    new_hash = digest(stored(path).access_token)
    assert hashes == {new_hash}
    assert new_hash != old_hash
    record = stored(path)
    assert not record.needs_login and record.refresh_token != old.refresh_token
    assert seconds < 60


def test_64_callers_rejected_token_one_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """Everyone was refused the same (unexpired) token: exactly one forced refresh."""
    path = data_dir / "claude_code_oauth.json"
    old = seed(emulator, path, expires_in=3600)
    old_hash = digest(old.access_token)

    results, _ = _race(client_env, tmp_path, "rejected")

    assert [r for r in results if r["error_type"]] == []
    assert emulator.grants["refresh_token"] == 1
    assert emulator.replays == 0
    new_hash = digest(stored(path).access_token)
    assert {r["hash"] for r in results} == {new_hash}
    assert new_hash != old_hash


def test_replace_rejected_adopts_another_process_rotation(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    path = data_dir / "claude_code_oauth.json"
    old = seed(emulator, path, expires_in=3600)
    # Process A was refused the token and rotated it.
    a = run_worker(client_env, "rejected")
    assert a["error_type"] is None
    assert emulator.grants["refresh_token"] == 1
    rotated_hash = digest(stored(path).access_token)
    assert a["hash"] == rotated_hash
    # This process (B) still holds the old token and is refused too: it adopts A's.
    provider = TokenProvider(settings_for(client_env))
    replacement = provider.replace_rejected(old.access_token)
    replacement_hash = digest(replacement)
    assert replacement_hash == rotated_hash
    assert emulator.grants["refresh_token"] == 1
    assert emulator.replays == 0


def test_killed_lock_holder_does_not_block_the_next_caller(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    path = data_dir / "claude_code_oauth.json"
    seed(emulator, path, expires_in=-60)
    holder = start_worker(client_env, "hold-lock")
    try:
        wait_for_line(holder, "locked")
        # While it lives, the lock really is held.
        quick = settings_for(client_env, lock_timeout=0.3)
        with pytest.raises(LockTimeout):
            TokenProvider(quick).get_access_token()
        assert token_requests(emulator) == 0
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        started = time.monotonic()
        token = TokenProvider(settings_for(client_env, lock_timeout=5)).get_access_token()
        assert time.monotonic() - started < 5
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.communicate(timeout=10)
    token_hash = digest(token)
    assert token_hash == digest(stored(path).access_token)
    assert emulator.grants["refresh_token"] == 1
    assert Path(token_store.lock_path(str(path))).exists()


def test_lock_timeout_is_quick_and_clear(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    path = data_dir / "claude_code_oauth.json"
    seed(emulator, path, expires_in=-60)
    holder = start_worker(client_env, "hold-lock")
    try:
        wait_for_line(holder, "locked")
        settings = settings_for(client_env, lock_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(LockTimeout) as caught:
            TokenProvider(settings).get_access_token()
        assert time.monotonic() - started < 3
        message = str(caught.value)
        assert "lock" in message and str(path) in message
        # A token still valid (inside the margin) is handed out with a warning instead.
        valid = seed(emulator, path, expires_in=60)
        warnings: list[str] = []
        token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
        assert_same_secret(token, valid.access_token, "the token")
        assert len(warnings) == 1 and "lock" in warnings[0]
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    assert token_requests(emulator) == 0


def test_killed_writer_never_leaves_a_broken_file(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    path = data_dir / "claude_code_oauth.json"
    original = seed(emulator, path, expires_in=3600)
    rng = random.Random(1234)
    for _ in range(12):
        writer = start_worker(client_env, "write-loop")
        try:
            wait_for_line(writer, "writing")
            # Read while it writes: never a partial file.
            for _ in range(rng.randint(1, 20)):
                record = stored(path)
                assert record.refresh_token == original.refresh_token
            time.sleep(rng.uniform(0, 0.05))
        finally:
            os.kill(writer.pid, signal.SIGKILL)
            writer.communicate(timeout=10)
        record = stored(path)  # valid JSON, a whole record
        assert record.access_token == original.access_token
        assert (record.last_error or "").startswith("generation ")
        assert oct(path.stat().st_mode & 0o777) == "0o600"
    # Only the token file, its lock and maybe temporaries of killed writers exist;
    # nothing else is mistaken for the token file, and save() sweeps stale temporaries.
    names = {p.name for p in data_dir.iterdir()}
    leftovers = [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]
    assert names - {p.name for p in leftovers} == {path.name, path.name + ".lock"}
    for leftover in leftovers:
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))
    token_store.save(str(path), stored(path))
    assert not [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]


def test_killed_refresher_leaves_old_or_new_tokens(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    """kill -9 while refreshing for real: the file always holds a whole, issued record.

    Each round starts from a new login: a kill between the server's rotation and
    the save loses the new refresh token (no client can make the network and the
    disk one atomic step), and refreshing on from there would be a replay.
    """
    path = data_dir / "claude_code_oauth.json"
    rng = random.Random(99)
    for _ in range(6):
        before = seed(emulator, path, expires_in=3600)
        refresher = start_worker(client_env, "refresh-loop")
        try:
            wait_for_line(refresher, "refreshing")
            time.sleep(rng.uniform(0, 0.1))
        finally:
            os.kill(refresher.pid, signal.SIGKILL)
            refresher.communicate(timeout=10)
        after = stored(path)  # a whole record, never a torn one
        assert after.obtained_at > before.obtained_at  # at least the first rotation landed
        assert not after.needs_login and after.last_error is None
        # Whatever it holds, the emulator issued it: the access token is accepted.
        status = _profile_status(emulator, after.access_token)
        assert status == 200
    assert emulator.grants["refresh_token"] >= 6
    assert emulator.replays == 0


def _profile_status(emulator: ClaudeEmulator, token: str) -> int:
    import httpx

    response = httpx.get(
        emulator.base_url + "/api/oauth/profile",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return response.status_code
