"""A configured URL's user-info (``user:PASSWORD@``) never appears in any output: it is
refused, and every message, ``config`` and ``doctor`` show it masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.config_rules import masked_url, url_host
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import run_cli
from helpers.tokens import seed

PASSWORD = "PASSWORD-a3f9"

COMMANDS = [
    ("token",),
    ("status", "--verify"),
    ("status", "--verify", "--json"),
    ("config",),
    ("config", "--json"),
    ("doctor",),
    ("doctor", "--json"),
    ("usage", "--refresh"),
    ("models", "--refresh"),
    ("login", "--no-browser", "--timeout", "5"),
]


@pytest.mark.subprocess
@pytest.mark.parametrize(
    "variable",
    [
        "CLAUDE_CODE_OAUTH_TOKEN_URL",
        "CLAUDE_CODE_OAUTH_API_BASE_URL",
        "CLAUDE_CODE_OAUTH_AUTH_URL",
        "CLAUDE_CODE_OAUTH_REDIRECT_HOST",
    ],
)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_password_in_a_configured_url_is_never_printed(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    variable: str,
    scheme: str,
) -> None:
    # Expired: `token` and every server check need the token endpoint.
    seed(emulator, token_path, expires_in=-10)
    env = {**client_env, variable: f"{scheme}://user:{PASSWORD}@example.com/t"}
    for command in COMMANDS:
        done = run_cli(env, *command)
        assert "Traceback" not in done.stderr, command
        assert PASSWORD not in done.stdout + done.stderr, command
    shown = run_cli(env, "config", "--json")
    rows = {row["env"]: row for row in json.loads(shown.stdout)}
    assert rows[variable]["value"] == f"{scheme}://***@example.com/t"
    assert "not allowed" in (rows[variable]["error"] or "") or variable.endswith("REDIRECT_HOST")


@pytest.mark.parametrize(
    ("value", "masked", "host"),
    [
        ("http://user:pw@example.com/t", "http://***@example.com/t", "example.com"),
        ("https://a@b:8443/x?y@z", "https://***@b:8443/x?y@z", "b:8443"),
        ("https://h/p@q", "https://h/p@q", "h"),
        ("user:pw@host/x", "***@host/x", "***@host/x"),
        ("https://[::1]:80/x", "https://[::1]:80/x", "[::1]:80"),
    ],
)
def test_masked_url_and_url_host(value: str, masked: str, host: str) -> None:
    assert masked_url(value) == masked
    assert url_host(value) == host
