"""Shared fixtures, and the secret scan every test passes through.

The scan fails any test whose captured output (stdout, stderr, logging) or
failure report contains a token, code or verifier the emulator handed out or
received, or anything shaped like a Claude token. Subprocess output that a test
merely captures into a variable is not output; printing it is.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy

#: OAuth access and refresh tokens, and the API keys a Console sign-in creates.
TOKEN_SHAPE = re.compile(r"sk-ant-(?:o[ar]t01|api03)-[A-Za-z0-9_\-]{6,}")


def find_secrets(text: str) -> list[str]:
    """Secrets (issued or token-shaped) found in ``text``, redacted for reporting."""
    found = [m.group(0) for m in TOKEN_SHAPE.finditer(text)]
    found += [s for s in list(ISSUED_SECRETS) if len(s) >= 16 and s in text]
    return [f"{s[:12]}…({len(s)} chars)" for s in found]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    texts = [content for _, content in report.sections]
    if report.longrepr is not None:
        texts.append(str(report.longrepr))
    leaked = find_secrets("\n".join(texts))
    if leaked:
        report.outcome = "failed"
        report.longrepr = (
            f"SECRET SCAN: {len(leaked)} secret(s) appeared in this test's output: "
            f"{', '.join(leaked[:5])}"
        )


@pytest.fixture
def emulator() -> Iterator[ClaudeEmulator]:
    """A fresh emulator on an OS-assigned loopback port (consent page, not auto-approve)."""
    with ClaudeEmulator() as emu:
        yield emu


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def token_path(data_dir: Path) -> Path:
    """Where the default profile's token file lives in ``data_dir``."""
    return data_dir / "claude_code_oauth.json"


@pytest.fixture
def proxy(emulator: ClaudeEmulator) -> Iterator[HostileProxy]:
    """A :class:`HostileProxy` in front of the emulator; it forwards until told otherwise."""
    with HostileProxy(emulator.base_url) as running:
        yield running


@pytest.fixture
def client_env(emulator: ClaudeEmulator, data_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for a client subprocess: emulator endpoints, private data dir and HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAUDE_CODE_OAUTH_", "XDG_", "SSH_")) and k not in ("BROWSER",)
    }
    env.update(emulator.env())
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    env["HOME"] = str(tmp_path / "home")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.fixture
def settings(emulator: ClaudeEmulator, data_dir: Path) -> Settings:
    """In-process settings pointing at the emulator and the private data dir."""
    env = {"HOME": str(data_dir.parent / "home"), **emulator.env()}
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    return Settings(environ=env)


@pytest.fixture
def scripted_browser() -> str:
    """A BROWSER value that approves on the emulator's consent page."""
    return f"{sys.executable} -m claude_code_oauth.testing.scripted_browser %s"
