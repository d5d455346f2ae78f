"""The code exchange and refresh over real HTTP: body, headers, no retry, every bad answer."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import (
    AccountOnHold,
    InvalidGrant,
    LoginRequired,
    NetworkError,
    OAuthErrorResponse,
    RateLimited,
    ServerError,
    SessionStale,
    TokenEndpointError,
    UnexpectedResponse,
)
from claude_code_oauth.login import pkce
from claude_code_oauth.testing.emulator.control import ClaudeEmulator, RecordedRequest
from claude_code_oauth.tokens.endpoint import HOLD_URI, MOVED_HINT, exchange_code, refresh
from helpers.tokens import assert_same_secret

EXCHANGE_KEYS = {"grant_type", "code", "redirect_uri", "client_id", "code_verifier", "state"}


class Grant:
    """An authorization code obtained from the emulator for our own verifier and state."""

    def __init__(self, emulator: ClaudeEmulator, redirect_uri: str = "http://localhost:1/cb"):
        self.verifier = pkce.new_verifier()
        self.state = pkce.new_state()
        self.redirect_uri = redirect_uri
        query = urlencode(
            {
                "code": "true",
                "client_id": emulator.client_id,
                "response_type": "code",
                "redirect_uri": redirect_uri,
                "scope": "user:inference",
                "code_challenge": pkce.s256_challenge(self.verifier),
                "code_challenge_method": "S256",
                "state": self.state,
            }
        )
        emulator.auto_approve = True
        with httpx.Client(trust_env=False) as client:
            answer = client.get(f"{emulator.base_url}/oauth/authorize?{query}")
        emulator.auto_approve = False
        assert answer.status_code == 302
        self.code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]

    def exchange(self, settings: Settings, **changes: str) -> dict[str, Any]:
        params = {
            "code": self.code,
            "verifier": self.verifier,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            **changes,
        }
        return exchange_code(settings, **params)

    def absent_from(self, text: str) -> bool:
        return self.code not in text and self.verifier not in text


def token_requests(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/oauth/token"]


def with_env(emulator: ClaudeEmulator, tmp_path: Path, **env: str) -> Settings:
    return Settings(environ={"HOME": str(tmp_path), **emulator.env(), **env})


# -- the request -----------------------------------------------------------------------


def test_exchange_posts_json_with_our_user_agent(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    grant = Grant(emulator)
    body = grant.exchange(settings)
    shaped = body["access_token"].startswith("sk-ant-oat01-")
    assert shaped, "no access token in the answer"
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    (sent,) = token_requests(emulator)
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"] == USER_AGENT
    assert sent.headers["accept"] == "application/json"
    assert set(sent.json) == EXCHANGE_KEYS
    assert sent.json["grant_type"] == "authorization_code"
    assert sent.json["redirect_uri"] == grant.redirect_uri
    assert sent.json["client_id"] == settings.client_id
    assert sent.json["state"] == grant.state
    assert_same_secret(sent.json["code"], grant.code, "the code sent")
    assert_same_secret(sent.json["code_verifier"], grant.verifier, "the verifier sent")
    assert emulator.grants["authorization_code"] == 1


def test_refresh_posts_json_with_only_the_refresh_fields(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    login = emulator.issue_login()
    body = refresh(settings, login["refresh_token"])
    rotated = body["refresh_token"] != login["refresh_token"]
    assert rotated, "the refresh token did not rotate"
    (sent,) = token_requests(emulator)
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"] == USER_AGENT
    exact = sent.json == {
        "grant_type": "refresh_token",
        "refresh_token": login["refresh_token"],
        "client_id": settings.client_id,
    }
    assert exact, f"unexpected refresh body fields: {sorted(sent.json)}"


# -- bad answers: one line, the cause named, exactly one request ---------------------------------


@pytest.mark.parametrize(
    ("fault", "params", "error", "fragments"),
    [
        (
            "html403",
            {},
            UnexpectedResponse,
            ["HTTP 403", "Just a moment...", "Cloudflare", "moved", "CLAUDE_CODE_OAUTH_TOKEN_URL"],
        ),
        ("404", {}, UnexpectedResponse, ["HTTP 404", "moved", "CLAUDE_CODE_OAUTH_TOKEN_URL"]),
        ("404_html", {}, UnexpectedResponse, ["HTTP 404", "moved", "CLAUDE_CODE_OAUTH_TOKEN_URL"]),
        ("502_html", {}, ServerError, ["HTTP 502", "HTML page", "502 Bad Gateway"]),
        ("invalid_json", {}, UnexpectedResponse, ["HTTP 200", "not valid JSON"]),
        ("500", {}, ServerError, ["HTTP 500", "api_error", "Internal server error"]),
        ("429", {"retry_after": 30}, RateLimited, ["HTTP 429", "Retry after 30 s"]),
        ("429", {}, RateLimited, ["HTTP 429", "rate limiting"]),
    ],
)
def test_each_bad_answer_is_one_named_line_and_never_retried(
    emulator: ClaudeEmulator,
    settings: Settings,
    fault: str,
    params: dict[str, Any],
    error: type[Exception],
    fragments: list[str],
) -> None:
    grant = Grant(emulator)
    emulator.inject("token", fault, **params)
    with pytest.raises(error) as info:
        grant.exchange(settings)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"The token endpoint ({urlsplit(settings.token_url).netloc})")
    for fragment in fragments:
        assert fragment in message
    clean = grant.absent_from(message)
    assert clean, "the message repeats the code or the verifier"
    assert len(token_requests(emulator)) == 1
    if fault == "429":
        assert info.value.retry_after == params.get("retry_after")


def test_an_answer_slower_than_http_timeout(emulator: ClaudeEmulator, tmp_path: Path) -> None:
    grant = Grant(emulator)
    emulator.inject("token", "slow", delay=1.5)
    fast = with_env(emulator, tmp_path, CLAUDE_CODE_OAUTH_HTTP_TIMEOUT="0.3")
    with pytest.raises(NetworkError) as info:
        grant.exchange(fast)
    assert info.value.reason.startswith(
        f"The token endpoint ({urlsplit(fast.token_url).netloc}) did not answer within 0.3 s"
    )
    assert len(token_requests(emulator)) == 1


def test_a_refresh_given_its_own_timeout_ends_within_it(
    emulator: ClaudeEmulator, tmp_path: Path
) -> None:
    # The second call of a refresh (after invalid_scope) must end within the first one's
    # http_timeout: its own, shorter deadline wins over the setting.
    login = emulator.issue_login()
    emulator.inject("token", "slow", delay=3)
    patient = with_env(emulator, tmp_path, CLAUDE_CODE_OAUTH_HTTP_TIMEOUT="30")
    with pytest.raises(NetworkError) as info:
        refresh(patient, login["refresh_token"], timeout=0.3)
    assert info.value.reason.startswith(
        f"The token endpoint ({urlsplit(patient.token_url).netloc}) did not answer within 0.3 s"
    )


def test_a_used_code_is_invalid_grant(emulator: ClaudeEmulator, settings: Settings) -> None:
    grant = Grant(emulator)
    grant.exchange(settings)
    with pytest.raises(InvalidGrant) as info:
        grant.exchange(settings)
    assert info.value.error == "invalid_grant" and info.value.status == 400
    assert "refused the request: invalid_grant (Authorization code has already been used)" in str(
        info.value
    )
    clean = grant.absent_from(str(info.value))
    assert clean, "the message repeats the code or the verifier"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"verifier": pkce.new_verifier()}, "Invalid code_verifier"),
        ({"state": pkce.new_state()}, "Invalid state"),
        ({"redirect_uri": "http://localhost:2/cb"}, "redirect_uri does not match"),
    ],
)
def test_a_mismatch_is_invalid_grant(
    emulator: ClaudeEmulator, settings: Settings, change: dict[str, str], reason: str
) -> None:
    grant = Grant(emulator)
    with pytest.raises(InvalidGrant, match=reason):
        grant.exchange(settings, **change)


def test_refused_connection_is_a_network_error(emulator: ClaudeEmulator, tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nobody listens there
    closed = with_env(
        emulator, tmp_path, CLAUDE_CODE_OAUTH_TOKEN_URL=f"http://127.0.0.1:{port}/token"
    )
    with pytest.raises(NetworkError) as info:
        exchange_code(closed, code="c" * 20, verifier="v" * 43, redirect_uri="x", state="s")
    assert str(info.value) == (
        f"Could not reach the token endpoint (127.0.0.1:{port}): ConnectError. Check your "
        "connection, proxy settings and CLAUDE_CODE_OAUTH_TOKEN_URL."
    )


# -- a generic JSON token endpoint with canned answers ---------------------------------------------


class Canned:
    """A loopback server answering each request with the next canned response."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.received: list[tuple[str, str, bytes]] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                canned.received.append((self.path, self.headers.get("Content-Type", ""), body))
                status, headers, payload = canned.answers.pop(0)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth/token"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


@pytest.fixture
def canned(tmp_path: Path) -> Iterator[tuple[Canned, Settings]]:
    server = Canned()
    env = {"HOME": str(tmp_path), "CLAUDE_CODE_OAUTH_TOKEN_URL": server.url}
    yield server, Settings(environ=env)
    server.server.shutdown()
    server.server.server_close()


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("answer", "error", "fragments"),
    [
        (
            (
                400,
                JSON,
                b'{"type":"error","error":{"type":"invalid_request_error",'
                b'"message":"Invalid request format"}}',
            ),
            OAuthErrorResponse,
            ["invalid_request_error", "Invalid request format"],
        ),
        (
            (400, JSON, b'{"error":"invalid_grant","error_description":"bad\\ncode"}'),
            InvalidGrant,
            ["invalid_grant (bad code)"],
        ),
        ((401, {}, b""), TokenEndpointError, ["HTTP 401 without an error message"]),
        ((200, JSON, b"[1, 2]"), UnexpectedResponse, ["not an object"]),
        ((307, {"Location": "/elsewhere"}, b""), UnexpectedResponse, ["redirect (HTTP 307)"]),
        ((503, {"Content-Type": "text/plain"}, b"down"), ServerError, ["HTTP 503"]),
    ],
)
def test_other_answers_of_a_generic_endpoint(
    canned: tuple[Canned, Settings],
    answer: tuple[int, dict[str, str], bytes],
    error: type[Exception],
    fragments: list[str],
) -> None:
    server, settings = canned
    server.answers.append(answer)
    with pytest.raises(error) as info:
        exchange_code(settings, code="c" * 20, verifier="v" * 43, redirect_uri="r", state="s")
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message
    assert len(server.received) == 1  # no retry, no redirect followed
    path, content_type, body = server.received[0]
    assert path == "/oauth/token" and content_type == "application/json"
    assert set(json.loads(body)) == EXCHANGE_KEYS


def test_a_generic_endpoint_success(canned: tuple[Canned, Settings]) -> None:
    server, settings = canned
    server.answers.append((200, JSON, b'{"access_token": "at", "token_type": "bearer"}'))
    body = exchange_code(settings, code="c", verifier="v" * 43, redirect_uri="r", state="s")
    assert body == {"access_token": "at", "token_type": "bearer"}


def test_a_refresh_token_or_code_echoed_by_the_server_never_reaches_the_message(
    canned: tuple[Canned, Settings],
) -> None:
    server, settings = canned
    refresh_secret = "refresh-secret-value-0123456789"
    code_secret = "code-secret-value-0123456789"
    verifier = "v" * 43
    server.answers.append(
        (
            400,
            JSON,
            json.dumps({"error": "invalid_grant", "error_description": refresh_secret}).encode(),
        )
    )
    with pytest.raises(InvalidGrant) as info:
        refresh(settings, refresh_secret)
    assert refresh_secret not in str(info.value) and "[token]" in str(info.value)
    echoed = f"<html><title>bad {code_secret} {verifier}</title></html>".encode()
    server.answers.append((403, {"Content-Type": "text/html"}, echoed))
    with pytest.raises(UnexpectedResponse) as info:
        exchange_code(settings, code=code_secret, verifier=verifier, redirect_uri="r", state="s")
    assert code_secret not in str(info.value) and verifier not in str(info.value)


def test_a_2xx_answer_without_an_access_token_is_returned_for_the_caller_to_judge(
    canned: tuple[Canned, Settings],
) -> None:
    # The provider must see it: such an answer may carry a rotated refresh token.
    server, settings = canned
    server.answers.append((200, JSON, b'{"refresh_token": "rotated-refresh-value"}'))
    assert refresh(settings, "old-refresh-value") == {"refresh_token": "rotated-refresh-value"}


# -- the refusals Claude Code names: an account on hold, a stale session --------------------

EMAIL = "emulated.user@example.com"


def _hold_line(host: str, status: int, uri: str) -> str:
    return (
        f"Your Claude account is on hold: the token endpoint ({host}) answered "
        f"account_on_hold (HTTP {status}). See {uri} for why, and to appeal. No refresh "
        "helps until Anthropic lifts the hold; then sign in again."
    )


@pytest.mark.parametrize(
    ("error_uri", "shown"),
    [
        (HOLD_URI, HOLD_URI),
        ("https://claude.ai/restricted?ref=TS-1", "https://claude.ai/restricted?ref=TS-1"),
        # Someone else's address is never shown: the default instead.
        ("https://claude.ai.example.net/appeal", HOLD_URI),
    ],
)
def test_an_account_on_hold_is_its_own_error_naming_where_to_look(
    emulator: ClaudeEmulator, settings: Settings, error_uri: str, shown: str
) -> None:
    login = emulator.issue_login()
    emulator.hold_account(EMAIL, error_uri)
    with pytest.raises(AccountOnHold) as info:
        refresh(settings, login["refresh_token"])
    held = info.value
    assert str(held) == _hold_line(urlsplit(settings.token_url).netloc, 400, shown)
    assert (held.uri, held.error, held.status) == (shown, "invalid_grant", 400)
    assert isinstance(held, LoginRequired)  # a dead login to every caller, not a retry
    assert len(token_requests(emulator)) == 1


def test_an_account_on_hold_without_an_address_points_to_claudes_page(
    canned: tuple[Canned, Settings],
) -> None:
    # Claude Code's other form: 401 access_denied, and no error_uri at all.
    server, settings = canned
    server.answers.append(
        (401, JSON, b'{"error": "access_denied", "error_description": "account_on_hold"}')
    )
    with pytest.raises(AccountOnHold) as info:
        refresh(settings, "refresh-token-of-a-held-account")
    held = info.value
    assert str(held) == _hold_line(urlsplit(server.url).netloc, 401, HOLD_URI)
    assert (held.uri, held.error, held.status) == (HOLD_URI, "access_denied", 401)


def _stale_line(host: str) -> str:
    return (
        f"The token endpoint ({host}) answered session_stale_relogin (HTTP 403): the "
        "session is stale and needs a new sign-in."
    )


def test_a_stale_session_is_its_own_error(emulator: ClaudeEmulator, settings: Settings) -> None:
    login = emulator.issue_login()
    emulator.inject("token", "session_stale_relogin")
    with pytest.raises(SessionStale) as info:
        refresh(settings, login["refresh_token"])
    stale = info.value
    assert str(stale) == _stale_line(urlsplit(settings.token_url).netloc)
    assert (stale.error, stale.status) == ("session_stale_relogin", 403)


ENVELOPE = {"type": "error", "error": {"type": "permission_error", "message": "Sign in again."}}


@pytest.mark.parametrize(
    "answer",
    [
        {"error": "session_stale_relogin"},
        {"error": "invalid_grant", "error_description": "session_stale_relogin"},
        {"type": "error", "error": {"type": "session_stale_relogin", "message": "Stale."}},
        {
            "type": "error",
            "error": {
                "type": "permission_error",
                "message": "Stale.",
                "details": {"error_code": "session_stale_relogin"},
            },
        },
        {**ENVELOPE, "error_description": "session_stale_relogin"},
    ],
    ids=["oauth-error", "oauth-description", "envelope-type", "envelope-code", "beside-envelope"],
)
def test_a_stale_session_is_recognised_wherever_a_403_names_it(
    canned: tuple[Canned, Settings], answer: dict[str, Any]
) -> None:
    server, settings = canned
    server.answers.append((403, JSON, json.dumps(answer).encode()))
    with pytest.raises(SessionStale) as info:
        refresh(settings, "refresh-token-of-a-stale-session")
    assert str(info.value) == _stale_line(urlsplit(server.url).netloc)


def test_session_stale_relogin_counts_only_in_a_403(canned: tuple[Canned, Settings]) -> None:
    # As Claude Code reads it: in a 401 it is an ordinary refusal, not a stale session.
    server, settings = canned
    server.answers.append((401, JSON, b'{"error": "session_stale_relogin"}'))
    with pytest.raises(OAuthErrorResponse) as info:
        refresh(settings, "refresh-token-of-a-401")
    assert not isinstance(info.value, SessionStale)
    assert str(info.value) == (
        f"The token endpoint ({urlsplit(server.url).netloc}) refused the request: "
        "session_stale_relogin."
    )


def test_a_refusal_whose_json_is_not_an_object_is_one_clear_line(
    canned: tuple[Canned, Settings],
) -> None:
    server, settings = canned
    server.answers.append((400, JSON, b'["account_on_hold", "session_stale_relogin"]'))
    with pytest.raises(TokenEndpointError) as info:
        refresh(settings, "refresh-token-of-a-list-answer")
    assert str(info.value) == (
        f"The token endpoint ({urlsplit(server.url).netloc}) answered HTTP 400 without an "
        "error message."
    )


# -- the lines that say the endpoint has moved, word for word ------------------------------


@pytest.mark.parametrize(
    ("answer", "line"),
    [
        (
            (300, {"Location": "/elsewhere"}, b""),
            "{what} answered with a redirect (HTTP 300); the token URL is probably outdated."
            " Set CLAUDE_CODE_OAUTH_TOKEN_URL to the current endpoint.",
        ),
        (
            (410, JSON, b'{"error": "gone"}'),
            "{what} answered HTTP 410 (not found): it has probably moved. " + MOVED_HINT,
        ),
        (
            (200, {"Content-Type": "text/html"}, b"<html><title>Sign in</title></html>"),
            '{what} answered HTTP 200 with an HTML page "Sign in" instead of JSON; the endpoint '
            "URL may be wrong or a proxy is in the way. The endpoint has probably moved. "
            + MOVED_HINT,
        ),
        # Not a web page: no word of a move.
        (
            (200, JSON, b'{"access_token": "at", "truncat'),
            "{what} answered HTTP 200 with a body that is not valid JSON.",
        ),
    ],
    ids=["300", "410", "html-200", "bad-json-200"],
)
def test_the_endpoint_that_has_probably_moved_is_said_so_word_for_word(
    canned: tuple[Canned, Settings], answer: tuple[int, dict[str, str], bytes], line: str
) -> None:
    server, settings = canned
    server.answers.append(answer)
    with pytest.raises(UnexpectedResponse) as info:
        refresh(settings, "refresh-token-of-a-moved-endpoint")
    what = f"The token endpoint ({urlsplit(server.url).netloc})"
    assert str(info.value) == line.format(what=what)
