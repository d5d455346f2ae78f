"""Local files over their caps are refused by size, unread: a 2 GB sparse token file,
a 64 MB token file of valid JSON, an oversized active-profile file and usage snapshot.

Each is one line, and the command's peak memory stays that of a plain run (the
file is never read whole): measured for the command alone
(:func:`claude_code_oauth.testing.peak_memory.run_measured`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.peak_memory import run_measured
from helpers.cli import CLI, one_error_line, run_cli
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess

#: Far below what reading any of these files whole would take (2 GB, 64 MB x 3).
PEAK_LIMIT = 120 << 20


def _sparse(path: Path, size: int) -> None:
    with open(path, "wb") as out:
        out.truncate(size)
    path.chmod(0o600)


@pytest.mark.parametrize("command", [("status",), ("token",), ("status", "--json")])
def test_a_2_gb_sparse_token_file_is_refused_unread(
    client_env: dict[str, str], token_path: Path, command: tuple[str, ...]
) -> None:
    _sparse(token_path, 2 << 30)
    done, peak = run_measured([*CLI, *command], client_env)
    assert done.returncode == 1
    if command == ("status", "--json"):
        text = json.loads(done.stdout)["error"]
    else:
        text = done.stdout + done.stderr
        assert len([ln for ln in text.splitlines() if "larger" in ln]) == 1
    assert "Traceback" not in done.stderr
    assert "larger (2 GiB) than the 1 MiB" in text and str(token_path) in text
    assert peak < PEAK_LIMIT, peak


def test_a_64_mb_token_file_of_valid_json_is_refused(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600).to_json()
    record["organization"] = {"name": "x" * (64 << 20)}
    token_path.write_text(json.dumps(record))
    done, peak = run_measured([*CLI, "token"], client_env)
    assert done.returncode == 1
    assert "larger (64.0 MiB) than the 1 MiB" in one_error_line(done.stderr)
    assert peak < PEAK_LIMIT, peak


def test_an_active_profile_file_over_256_bytes_is_refused(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    active = data_dir / "claude_code_oauth.active_profile"
    active.write_bytes(b"work\n" + b" " * 300)
    done = run_cli(client_env, "token")
    line = one_error_line(done.stderr)
    assert done.returncode != 0 and "larger" in line and "256 bytes" in line
    assert "switch NAME" in line
    _sparse(active, 1 << 30)
    done, peak = run_measured([*CLI, "token"], client_env)
    assert "larger (1 GiB) than the 256 bytes" in one_error_line(done.stderr)
    assert peak < PEAK_LIMIT, peak


def test_an_oversized_usage_snapshot_is_a_note_and_usage_still_answers(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path, token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    _sparse(data_dir / "claude_code_oauth.default.usage.json", 64 << 20)
    done, peak = run_measured([*CLI, "usage"], client_env)
    assert "Traceback" not in done.stderr
    assert "larger (64 MiB) than the 1 MiB" in done.stderr
    assert peak < PEAK_LIMIT, peak
