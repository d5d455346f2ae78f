"""``claude-code-oauth logout`` revokes the login at Claude's token endpoint, as Claude Code's
logout does (CONTEXT §2c), then removes the file whatever the answer, and says in one
line whether Anthropic confirmed it."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from helpers.cli import run_cli
from helpers.tokens import digest, seed

pytestmark = pytest.mark.subprocess

REVOKE = "/v1/oauth/token/revoke"
WORK = "work@example.com"


def _revoke_requests(emulator: ClaudeEmulator) -> list:
    return [r for r in emulator.requests if r.path == REVOKE]


def _leaks(done: subprocess.CompletedProcess[str], *secrets: str | None) -> bool:
    return any(s and s in done.stdout + done.stderr for s in secrets)


def _warning(done: subprocess.CompletedProcess[str]) -> str:
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    return line


def test_logout_revokes_the_login_so_no_copy_keeps_working(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    done = run_cli(client_env, "logout")
    assert done.returncode == 0, done.stderr
    host = emulator.base_url.removeprefix("http://")
    assert (
        f"Anthropic confirmed the revocation ({host}): this login's tokens no longer work anywhere."
    ) in done.stdout.splitlines()
    assert not token_path.exists() and not _leaks(done, record.access_token, record.refresh_token)
    # What was posted: Claude Code's revoke body, with our own User-Agent.
    (sent,) = _revoke_requests(emulator)
    assert set(sent.json) == {"token", "token_type_hint", "client_id"}
    assert sent.json["token_type_hint"] == "refresh_token"
    assert sent.json["client_id"] == emulator.client_id
    assert digest(sent.json["token"]) == digest(record.refresh_token)
    assert sent.headers["user-agent"] == USER_AGENT
    (revoked,) = emulator.revocations
    assert revoked.kind == "refresh_token" and revoked.token == digest(record.refresh_token)
    # A copy of the tokens is worth nothing now.
    with httpx.Client(base_url=emulator.base_url, trust_env=False, timeout=10) as client:
        body = {
            "grant_type": "refresh_token",
            "refresh_token": record.refresh_token,
            "client_id": emulator.client_id,
        }
        assert client.post("/v1/oauth/token", json=body).json()["error"] == "invalid_grant"
        headers = {
            "authorization": f"Bearer {record.access_token}",
            "anthropic-beta": "oauth-2025-04-20",
        }
        assert client.get("/v1/models", headers=headers).status_code == 403
    # Nothing is stored any more, so a second logout posts nothing.
    again = run_cli(client_env, "logout")
    assert again.returncode == 0 and "No tokens were stored." in again.stdout
    assert len(_revoke_requests(emulator)) == 1 and "Anthropic" not in again.stdout


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("500", "Anthropic refused to revoke the login ({host} answered HTTP 500 api_error: "),
        ("html403", "Anthropic refused to revoke the login ({host} answered HTTP 403 with an HTML"),
        ("404", "Anthropic refused to revoke the login ({host} answered HTTP 404 not_found_error"),
    ],
)
def test_a_refused_revocation_still_removes_the_login_and_says_so(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    fault: str,
    expected: str,
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    emulator.inject("token_revoke", fault)
    done = run_cli(client_env, "logout")
    assert done.returncode == 0, done.stderr
    assert not token_path.exists()
    host = emulator.base_url.removeprefix("http://")
    line = _warning(done)
    assert line.startswith("warning: " + expected.format(host=host)), line
    assert (
        "a copy of the refresh token would keep working until the login ends (in 29d 23h)" in line
    )
    assert emulator.revocations == [] and not _leaks(done, record.refresh_token)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_token_endpoint_is_said_and_the_login_removed(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    port = _closed_port()
    env = {**client_env, "CLAUDE_CODE_OAUTH_TOKEN_URL": f"http://127.0.0.1:{port}/v1/oauth/token"}
    done = run_cli(env, "logout")
    assert done.returncode == 0, done.stderr
    assert not token_path.exists()
    assert _warning(done).startswith(
        f"warning: Could not reach Anthropic to revoke the login (127.0.0.1:{port}: ConnectError)"
    )


def test_a_revocation_gets_its_own_short_deadline(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, proxy: HostileProxy
) -> None:
    """Best effort: an endpoint that never finishes answering costs at most the revoke's
    own deadline (5 s, or http_timeout when shorter), then the login is removed."""
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule(REVOKE, forward=False, status=200, body=b"{}", trickle=60.0, trickle_head=True)
    env = {**proxy.env(client_env), "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "1"}
    done = run_cli(env, "logout")
    assert done.returncode == 0, done.stderr
    assert not token_path.exists()
    host = proxy.base_url.removeprefix("http://")
    assert _warning(done).startswith(
        f"warning: Could not reach Anthropic to revoke the login ({host}: no answer within 1 s)"
    )


def test_a_2xx_that_is_not_anthropics_is_not_a_confirmation(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, proxy: HostileProxy
) -> None:
    """Claude Code counts a revoke answered 2xx without Anthropic's request-id (a proxy, a
    captive portal) as unconfirmed, and so does this."""
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule(REVOKE, forward=False, status=200, body=b"{}")
    done = run_cli(proxy.env(client_env), "logout")
    assert done.returncode == 0 and not token_path.exists()
    assert "HTTP 200 without Anthropic's request-id" in _warning(done)
    assert emulator.revocations == []


def test_logout_of_a_profile_revokes_only_that_login(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    emulator.add_account(WORK)
    settings = Settings(environ=client_env)
    default = seed(emulator, settings.with_profile("default").token_path, expires_in=3600)
    work = seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    done = run_cli(client_env, "logout", "--profile", "work")
    assert done.returncode == 0, done.stderr
    assert "Anthropic confirmed the revocation" in done.stdout
    (revoked,) = emulator.revocations
    assert revoked.token == digest(work.refresh_token) != digest(default.refresh_token)
    token = run_cli(client_env, "token")
    assert token.returncode == 0 and emulator.account_for_token(token.stdout.strip()) != WORK


def test_a_token_url_the_settings_refuse_still_lets_logout_remove_the_login(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    env = {**client_env, "CLAUDE_CODE_OAUTH_TOKEN_URL": "http://platform.example/v1/oauth/token"}
    done = run_cli(env, "logout")
    assert done.returncode == 0, done.stderr
    assert not token_path.exists() and _revoke_requests(emulator) == []
    line = _warning(done)
    assert line.startswith("warning: Could not reach Anthropic to revoke the login (token_url: ")
    assert "CLAUDE_CODE_OAUTH_TOKEN_URL" in line


def test_logout_of_a_keyring_sign_in_revokes_it_and_removes_its_item(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    keyring_env: dict[str, str],
    secret_service: SecretServiceStore,
) -> None:
    """The default profile's item: the private keyring belongs to this test session and
    no other test here writes that item."""
    env = {**client_env, "DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"]}
    record = seed(emulator, token_path, expires_in=3600)
    moved = token_store.load(str(token_path))
    assert moved is not None
    stores = StoreOpener(environ=env)
    token_store.save(
        str(token_path), moved, secrets=KeyringTarget("secret-service", "default"), stores=stores
    )
    assert "secrets" in token_path.read_text()
    done = run_cli(env, "logout")
    assert done.returncode == 0, done.stderr
    assert not _leaks(done, record.access_token, record.refresh_token)
    assert "Anthropic confirmed the revocation" in done.stdout
    (revoked,) = emulator.revocations
    assert revoked.token == digest(record.refresh_token)
    assert secret_service.get("default") is None
    assert not token_path.exists()
