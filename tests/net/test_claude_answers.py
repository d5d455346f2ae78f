"""Every answer Claude gives, through the library API: OAuthBearerAuth + raise_for_answer.

Each test lets the emulator give one of Claude's late-2026 answers to a real
httpx request authenticated by the real token provider, then checks the named
one-line error, how many requests and refreshes happened, and that nothing on
disk changed except the needs-renewal mark of a revoked login.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_code_oauth.errors import (
    ApiUnavailable,
    ApiUnexpectedAnswer,
    ClaudeApiError,
    LoginRequired,
    LoginRevoked,
    PermissionRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
    UsageLimitReached,
)
from claude_code_oauth.net import claude_answers
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.testing.emulator import refusals
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy, ProxiedRequest
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import seed, settings_for, stored, token_requests

MODEL = "claude-haiku-4-5-20251001"
BODY = {"model": MODEL, "max_tokens": 4, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def token_file(emulator: ClaudeEmulator, data_dir: Path) -> Path:
    path = data_dir / "claude_code_oauth.json"
    seed(emulator, path, expires_in=3600)
    return path


@pytest.fixture
def provider(token_file: Path, client_env: dict[str, str]) -> TokenProvider:
    return TokenProvider(settings_for(client_env))


def call(emulator: ClaudeEmulator, provider: TokenProvider, endpoint: str) -> httpx.Response:
    auth = OAuthBearerAuth(provider, provider.settings)
    with httpx.Client(auth=auth, timeout=20) as client:
        if endpoint == "messages":
            return client.post(emulator.base_url + "/v1/messages", json=BODY)
        return client.get(emulator.base_url + "/v1/models")


def refused(emulator: ClaudeEmulator, provider: TokenProvider, endpoint: str) -> ClaudeApiError:
    response = call(emulator, provider, endpoint)
    with pytest.raises(ClaudeApiError) as caught:
        claude_answers.raise_for_answer(response)
    return caught.value


def api_requests(emulator: ClaudeEmulator, endpoint: str) -> int:
    path = "/v1/messages" if endpoint == "messages" else "/v1/models"
    return sum(1 for r in emulator.requests if r.path == path)


def host(emulator: ClaudeEmulator) -> str:
    return emulator.base_url.removeprefix("http://")


def assert_one_clean_line(error: Exception, emulator: ClaudeEmulator) -> str:
    line = str(error)
    assert "\n" not in line and host(emulator) in line
    assert "sk-ant-" not in line, "a token-shaped string is in the message"
    return line


CASES: list[tuple[str, dict[str, Any], type[ClaudeApiError], list[str]]] = [
    (
        "400_third_party",
        {},
        ThirdPartyRefused,
        ["refused this sign-in for use outside Claude Code", "Anthropic's policy", "API key"],
    ),
    ("400_request", {}, RequestRejected, ["HTTP 400 invalid_request_error", "non-empty"]),
    ("429", {"retry_after": 0}, RequestRejected, ["(HTTP 429, not a usage limit)"]),
    ("529", {}, ApiUnavailable, ["is overloaded", "HTTP 529"]),
    ("500", {}, ApiUnavailable, ["failed", "HTTP 500 api_error"]),
    ("html403", {}, ApiUnexpectedAnswer, ["HTML page", "Cloudflare", "API_BASE_URL"]),
]


@pytest.mark.parametrize("endpoint", ["messages", "models"])
@pytest.mark.parametrize(("fault", "params", "kind", "fragments"), CASES, ids=[c[0] for c in CASES])
def test_each_refusal_is_named_without_refresh_or_disk_change(
    emulator: ClaudeEmulator,
    provider: TokenProvider,
    token_file: Path,
    endpoint: str,
    fault: str,
    params: dict[str, Any],
    kind: type[ClaudeApiError],
    fragments: list[str],
) -> None:
    before = token_file.read_bytes()
    emulator.inject(endpoint, fault, **params)
    error = refused(emulator, provider, endpoint)
    assert type(error) is kind
    line = assert_one_clean_line(error, emulator)
    for fragment in fragments:
        assert fragment in line
    # One request (OAuthBearerAuth adds no retry of its own), no token endpoint call.
    assert api_requests(emulator, endpoint) == 1
    assert token_requests(emulator) == 0
    assert token_file.read_bytes() == before


def test_usage_limit_says_which_window_and_when_it_resets(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    before = token_file.read_bytes()
    emulator.inject("messages", "429_limit", window="five_hour", reset_in=4350)
    error = refused(emulator, provider, "messages")
    assert isinstance(error, UsageLimitReached)
    assert error.window == "five_hour" and error.status == 429
    assert error.resets_at is not None and abs(error.resets_at - (time.time() + 4350)) < 30
    line = assert_one_clean_line(error, emulator)
    clock = time.strftime("%H:%M", time.localtime(error.resets_at))
    # Past midnight the reset also names its day ("Tue 01 Dec 00:40").
    assert re.match(
        rf"Claude usage limit reached \(5-hour window\); resets at "
        rf"(\w{{3}} \d{{2}} \w{{3}} )?{clock} \(in 1 h 12 min\)",
        line,
    ), line
    assert "not a usage limit" not in line
    # Nothing is kept as a wait for other processes: the token file is untouched.
    assert token_file.read_bytes() == before and token_requests(emulator) == 0


def test_a_seven_day_limit(emulator: ClaudeEmulator, provider: TokenProvider) -> None:
    emulator.inject("models", "429_limit", window="seven_day", reset_in=3 * 86400)
    line = str(refused(emulator, provider, "models"))
    assert line.startswith("Claude usage limit reached (7-day window); resets at ")
    assert "(in 3 d 0 h)" in line or "(in 2 d 23 h)" in line


def test_one_401_is_cured_by_one_refresh(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    emulator.inject("messages", "401")
    response = call(emulator, provider, "messages")
    claude_answers.raise_for_answer(response)  # no error: answered after the refresh
    assert api_requests(emulator, "messages") == 2
    assert emulator.grants["refresh_token"] == 1 and token_requests(emulator) == 1
    assert not stored(token_file).needs_login


def test_a_second_401_says_sign_in_again(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    emulator.inject("models", "401", times=2)
    error = refused(emulator, provider, "models")
    assert isinstance(error, SignInRejected)
    line = assert_one_clean_line(error, emulator)
    assert "even after a refresh" in line and "Sign in again" in line
    assert api_requests(emulator, "models") == 2
    assert emulator.grants["refresh_token"] == 1 and token_requests(emulator) == 1


@pytest.mark.parametrize("endpoint", ["messages", "models"])
def test_a_revoked_login_is_marked_not_refreshed_and_every_process_says_so(
    emulator: ClaudeEmulator,
    provider: TokenProvider,
    token_file: Path,
    client_env: dict[str, str],
    endpoint: str,
) -> None:
    before = stored(token_file)
    emulator.inject(endpoint, "403_revoked")
    error = refused(emulator, provider, endpoint)
    assert isinstance(error, LoginRevoked) and isinstance(error, LoginRequired)
    line = assert_one_clean_line(error, emulator)
    assert "revoked" in line and "must be renewed" in line and "Sign in again" in line
    assert api_requests(emulator, endpoint) == 1 and token_requests(emulator) == 0

    # On disk: the same tokens, marked as needing a new login (as after invalid_grant).
    after = stored(token_file)
    same_tokens = (after.access_token, after.refresh_token) == (
        before.access_token,
        before.refresh_token,
    )
    assert same_tokens, "the tokens on disk changed"
    assert after.needs_login and after.last_error and "revoked" in after.last_error
    assert after.expires_at <= time.time()
    assert after.refresh_token_expires_at == before.refresh_token_expires_at

    # This process, a new provider and another process: all say so without asking.
    for asker in (provider, TokenProvider(provider.settings)):
        with pytest.raises(LoginRequired) as dead:
            asker.get_access_token()
        assert "revoked" in str(dead.value)
    other = subprocess.run(
        [sys.executable, "-m", "claude_code_oauth", "token"],
        env=client_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 1 and other.stdout == ""
    assert "revoked" in other.stderr and "claude-code-oauth login" in other.stderr
    assert token_requests(emulator) == 0
    assert api_requests(emulator, endpoint) == 1


def test_a_revocation_does_not_mark_a_newer_login(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    old = stored(token_file).access_token
    seed(emulator, token_file, expires_in=3600)  # a new login happened meanwhile
    assert provider.mark_login_revoked(old, "revoked") is False
    assert not stored(token_file).needs_login


def test_other_403s_are_not_a_revocation(
    emulator: ClaudeEmulator, data_dir: Path, client_env: dict[str, str]
) -> None:
    path = data_dir / "claude_code_oauth.json"
    body = emulator.issue_login(scope="user:profile")  # no user:inference
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.store import TokenRecord

    token_store.save(str(path), TokenRecord.from_token_response(body, now=time.time()))
    error = refused(emulator, TokenProvider(settings_for(client_env)), "messages")
    assert isinstance(error, PermissionRefused) and not isinstance(error, LoginRequired)
    assert "lacks the user:inference scope" in str(error)
    assert not stored(path).needs_login


# -- the classifier on its own -------------------------------------------------------


def test_success_is_no_error() -> None:
    assert claude_answers.error_for_answer(200, {}, b'{"type": "message"}', host="h") is None
    assert claude_answers.error_for_answer(204, {}, b"", host="h") is None


def test_a_stream_that_failed_after_it_started() -> None:
    envelope = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = claude_answers.error_for_answer(200, {}, envelope, host="api.example")
    assert isinstance(error, ApiUnavailable) and error.status == 200
    assert str(error) == (
        "Claude's API (api.example) failed after it had started answering "
        "(overloaded_error: Overloaded); try again in a moment."
    )


def test_a_read_stream_that_failed_with_an_error_event_raises(
    emulator: ClaudeEmulator, provider: TokenProvider
) -> None:
    emulator.inject("messages", "stream_error")
    auth = OAuthBearerAuth(provider, provider.settings)
    with httpx.Client(auth=auth, timeout=20) as client:
        response = client.post(emulator.base_url + "/v1/messages", json={**BODY, "stream": True})
    assert response.status_code == 200 and "event: error" in response.text
    with pytest.raises(ApiUnavailable) as caught:
        claude_answers.raise_for_answer(response)
    assert caught.value.status == 200
    assert "failed after it had started answering" in assert_one_clean_line(caught.value, emulator)
    # A stream that ended well is no error.
    with httpx.Client(auth=auth, timeout=20) as client:
        fine = client.post(emulator.base_url + "/v1/messages", json={**BODY, "stream": True})
    claude_answers.raise_for_answer(fine)


def test_an_echoed_token_is_blanked() -> None:
    secret = "sk-ant-oat01-" + "x" * 40
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": secret}}
    line = str(claude_answers.error_for_answer(400, {}, body, host="h", secrets=[secret]))
    assert "[token]" in line and "sk-ant-" not in line


def echoing(status: int, kind: str, text: str) -> Any:
    """An answer whose message quotes the bearer token the request carried."""

    def body(request: ProxiedRequest) -> bytes:
        message = text.format(token=request.bearer)
        return json.dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()

    return body


@pytest.mark.parametrize(
    ("status", "kind", "text"),
    [
        (
            400,
            "invalid_request_error",
            "Bad token {token}: only authorized for use with Claude Code",
        ),
        (403, "permission_error", "OAuth token has been revoked: {token}"),
    ],
    ids=["third_party", "revoked"],
)
def test_a_token_claude_echoes_is_blanked_without_being_told_which(
    emulator: ClaudeEmulator,
    proxy: HostileProxy,
    token_file: Path,
    client_env: dict[str, str],
    status: int,
    kind: str,
    text: str,
) -> None:
    provider = TokenProvider(settings_for(proxy.env(client_env)))
    proxy.add_rule(
        "/v1/messages", times=1, forward=False, status=status, body=echoing(status, kind, text)
    )
    sent = provider.get_access_token()
    auth = OAuthBearerAuth(provider, provider.settings)
    with httpx.Client(auth=auth, timeout=20) as client:
        response = client.post(provider.settings.api_base_url + "/v1/messages", json=BODY)
    echoed = sent in response.text  # (booleans only: a failing assert shows no token)
    assert echoed
    with pytest.raises(ClaudeApiError) as caught:
        claude_answers.raise_for_answer(response)  # no secrets= given
    leaked = sent in str(caught.value) or sent in (stored(token_file).last_error or "")
    assert not leaked and "[token]" in str(caught.value)


def test_missing_oauth_beta_names_the_variable() -> None:
    body = b'{"type":"error","error":{"type":"authentication_error",'
    body += b'"message":"OAuth authentication is currently not supported."}}'
    line = str(claude_answers.error_for_answer(401, {}, body, host="h"))
    assert "CLAUDE_CODE_OAUTH_ANTHROPIC_BETA" in line


@pytest.mark.parametrize(
    ("status", "body", "ctype", "fragment"),
    [
        (
            404,
            b'{"type":"error","error":{"type":"not_found_error","message":"Not found"}}',
            "",
            "moved",
        ),
        (404, b"<html><title>404</title></html>", "text/html", "has probably moved"),
        (
            404,
            b'{"type":"error","error":{"type":"not_found_error","message":"model: x"}}',
            "",
            "model: x",
        ),
        (502, b"<html><title>502 Bad Gateway</title></html>", "text/html", "Try again shortly"),
        (418, b"", "", "without Anthropic's error JSON"),
    ],
)
def test_other_answers(status: int, body: bytes, ctype: str, fragment: str) -> None:
    headers = [("Content-Type", ctype)] if ctype else []
    error = claude_answers.error_for_answer(status, headers, body, host="api.example")
    assert error is not None and fragment in str(error) and "api.example" in str(error)


def test_a_limit_without_a_reset_time() -> None:
    headers = {"anthropic-ratelimit-unified-status": "rejected"}
    error = claude_answers.error_for_answer(429, headers, b"{}", host="h")
    assert isinstance(error, UsageLimitReached) and error.window is None
    assert str(error).startswith("Claude usage limit reached; Claude did not say when it resets")


def test_allowed_unified_headers_on_a_429_are_not_a_usage_limit() -> None:
    headers = {"anthropic-ratelimit-unified-status": "allowed_warning"}
    error = claude_answers.error_for_answer(429, headers, b"{}", host="h")
    assert isinstance(error, RequestRejected) and "not a usage limit" in str(error)


def test_unreachable_names_host_and_kind_only() -> None:
    error = claude_answers.unreachable(httpx.ConnectError("secret detail"), "api.example")
    assert str(error).startswith(
        "Connection error: could not reach Claude's API (api.example): ConnectError."
    )
    assert "secret detail" not in str(error)


def test_the_emulator_and_the_classifier_agree_on_the_third_party_text() -> None:
    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": refusals.THIRD_PARTY_MESSAGE},
    }
    error = claude_answers.error_for_answer(400, {}, body, host="h")
    assert isinstance(error, ThirdPartyRefused)


def test_a_limit_names_the_binding_windows_own_reset() -> None:
    """A 429 that names the 5-hour window and carries only that window's reset (no
    overall ``…-reset``): the reset reaches the error and its line."""
    now = 1_790_000_000.0
    reset = now + 72 * 60
    headers = {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-utilization": "1.0",
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": str(int(reset)),
        "anthropic-ratelimit-unified-7d-reset": str(int(now + 5 * 86400)),
    }
    error = claude_answers.error_for_answer(429, headers, b"{}", host="h", now=now)
    assert isinstance(error, UsageLimitReached)
    assert error.window == "five_hour" and error.resets_at == reset
    line = str(error)
    assert line.startswith("Claude usage limit reached (5-hour window); resets at ")
    assert "(in 1 h 12 min) (h answered HTTP 429)." in line
    assert "did not say" not in line
