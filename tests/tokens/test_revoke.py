"""Revoking a login at the token endpoint, in this process: what is posted, and the one
line each outcome gives (the logout command around it: tests/cli/test_cli_logout.py)."""

from __future__ import annotations

import socket
import threading
import time
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
    # The path as it is, whatever it ends with (only a trailing slash goes).
    assert url("https://example.test/oauth/X") == "https://example.test/oauth/X/revoke"


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


class RawServer:
    """A loopback server that answers every request with ``answer`` (raw HTTP bytes)."""

    def __init__(self) -> None:
        self.answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.host = f"127.0.0.1:{self._socket.getsockname()[1]}"
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                conn.sendall(self.answer)

    def settings(self) -> Settings:
        return Settings({"token_url": f"http://{self.host}/v1/oauth/token"}, environ={})

    def close(self) -> None:
        self._stop.set()
        self._socket.close()


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


def _answer(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def test_a_2xx_without_request_id_is_not_anthropic(raw_server: RawServer) -> None:
    outcome = revoke_login(raw_server.settings(), "refresh-token-for-the-revoke-test")
    assert outcome == Revocation(
        REFUSED, raw_server.host, "HTTP 200 without Anthropic's request-id, so not from Anthropic"
    )


def test_only_a_2xx_confirms_even_with_anthropics_request_id(raw_server: RawServer) -> None:
    raw_server.answer = _answer("300 Multiple Choices", b"", "request-id: req_011", "Location: /x")
    outcome = revoke_login(raw_server.settings(), "refresh-token-for-the-revoke-test")
    assert outcome == Revocation(REFUSED, raw_server.host, "HTTP 300")


def test_a_refusal_that_echoes_the_refresh_token_never_shows_it(raw_server: RawServer) -> None:
    token = "refresh-token-echoed-by-the-server-0123456789"
    body = b'{"error": "invalid_request", "error_description": "bad token ' + token.encode()
    raw_server.answer = _answer(
        "400 Bad Request", body + b'"}', "Content-Type: application/json", "request-id: req_012"
    )
    outcome = revoke_login(raw_server.settings(), token)
    assert outcome == Revocation(
        REFUSED, raw_server.host, "HTTP 400 invalid_request: bad token [token]"
    )


def test_an_oversized_answer_is_a_refusal_never_read(raw_server: RawServer) -> None:
    # Declared larger than any answer of the revoke endpoint: refused before reading it.
    raw_server.answer = (
        b"HTTP/1.1 200 OK\r\nrequest-id: req_013\r\nContent-Length: 99999999\r\n\r\n"
    )
    outcome = revoke_login(raw_server.settings(), "refresh-token-for-the-revoke-test")
    assert outcome == Revocation(REFUSED, raw_server.host, "more than 1024 KiB, not read")
    # The line names the host once and reads as a sentence.
    assert outcome.line(None).startswith(
        f"Anthropic refused to revoke the login ({raw_server.host} answered more than "
        "1024 KiB, not read); the tokens are gone from this machine"
    )


def test_the_line_counts_down_from_now_when_no_time_is_given() -> None:
    # As the logout command calls it: the login's end, and the clock read inside.
    refused = Revocation(REFUSED, "example.test", "HTTP 500")
    line = refused.line(time.time() + 2 * 86400 + 1800)
    assert line.endswith("would keep working until the login ends (in 2d 0h).")


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
