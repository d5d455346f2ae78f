"""Running the real ``claude-code-oauth`` command in a child process, and reading its errors.

Every CLI test goes through :func:`run_cli` so they all start the command the same
way: ``python -m claude_code_oauth``, no terminal on stdin (a test must never wait
for a keyboard), output captured as text, and a generous deadline that only proves
"no hang" — timing belongs in ``benchmarks/``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping

CLI = [sys.executable, "-m", "claude_code_oauth"]


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``claude-code-oauth ARGS`` to the end; never raises on a non-zero exit."""
    return subprocess.run(
        [*CLI, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def one_error_line(stderr: str) -> str:
    """The single ``error: …`` line on ``stderr``; fails on a traceback or on two errors."""
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr[-2000:]
    return errors[0]
