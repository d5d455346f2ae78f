"""`claude-code-oauth login` with a real headless Chromium as the browser.

Chromium resolves ``localhost`` itself and follows the emulator's redirect to the
loopback callback, as a user's browser would. All of Chromium's output goes to
/dev/null: it may log URLs that carry the authorization code.
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    """Chromium's path (the tests that use it are marked ``browser`` by conftest)."""
    if CHROMIUM is None:
        if os.environ.get("CLAUDE_CODE_OAUTH_REQUIRE_CHROMIUM") == "1":
            pytest.fail("chromium is required (CLAUDE_CODE_OAUTH_REQUIRE_CHROMIUM=1) but missing")
        pytest.skip("chromium not installed; `make test` installs it")
    return CHROMIUM


def _wrapper(tmp_path: Path, chromium: str) -> Path:
    profile = tmp_path / "chromium-profile"
    script = tmp_path / "headless-chromium.sh"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--dump-dom",
    ]
    argv = tmp_path / "chromium-argv"
    script.write_text(
        "#!/bin/sh\n"
        f"printf '%s\\n' \"$1\" > {shlex.quote(str(argv))}\n"
        f"exec {shlex.quote(chromium)} {' '.join(shlex.quote(f) for f in flags)} "
        '"$1" >/dev/null 2>&1\n'
    )
    script.chmod(0o755)
    return script


def test_login_through_headless_chromium(
    client_env: dict[str, str], tmp_path: Path, chromium: str
) -> None:
    data_dir = tmp_path / "chromium-data"
    with ClaudeEmulator(auto_approve=True) as emulator:
        low = random.randint(20000, 60000)
        env = {
            **client_env,
            **emulator.env(),
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}",
            "BROWSER": str(_wrapper(tmp_path, chromium)),
        }
        done = subprocess.run(
            [sys.executable, "-m", "claude_code_oauth", "login", "--timeout", "90"],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        assert "Opening your browser" in done.stdout
        assert "Signed in as emulated.user@example.com (via browser)." in done.stdout
        assert emulator.grants["authorization_code"] == 1
        (exchange,) = [r for r in emulator.requests if r.path == "/v1/oauth/token"]
        assert exchange.json["redirect_uri"].startswith("http://localhost:")
    # Chromium was started on the loopback start address (its command line, which
    # every local user can read, holds no state) and followed its redirect itself.
    opened = (tmp_path / "chromium-argv").read_text()
    assert re.fullmatch(r"http://localhost:\d+/start/[A-Za-z0-9_-]{32}\n", opened), opened
    (authorize,) = [r for r in emulator.requests if r.path == "/oauth/authorize"]
    assert authorize.query["state"] not in opened
    token_file = data_dir / "claude_code_oauth.json"
    assert token_file.stat().st_mode & 0o777 == 0o600
    saved = json.loads(token_file.read_text())
    shaped = saved["access_token"].startswith("sk-ant-oat01-")
    assert shaped, "the saved access token is not an issued one"
    assert saved["account"]["email_address"] == "emulated.user@example.com"
    models = json.loads((data_dir / "extra_models.json").read_text())
    assert any(key.startswith("claude-code-") for key in models)


def test_console_login_through_headless_chromium(
    client_env: dict[str, str], tmp_path: Path, chromium: str
) -> None:
    """The Console sign-in: Chromium on the Console's page, the key created and kept 0600."""
    data_dir = tmp_path / "chromium-data"
    with ClaudeEmulator(auto_approve=True) as emulator:
        low = random.randint(20000, 60000)
        env = {
            **client_env,
            **emulator.env(),
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}",
            "BROWSER": str(_wrapper(tmp_path, chromium)),
        }
        done = subprocess.run(
            [sys.executable, "-m", "claude_code_oauth", "login", "--console", "--timeout", "90"],
            env=env,
            capture_output=True,
            text=True,
            timeout=150,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        assert "Signed in to the Anthropic Console as emulated.user@example.com (via browser)" in (
            done.stdout
        )
        (authorize,) = [r for r in emulator.requests if r.path.endswith("/oauth/authorize")]
        assert authorize.path == "/console/oauth/authorize"
        key_file = data_dir / "claude_code_oauth.json"
        assert key_file.stat().st_mode & 0o777 == 0o600
        saved = json.loads(key_file.read_text())
        assert saved["kind"] == "console_api_key"
        assert emulator.api_key_created(saved["api_key"]), "the saved key is not a created one"
        assert "access_token" not in saved and "refresh_token" not in saved
        models = json.loads((data_dir / "extra_models.json").read_text())
        assert {entry["type"] for entry in models.values()} == {"claude_code_oauth_api_key"}
    opened = (tmp_path / "chromium-argv").read_text()
    assert re.fullmatch(r"http://localhost:\d+/start/[A-Za-z0-9_-]{32}\n", opened), opened
