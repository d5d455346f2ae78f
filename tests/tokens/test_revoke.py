"""Revoking a login at the token endpoint, in this process: what is posted, and the one
line each outcome gives (the logout command around it: tests/cli/test_cli_logout.py)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.revoke import (
    CONFIRMED,
    REFUSED,
    UNREACHABLE,
    Revocation,
    revoke_login,
    revoke_url,
)
from helpers.tokens import settings_for

NOW = 1_790_000_000.0


@pytest.fixture
def settings(emulator: ClaudeEmulator, client_env: dict[str, str]) -> Settings:
    return settings_for(client_env)


def _host(emulator: ClaudeEmulator) -> str:
    return emulator.base_url.removeprefix("http://")


def test_a_revocation_posts_the_refresh_token_and_is_confirmed(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    login = emulator.issue_login()
    outcome = revoke_login(settings, login["refresh_token"])
    assert outcome == Revocation(CONFIRMED, _host(emulator))
    assert outcome.confirmed
    (request,) = [r for r in emulator.requests if r.path.endswith("/revoke")]
    assert request.method == "POST"
    assert request.json == {
        "token": login["refresh_token"],
        "token_type_hint": "refresh_token",
        "client_id": settings.client_id,
    }
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("claude-code-oauth/")
    (revoked,) = emulator.revocations
    assert revoked.kind == "refresh_token" and revoked.hint == "refresh_token"
    assert outcome.line(None) == (
        f"Anthropic confirmed the revocation ({_host(emulator)}): this login's tokens no "
        "longer work anywhere."
    )


def test_the_revoke_address_follows_the_token_endpoint() -> None:
    def url(token_url: str) -> str:
        return revoke_url(Settings({"token_url": token_url}, environ={}))

    assert (
        url("https://example.test/v1/oauth/token") == "https://example.test/v1/oauth/token/revoke"
    )
    assert url("https://example.test/v1/oauth/token/?a=1") == (
        "https://example.test/v1/oauth/token/revoke?a=1"
    )


@pytest.mark.parametrize(
    ("fault", "detail"),
    [
        ("500", "HTTP 500 api_error: "),
        ("html403", "HTTP 403 with an HTML page"),
        ("404", "HTTP 404 not_found_error"),
    ],
)
def test_a_refusal_says_what_came_back(
    emulator: ClaudeEmulator, settings: Settings, fault: str, detail: str
) -> None:
    emulator.inject("token_revoke", fault)
    login = emulator.issue_login()
    outcome = revoke_login(settings, login["refresh_token"])
    assert outcome.outcome == REFUSED and outcome.host == _host(emulator)
    assert outcome.detail.startswith(detail)
    assert login["refresh_token"] not in outcome.detail
    assert outcome.line(NOW + 2 * 86400, NOW) == (
        f"Anthropic refused to revoke the login ({_host(emulator)} answered {outcome.detail}); "
        "the tokens are gone from this machine, but a copy of the refresh token would keep "
        "working until the login ends (in 2d 0h)."
    )


@pytest.fixture
def bare_ok() -> Iterator[str]:
    """A server that answers 200 without Anthropic's request-id (a proxy, a portal)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    server.close()


def test_a_2xx_without_request_id_is_not_anthropic(bare_ok: str) -> None:
    settings = Settings({"token_url": f"http://{bare_ok}/v1/oauth/token"}, environ={})
    outcome = revoke_login(settings, "refresh-token-for-the-revoke-test")
    assert outcome == Revocation(
        REFUSED, bare_ok, "HTTP 200 without Anthropic's request-id, so not from Anthropic"
    )


def test_no_answer_within_the_deadline_is_unreachable(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    settings = settings_for(client_env, http_timeout=0.5)
    emulator.inject("token_revoke", "slow", delay=5)
    outcome = revoke_login(settings, emulator.issue_login()["refresh_token"])
    assert outcome == Revocation(UNREACHABLE, _host(emulator), "no answer within 0.5 s")
    assert outcome.line(None) == (
        f"Could not reach Anthropic to revoke the login ({_host(emulator)}: no answer within "
        "0.5 s); the tokens are gone from this machine, but a copy of the refresh token would "
        "keep working until the login ends."
    )


def test_a_host_nobody_answers_and_settings_that_cannot_be_used() -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    refused = Settings({"token_url": f"http://127.0.0.1:{port}/t"}, environ={})
    assert revoke_login(refused, "r" * 20) == Revocation(
        UNREACHABLE, f"127.0.0.1:{port}", "ConnectError"
    )
    # A host name the resolver refuses: its kind, not the message around it.
    idna = Settings({"token_url": "https://xn--/t"}, environ={})
    assert revoke_login(idna, "r" * 20) == Revocation(UNREACHABLE, "xn--", "IDNAError")
    nonsense = Settings({"token_url": "not a url"}, environ={})
    assert revoke_login(nonsense, "r" * 20) == Revocation(
        UNREACHABLE,
        "token_url",
        "Invalid configuration token_url (from override): 'not a url' must be an absolute "
        "https:// URL",
    )
