"""Single-flight refresh per profile: two profiles refreshed at once by many processes.

Each profile has its own token file and lock, so N processes on one profile make
exactly one refresh grant, and one profile's refresh never waits for another's.
Real worker processes (tests/helpers/token_worker.py) against the emulator;
tokens are compared by digest and by the account the emulator says issued them.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.tokens import digest, seed, start_worker, stored, wait_for_line, worker_command

pytestmark = pytest.mark.multiprocess

PER_PROFILE = 8
THREADS = 2
WORK = "work@example.com"
FIRST = "emulated.user@example.com"


def _race(envs: list[dict[str, str]], gate: Path) -> list[list[dict[str, object]]]:
    """One worker per env, released together; each worker's results."""
    gate.mkdir()
    go = gate / "go"
    procs = [
        subprocess.Popen(
            worker_command("race", str(THREADS), str(gate / f"ready-{i}"), str(go), "get"),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, env in enumerate(envs)
    ]
    deadline = time.monotonic() + 120
    while len(list(gate.glob("ready-*"))) < len(procs):
        assert time.monotonic() < deadline, "workers did not get ready"
        assert all(p.poll() is None for p in procs), "a worker died before the start"
        time.sleep(0.01)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"worker failed: {err[-2000:]}"
        results.append(json.loads(out.strip().splitlines()[-1])["results"])
    return results


def test_two_profiles_refreshed_at_once_one_grant_each(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    emulator.add_account(WORK)
    settings = Settings(environ=client_env)
    paths = {
        "default": Path(settings.with_profile("default").token_path),
        "work": Path(settings.with_profile("work").token_path),
    }
    old = {
        "default": seed(emulator, paths["default"], expires_in=-60),
        "work": seed(emulator, paths["work"], expires_in=-60, email=WORK),
    }
    # Interleaved: 8 processes on each profile, started in alternation.
    profiles = ["default", "work"] * PER_PROFILE
    envs = [{**client_env, "CLAUDE_CODE_OAUTH_PROFILE": name} for name in profiles]

    results = _race(envs, tmp_path / "gate")

    assert emulator.replays == 0
    assert emulator.grants["refresh_token"] == 2
    for name in ("default", "work"):
        record = stored(paths[name])
        new_hash = digest(record.access_token)
        assert new_hash != digest(old[name].access_token), f"{name} was not refreshed"
        assert not record.needs_login and record.last_error is None
        got = [r for proc, rs in zip(profiles, results, strict=True) if proc == name for r in rs]
        assert len(got) == PER_PROFILE * THREADS
        assert [r for r in got if r["error_type"]] == []
        assert {r["hash"] for r in got} == {new_hash}, f"{name}: callers got other tokens"
    # Two rotations, one per profile (2 grants, both files rotated), each its own account.
    assert emulator.account_for_token(stored(paths["default"]).access_token) == FIRST
    assert emulator.account_for_token(stored(paths["work"]).access_token) == WORK


def test_one_profiles_refresh_never_waits_for_anothers_lock(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    emulator.add_account(WORK)
    settings = Settings(environ=client_env)
    seed(emulator, settings.with_profile("default").token_path, expires_in=-60)
    work_path = Path(settings.with_profile("work").token_path)
    seed(emulator, work_path, expires_in=-60, email=WORK)
    # A process holds the default profile's lock for as long as this test runs.
    holder = start_worker({**client_env, "CLAUDE_CODE_OAUTH_PROFILE": "default"}, "hold-lock")
    try:
        wait_for_line(holder, "locked")
        work_env = {
            **client_env,
            "CLAUDE_CODE_OAUTH_PROFILE": "work",
            # Far longer than the generous bound below: waiting on any lock would show.
            "CLAUDE_CODE_OAUTH_LOCK_TIMEOUT": "120",
        }
        results = _race([work_env] * PER_PROFILE, tmp_path / "gate")
    finally:
        holder.kill()
        holder.communicate(timeout=10)
    got = [r for rs in results for r in rs]
    assert [r for r in got if r["error_type"]] == []
    assert {r["hash"] for r in got} == {digest(stored(work_path).access_token)}
    assert emulator.grants["refresh_token"] == 1  # work's; default's lock was never free
    assert emulator.replays == 0
