"""Run a command and learn its peak memory (resident set), for tests and benchmarks.

The command runs as the only child of a small Python wrapper process, whose
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is then the command's own peak — not
the largest of every child the test process ever ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence

_WRAPPER = """
import resource, subprocess, sys
code = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def run_measured(
    argv: Sequence[str], env: Mapping[str, str], *, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], int]:
    """Run ``argv`` to the end (output captured as text, no stdin) and return it with its
    peak resident memory in bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "maxrss")
        done = subprocess.run(
            [sys.executable, "-c", _WRAPPER, report, *argv],
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        with open(report) as kib:
            return done, int(kib.read()) * 1024  # Linux reports KiB
