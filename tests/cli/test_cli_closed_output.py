"""Output nobody reads: a closed stdout, or a reader that went away (`| head -c1`).

No traceback, no "Exception ignored" noise: `token` says in one line that it has
nowhere to print; the others exit 1 quietly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path) -> dict:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    return client_env


@pytest.mark.parametrize(
    "args", [["token"], ["status"], ["status", "--json"], ["config"], ["models", "--json"]]
)
def test_a_reader_that_went_away_costs_no_traceback(signed_in: dict, args: list[str]) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head -c1` after it exited
    try:
        done = subprocess.run(
            [sys.executable, "-m", "claude_code_oauth", *args],
            env=signed_in,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert done.stderr == ""


def test_token_with_stdout_closed_says_so_in_one_line(signed_in: dict) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "claude_code_oauth", "token"],
        env=signed_in,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert done.returncode == 1
    assert done.stderr == "error: there is no standard output to print the token to.\n"
