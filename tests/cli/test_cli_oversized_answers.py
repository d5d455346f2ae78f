"""Answers over the caps: token and profile over 1 MiB, a models page over 16 MiB.

Each is refused with one line, and reading stops at the cap: the proxy offers far
more than the cap (without a Content-Length, so the client must count) and
records how much it could send before the client hung up.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_code_oauth.net.http_client import MAX_MODELS_PAGE, MAX_SMALL_BODY
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from helpers.cli import one_error_line, run_cli
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.subprocess

#: What loopback socket buffers can absorb after the client stopped reading.
BUFFERS = 16 << 20


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy) -> dict[str, str]:
    return proxy.env(client_env)


def sent(proxy: HostileProxy, path: str) -> int:
    (exchange,) = proxy.requests_to(path)
    assert exchange.finished.wait(30)
    return exchange.body_bytes_sent


def test_a_token_answer_over_1_mib_is_refused_and_not_read_on(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    canned = b'{"access_token": "never-used", "expires_in": 3600}'
    proxy.add_rule("/v1/oauth/token", forward=False, body=canned, pad_to=64 << 20)
    done = run_cli(env, "token")
    assert done.returncode == 1
    assert "larger than 1024 KiB" in one_error_line(done.stderr)
    assert sent(proxy, "/v1/oauth/token") < MAX_SMALL_BODY + BUFFERS
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)


def test_a_profile_answer_over_1_mib_fails_the_server_check_in_one_line(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/api/oauth/profile", pad_to=64 << 20)
    done = run_cli(env, "status", "--verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("Server check")]
    assert "failed" in line and "larger than 1024 KiB" in line
    assert sent(proxy, "/api/oauth/profile") < MAX_SMALL_BODY + BUFFERS


def test_a_models_page_over_16_mib_is_refused_and_not_read_on(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/v1/models", pad_to=256 << 20)
    done = run_cli(env, "models", "--refresh")
    assert done.returncode == 1
    assert "larger than 16384 KiB" in one_error_line(done.stderr)
    assert sent(proxy, "/v1/models") < MAX_MODELS_PAGE + BUFFERS


def test_a_models_page_just_under_16_mib_is_read(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/v1/models", pad_to=MAX_MODELS_PAGE - 4096)
    done = run_cli(env, "models", "--refresh")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Registered" in done.stdout


def test_a_usage_answer_over_1_mib_is_refused_and_not_read_on(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule("/api/oauth/usage", pad_to=64 << 20)
    done = run_cli(env, "usage", "--refresh")
    assert "Traceback" not in done.stderr and "larger than 1024 KiB" in done.stderr
    assert sent(proxy, "/api/oauth/usage") < MAX_SMALL_BODY + BUFFERS
