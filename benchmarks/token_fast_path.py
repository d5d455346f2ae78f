"""Whole-process time of `claude-code-oauth token` while the stored token is fresh,
and of `claude-code-oauth usage` (and `usage --json`) reading the usage snapshot.

Four token forms: `token` (the default profile, no active-profile file), `token
--profile work` (a named profile), `token` while the active-profile file
names `work` (one more small file read), and `token --profile console` (a Console
sign-in: the API key is printed). Compared, in the same run and
interleaved, with the floor of any console script, `python -c "import re, sys"`
(what pip's launcher itself imports), and with `python -c "import httpx"` to
show what importing an HTTP client alone would cost. Goal: every token and
usage form within 1.5x of the floor.

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
from claude_code_oauth.login.console_key import create_api_key
from claude_code_oauth.profiles.active import write_active_profile
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
    with (
        tempfile.TemporaryDirectory() as tmp,
        tempfile.TemporaryDirectory() as tmp_active,
        ClaudeEmulator() as emu,
    ):
        env = {**os.environ, "CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp}
        env.pop("CLAUDE_CODE_OAUTH_PROFILE", None)
        settings = Settings(environ=env)
        for profile in ("default", "work"):
            record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
            save(settings.with_profile(profile).token_path, record)
        console = Settings(environ={**env, **emu.env()}).with_profile("console")
        login = emu.issue_login(console=True)
        save(console.token_path, create_api_key(console, login["access_token"], login))
        # A second data dir whose active-profile file names "work".
        active_env = {**env, "CLAUDE_CODE_OAUTH_DATA_DIR": tmp_active}
        active_settings = Settings(environ=active_env)
        record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        save(active_settings.with_profile("work").token_path, record)
        write_active_profile(active_settings, "work")
        default_record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        save(settings.token_path, default_record)
        _record_usage(emu, settings, default_record.access_token)
        floor_cmd = [sys.executable, "-c", "import re, sys"]
        commands = {
            FLOOR: ([*floor_cmd], env),
            "claude-code-oauth token": ([script, "token"], env),
            "claude-code-oauth token --profile work": ([script, "token", "--profile", "work"], env),
            "token, active-profile file: work": ([script, "token"], active_env),
            "token --profile console (API key)": (
                [script, "token", "--profile", "console"],
                env,
            ),
            "claude-code-oauth usage": ([script, "usage"], env),
            "claude-code-oauth usage --json": ([script, "usage", "--json"], env),
            "python -c 'import httpx'": ([sys.executable, "-c", "import httpx"], env),
        }
        interleaved(commands, 3)  # warm caches
        samples = interleaved(commands, args.runs)
    medians = {name: median_ms(values) for name, values in samples.items()}
    floor = medians[FLOOR]
    for name, value in medians.items():
        print(f"{name:<40} median {value:6.1f} ms  {value / floor:4.2f}x floor")
    forms = [name for name in medians if "token" in name or "usage" in name]
    worst = max(medians[name] / floor for name in forms)
    met = worst <= 1.5
    print(
        f"goal: every token and usage form within 1.5x of the floor: {'met' if met else 'NOT met'}"
    )
    return 0 if met else 1


FLOOR = "floor: python -c 'import re, sys'"


def _record_usage(emu: ClaudeEmulator, settings: Settings, token: str) -> None:
    """A usage snapshot as the library's auth leaves it after a few answers."""
    import httpx

    from claude_code_oauth.account.usage_capture import capture_for

    capture = capture_for(settings)
    headers = {
        "authorization": f"Bearer {token}",
        "anthropic-beta": settings.anthropic_beta,
        "anthropic-version": settings.anthropic_version,
    }
    body = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
    }
    for _ in range(3):
        capture(httpx.post(emu.base_url + "/v1/messages", headers=headers, json=body))
    capture.flush(10)


if __name__ == "__main__":
    sys.exit(main())
