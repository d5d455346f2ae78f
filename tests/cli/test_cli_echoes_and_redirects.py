"""A server that echoes the bearer token into its errors, or redirects: nothing leaks,
nothing is followed. `models --refresh` and `status --verify` as real processes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy, ProxiedRequest
from helpers.cli import run_cli
from helpers.tokens import seed, stored

pytestmark = pytest.mark.subprocess


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy) -> dict[str, str]:
    return proxy.env(client_env)


def echo_401(request: ProxiedRequest) -> bytes:
    """Anthropic's envelope, with the bearer token echoed into the message."""
    message = f"Invalid bearer token {request.bearer} (sent as Bearer {request.bearer})"
    return json.dumps(
        {"type": "error", "error": {"type": "authentication_error", "message": message}}
    ).encode()


ENDPOINTS = {
    "models --refresh": ("/v1/models", ("models", "--refresh")),
    "status --verify": ("/api/oauth/profile", ("status", "--verify")),
    "usage --refresh": ("/api/oauth/usage", ("usage", "--refresh")),
}


@pytest.mark.parametrize(("path", "args"), ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_both_the_rejected_and_the_replacement_token_are_blanked_from_the_error(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    path: str,
    args: tuple[str, ...],
) -> None:
    first = seed(emulator, token_path, expires_in=3600).access_token
    proxy.add_rule(path, times=2, forward=False, status=401, body=echo_401)
    done = run_cli(env, *args)
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output
    exchanges = proxy.requests_to(path)
    assert len(exchanges) == 2  # the 401, then one retry with the replacement
    replacement = stored(token_path).access_token
    rotated = replacement != first and exchanges[1].request.bearer == replacement
    assert rotated, "the retry did not carry a replacement token"
    leaked_first = first in output
    leaked_replacement = replacement in output
    assert not leaked_first and not leaked_replacement
    assert "[token]" in output and "authentication_error" in output


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(("path", "args"), ENDPOINTS.values(), ids=ENDPOINTS.keys())
def test_a_redirect_with_a_location_is_never_followed(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    env: dict[str, str],
    token_path: Path,
    path: str,
    args: tuple[str, ...],
    status: int,
) -> None:
    seed(emulator, token_path, expires_in=3600)
    with ClaudeEmulator() as trap:
        location = trap.base_url + path
        proxy.add_rule(path, forward=False, status=status, headers={"Location": location})
        done = run_cli(env, *args)
        assert trap.requests == []  # the bearer token never went to the Location
    output = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in output
    assert f"HTTP {status}" in output
    assert location not in output
    assert len(proxy.requests_to(path)) == 1
