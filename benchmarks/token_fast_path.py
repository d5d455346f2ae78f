"""Whole-process time of `claude-code-oauth token` while the stored token is fresh.

Compared, in the same run and interleaved, with the floor of any console
script, `python -c "import re, sys"` (what pip's launcher itself imports), and
with `python -c "import httpx"` to show what importing an HTTP client alone
would cost. Goal: the token command within 1.5x of the floor.

    .venv/bin/python benchmarks/token_fast_path.py [--runs 40]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.store import TokenRecord, save
from timing import interleaved, median_ms


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    script = shutil.which("claude-code-oauth", path=str(Path(sys.executable).parent))
    if script is None:
        print("claude-code-oauth is not installed next to this Python", file=sys.stderr)
        return 2
    # pip byte-compiles a package when it installs it; an editable checkout under
    # PYTHONDONTWRITEBYTECODE=1 would otherwise recompile our modules on every run
    # while the standard library's bytecode is ready, which is not what users see.
    import claude_code_oauth

    compileall.compile_dir(Path(claude_code_oauth.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp, ClaudeEmulator() as emu:
        env = {**os.environ, "CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp}
        record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        save(Settings(environ=env).token_path, record)
        commands = {
            "floor: python -c 'import re, sys'": [sys.executable, "-c", "import re, sys"],
            "claude-code-oauth token": [script, "token"],
            "python -c 'import httpx'": [sys.executable, "-c", "import httpx"],
        }
        interleaved(commands, 3, env)  # warm caches
        samples = interleaved(commands, args.runs, env)
    medians = {name: median_ms(values) for name, values in samples.items()}
    floor = medians["floor: python -c 'import re, sys'"]
    for name, value in medians.items():
        print(f"{name:<36} median {value:6.1f} ms  {value / floor:4.2f}x floor")
    ratio = medians["claude-code-oauth token"] / floor
    print(f"goal: token within 1.5x of the floor: {'met' if ratio <= 1.5 else 'NOT met'}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
