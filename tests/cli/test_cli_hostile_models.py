"""A models endpoint with absurd answers: `models --refresh` as a real process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from helpers.cli import run_cli
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess

MODELS = "/v1/models"


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy, data_dir: Path) -> dict[str, str]:
    return proxy.env(client_env)


def test_a_page_nested_too_deeply_is_one_line(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], data_dir: Path
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    proxy.add_rule(MODELS, forward=False, body=b"[" * 200_000 + b"]" * 200_000)
    done = run_cli(env, "models", "--refresh")
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
    done = run_cli(env, "models", "--refresh")
    assert done.returncode == 0, done.stderr[-2000:]
    entry = json.loads((data_dir / "extra_models.json").read_text())["claude-code-claude-test-1"]
    assert entry["context_length"] == 200000  # the default: the reported limit was absurd
