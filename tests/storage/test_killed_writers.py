"""Temporary files of killed writers: named after their writer, removed by the next
command that starts (not 60 s later at a save) once the writer is gone, never while
it runs; and SIGTERM during a save finishes the save before the process ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_code_oauth.storage import secure_file, temp_files
from claude_code_oauth.storage.reservation import Reservation
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import run_cli
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.multiprocess

#: A child that leaves a temporary file of its own beside ``argv[1]``, then dies.
LEAVE_AND_DIE = """
import os, signal, sys
from claude_code_oauth.storage.temp_files import temp_path
path = temp_path(sys.argv[1])
with open(path, "wb") as out:
    out.write(sys.argv[2].encode())
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _leave_and_die(target: Path, content: str) -> Path:
    done = subprocess.run(
        [sys.executable, "-c", LEAVE_AND_DIE, str(target), content],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL
    left = Path(done.stdout.strip())
    assert left.exists()
    return left


def test_temp_names_carry_the_writer_and_tell_whether_it_is_gone(tmp_path: Path) -> None:
    mine = Path(temp_files.temp_path(str(tmp_path / "file.json")))
    parsed = temp_files.parse(str(tmp_path), mine.name)
    assert parsed is not None and parsed.target_name == "file.json"
    assert parsed.pid == str(os.getpid())
    assert temp_files.writer_gone(parsed) is False
    dead = _leave_and_die(tmp_path / "file.json", "x")
    (found,) = [t for t in temp_files.scan(str(tmp_path)) if t.path == str(dead)]
    assert temp_files.writer_gone(found) is True
    # A PID now used by another process (ours) with another start time: gone too.
    reused = tmp_path / dead.name.replace(f"-{found.pid}-", f"-{os.getpid()}-")
    dead.rename(reused)
    (found,) = [t for t in temp_files.scan(str(tmp_path)) if t.path == str(reused)]
    assert temp_files.writer_gone(found) is True


def test_a_file_from_another_machine_or_an_older_version_cannot_be_judged(tmp_path: Path) -> None:
    other = temp_files.parse(str(tmp_path), ".f.json.0123abcd4026531836-12-34.00ff00ff.tmp")
    old = temp_files.parse(str(tmp_path), ".f.json.0123456789ab.tmp")
    assert other is not None and old is not None
    assert temp_files.writer_gone(other) is None and temp_files.writer_gone(old) is None
    assert temp_files.parse(str(tmp_path), ".f.json.lock") is None


def test_the_next_command_removes_a_killed_writers_files_at_once(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    # What a writer killed mid-save leaves: the new login's tokens, complete or not.
    partial = _leave_and_die(token_path, '{"access_token": "sk-ant-oat01-half')
    usage = _leave_and_die(data_dir / "claude_code_oauth.default.usage.json", "{}")
    alive = Path(temp_files.temp_path(str(token_path)))  # this process: still running
    alive.write_bytes(b"\0" * 16)
    recent_old_naming = data_dir / ".claude_code_oauth.json.0123456789ab.tmp"
    recent_old_naming.write_bytes(b"x")
    done = run_cli(client_env, "token")  # the fast path: a fresh token
    assert done.returncode == 0
    assert not partial.exists() and not usage.exists()
    assert alive.exists() and recent_old_naming.exists()
    old = time.time() - 120
    os.utime(recent_old_naming, (old, old))
    run_cli(client_env, "status")
    assert not recent_old_naming.exists() and alive.exists()


def test_a_killed_writers_complete_login_is_adopted_not_dropped(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from claude_code_oauth.tokens.record import TokenRecord
    from claude_code_oauth.tokens.stored_form import encode, identity

    before = seed(emulator, token_path, expires_in=-10)
    # Killed after the server rotated and the new tokens were written, before the rename.
    rotated = TokenRecord.from_token_response(
        emulator.issue_login(), now=time.time(), previous=before
    )
    kept = _leave_and_die(token_path, encode(rotated, identity(before)).decode())
    done = run_cli(client_env, "token")
    assert done.returncode == 0
    assert digest(done.stdout.strip()) == digest(rotated.access_token)
    assert digest(stored(token_path).refresh_token) == digest(rotated.refresh_token)
    assert not kept.exists() and emulator.grants["refresh_token"] == 0


def test_a_kept_copy_of_a_login_signed_out_of_is_never_adopted(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from claude_code_oauth.tokens.record import TokenRecord
    from claude_code_oauth.tokens.stored_form import encode, identity

    before = seed(emulator, token_path, expires_in=3600)
    rotated = TokenRecord.from_token_response(emulator.issue_login(), previous=before)
    kept = _leave_and_die(token_path, encode(rotated, identity(before)).decode())
    token_path.unlink()  # signed out meanwhile
    done = run_cli(client_env, "status")
    assert done.returncode == 1 and not token_path.exists() and not kept.exists()
    # Nor a copy older than what the file holds now (a new sign-in replaced it).
    newer = seed(emulator, token_path, expires_in=3600)
    stale = TokenRecord.from_token_response(emulator.issue_login(), now=newer.obtained_at - 60)
    kept = _leave_and_die(token_path, encode(stale, identity(newer)).decode())
    run_cli(client_env, "status")
    assert not kept.exists()
    assert digest(stored(token_path).refresh_token) == digest(newer.refresh_token)


#: Saves ``argv[1]`` in the main thread; tells the parent (a line on stdout) once it is
#: inside the save, and waits for its go (a line on stdin) before going on.
SAVE_WITH_A_PAUSE = """
import os, sys
from claude_code_oauth.storage import reservation, secure_file
real_fsync = os.fsync
def paused_fsync(fd):
    print("inside", flush=True)
    sys.stdin.readline()
    real_fsync(fd)
os.fsync = paused_fsync
{call}
print("saved", flush=True)
"""


def _terminated_mid_save(target: Path, call: str) -> subprocess.CompletedProcess[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SAVE_WITH_A_PAUSE.replace("{call}", call), str(target)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "inside"
    child.send_signal(signal.SIGTERM)
    # The signal is pending in the child before it can read this line.
    child.stdin.write("go\n")
    child.stdin.flush()
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out, err)


def test_sigterm_during_a_save_finishes_it_and_then_ends_the_process(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    target.write_bytes(b"old")
    done = _terminated_mid_save(target, 'secure_file.atomic_write(sys.argv[1], b"new")')
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert "saved" not in done.stdout  # the signal ended it right after the save
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_sigterm_while_a_reservation_is_held_waits_for_it(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    # Paused (and terminated) at the claim's fsync, before any data was written.
    call = "reservation.Reservation(sys.argv[1], 4096).commit(b'new')"
    done = _terminated_mid_save(target, call)
    assert done.returncode == -signal.SIGTERM, done.stderr
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_a_reservation_not_committed_leaves_nothing(tmp_path: Path) -> None:
    with Reservation(str(tmp_path / "f"), 8192) as claimed:
        assert os.path.getsize(claimed.path) == 8192
    assert list(tmp_path.iterdir()) == []
    assert secure_file.remove_stale_temp_files(str(tmp_path / "f"), 60) == []
