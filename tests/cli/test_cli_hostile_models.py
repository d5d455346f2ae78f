"""A models endpoint with absurd answers: `models --refresh` as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from helpers.tokens import seed

MODELS = "/v1/models"


@pytest.fixture
def proxy(emulator: ClaudeEmulator) -> Iterator[HostileProxy]:
    with HostileProxy(emulator.base_url) as running:
        yield running


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy, data_dir: Path) -> dict[str, str]:
    return proxy.env(client_env)


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "claude_code_oauth", "models", "--refresh"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_a_page_nested_too_deeply_is_one_line(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], data_dir: Path
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    proxy.add_rule(MODELS, forward=False, body=b"[" * 200_000 + b"]" * 200_000)
    done = run(env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "not valid JSON" in errors[0]
    assert not (data_dir / "extra_models.json").exists()


@pytest.mark.parametrize("raw", ["9" * 400, "1e308", "-5", "true", "100000001"])
def test_an_absurd_input_limit_is_ignored(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], data_dir: Path, raw: str
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    page = {
        "data": [{"id": "claude-test-1", "display_name": "Test", "max_input_tokens": 0}],
        "has_more": False,
    }
    body = json.dumps(page).replace('"max_input_tokens": 0', f'"max_input_tokens": {raw}')
    proxy.add_rule(MODELS, forward=False, body=body.encode())
    done = run(env)
    assert done.returncode == 0, done.stderr[-2000:]
    entry = json.loads((data_dir / "extra_models.json").read_text())["claude-code-claude-test-1"]
    assert entry["context_length"] == 200000  # the default: the reported limit was absurd
