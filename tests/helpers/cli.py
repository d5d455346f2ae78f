"""Running the real ``claude-code-oauth`` command in a child process, and reading its errors.

Every CLI test goes through :func:`run_cli` so they all start the command the same
way: ``python -m claude_code_oauth``, no terminal on stdin (a test must never wait
for a keyboard), output captured as text, and a generous deadline that only proves
"no hang" — timing belongs in ``benchmarks/``.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from pathlib import Path

CLI = [sys.executable, "-m", "claude_code_oauth"]


def run_cli(
    env: Mapping[str, str], *args: str, timeout: float = 120, python: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``claude-code-oauth ARGS`` to the end; never raises on a non-zero exit.
    ``python``: another interpreter to run it with (see :func:`plain_python`)."""
    return subprocess.run(
        [python or sys.executable, *CLI[1:], *args],
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


@functools.cache
def plain_python() -> str:
    """A Python that has this package and its dependencies but no pydantic-ai and no
    Code Puppy — what a plain ``pip install claude-code-oauth`` has: a venv (made once
    per test session, removed at exit) whose one ``.pth`` names this checkout's source
    and a folder linking every other package of this environment."""
    root = Path(tempfile.mkdtemp(prefix="claude-code-oauth-plain-"))
    atexit.register(shutil.rmtree, root, True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)
    linked = root / "packages"
    linked.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(("pydantic_ai", "code_puppy")) and entry.suffix != ".pth":
            (linked / entry.name).symlink_to(entry)
    import claude_code_oauth

    (site,) = (root / "venv" / "lib").glob("python3*/site-packages")
    source = Path(claude_code_oauth.__file__).parents[1]
    (site / "claude_code_oauth_plain.pth").write_text(f"{source}\n{linked}\n")
    return str(root / "venv" / "bin" / "python")
