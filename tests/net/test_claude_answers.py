"""Every answer Claude gives, through the library API: OAuthBearerAuth + raise_for_answer.

Each test lets the emulator give one of Claude's late-2026 answers to a real
httpx request authenticated by the real token provider, then checks the named
one-line error, how many requests and refreshes happened, and that nothing on
disk changed except a rotation or the needs-renewal mark of a login a refresh
proved dead.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_code_oauth.account.unified_limits import until
from claude_code_oauth.errors import (
    ApiUnavailable,
    ApiUnexpectedAnswer,
    ClaudeApiError,
    CreditsRequired,
    LoginRequired,
    LoginRevoked,
    ModelNotAvailable,
    OrganizationRefused,
    PermissionRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
    UsageLimitReached,
)
from claude_code_oauth.net import claude_answers
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.net.refusal_lines import MAX_TEXT
from claude_code_oauth.testing.emulator import refusals
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy, ProxiedRequest
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.local_time import texts_between
from helpers.tokens import assert_same_secret, digest, seed, settings_for, stored, token_requests

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
    # No token cures the organization's refusal: no refresh, one line saying why.
    *[
        (
            fault,
            {},
            OrganizationRefused,
            [
                "does not allow OAuth sign-ins for this organization",
                "No refresh or new sign-in helps",
                "payment may be past due",
                "https://claude.ai/settings/billing",
                "switched off Claude subscription access",
            ],
        )
        for fault in ("401_org_not_allowed", "403_org_not_allowed")
    ],
    (
        "429_credits_required",
        {},
        CreditsRequired,
        [
            "says you are out of extra usage (HTTP 429, credits_required): "
            f'"{refusals.CREDITS_MESSAGE}"',
            "Nothing clears it by itself",
            "https://claude.ai/settings/usage",
            "5-hour limit to reset at",
        ],
    ),
    (
        "403_scope_insufficient",
        {},
        PermissionRefused,
        ["lacks a scope the request needs", "oauth_scope_insufficient", "--console"],
    ),
    (
        "403_organization_disabled",
        {},
        OrganizationRefused,
        ["says your organization is disabled", "organization_disabled", "admin"],
    ),
    (
        "403_model_suspended",
        {},
        ModelNotAvailable,
        ["suspended for your organization", "model_access_suspended", "another model"],
    ),
    (
        "403_model_not_on_plan",
        {},
        ModelNotAvailable,
        ["says this plan cannot use this model", "model: ", "Choose another model"],
    ),
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


@pytest.mark.time_sensitive
def test_usage_limit_says_which_window_and_when_it_resets(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    before = token_file.read_bytes()
    emulator.inject("messages", "429_limit", window="five_hour", reset_in=4350)
    asked = emulator.wall_clock()
    error = refused(emulator, provider, "messages")
    answered = emulator.wall_clock()
    assert isinstance(error, UsageLimitReached)
    assert error.window == "five_hour" and error.status == 429
    reset = error.resets_at
    assert reset is not None and int(asked) + 4350 <= reset <= answered + 4350
    line = assert_one_clean_line(error, emulator)
    # The line was formatted between the two readings of the clock (the client's clock
    # is the real time, as the emulator's is here): computed with the same formatter,
    # past midnight it names the reset's day ("Tue 01 Dec 00:40").
    expected = texts_between(
        lambda now: f"Claude usage limit reached (5-hour window); resets at {until(reset, now)}",
        asked,
        answered,
    )
    assert any(line.startswith(text + " (") for text in expected), line
    assert "(in 1 h 12 min)" in line
    assert "not a usage limit" not in line
    # Nothing is kept as a wait for other processes: the token file is untouched.
    assert token_file.read_bytes() == before and token_requests(emulator) == 0


@pytest.mark.time_sensitive
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


@pytest.mark.parametrize("fault", ["403_revoked", "401_revoked", "401_token_expired"])
@pytest.mark.parametrize("endpoint", ["messages", "models"])
def test_a_revoked_or_expired_token_is_cured_by_one_refresh(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path, endpoint: str, fault: str
) -> None:
    """As Claude Code does: another token, one retry; a revocation is no proof the
    login is dead (only a refresh answered invalid_grant is)."""
    before = stored(token_file)
    emulator.inject(endpoint, fault)
    response = call(emulator, provider, endpoint)
    claude_answers.raise_for_answer(response)  # no error: answered after the refresh
    assert api_requests(emulator, endpoint) == 2
    assert emulator.grants["refresh_token"] == 1 == token_requests(emulator)
    after = stored(token_file)
    assert not after.needs_login and digest(after.access_token) != digest(before.access_token)


def test_a_revocation_a_refresh_does_not_cure_says_sign_in_again(
    emulator: ClaudeEmulator, provider: TokenProvider, token_file: Path
) -> None:
    emulator.inject("messages", "403_revoked", times=2)
    error = refused(emulator, provider, "messages")
    assert isinstance(error, LoginRevoked) and isinstance(error, LoginRequired)
    line = assert_one_clean_line(error, emulator)
    assert "revoked" in line and "even with a freshly refreshed token" in line
    assert "Sign in again" in line
    # One refresh and one retry, no more; the refresh worked, so nothing is marked.
    assert api_requests(emulator, "messages") == 2 and token_requests(emulator) == 1
    assert not stored(token_file).needs_login


@pytest.mark.subprocess
@pytest.mark.parametrize("endpoint", ["messages", "models"])
def test_a_revocation_the_refresh_confirms_ends_the_login_for_every_process(
    emulator: ClaudeEmulator,
    provider: TokenProvider,
    token_file: Path,
    client_env: dict[str, str],
    endpoint: str,
) -> None:
    before = stored(token_file)
    emulator.revoke_all()  # the login really is revoked: API 403, refresh invalid_grant
    with pytest.raises(LoginRequired) as dead:
        call(emulator, provider, endpoint)
    line = str(dead.value)
    assert "login has ended" in line and "revoked" in line and "claude-code-oauth login" in line
    assert "\n" not in line and "sk-ant-" not in line
    assert api_requests(emulator, endpoint) == 1 and token_requests(emulator) == 1

    # On disk: the same tokens, marked as needing a new login (as after invalid_grant),
    # the refused access token counted as expired so no process sends it again.
    after = stored(token_file)
    assert_same_secret(
        (after.access_token, after.refresh_token),
        (before.access_token, before.refresh_token),
        "the tokens on disk",
    )
    assert after.needs_login and after.last_error and "revoked" in after.last_error
    assert after.expires_at <= time.time()
    assert after.refresh_token_expires_at == before.refresh_token_expires_at

    # This process, a new provider and another process: all say so without asking.
    for asker in (provider, TokenProvider(provider.settings)):
        with pytest.raises(LoginRequired) as again:
            asker.get_access_token()
        assert "revoked" in str(again.value)
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
    assert token_requests(emulator) == 1
    assert api_requests(emulator, endpoint) == 1


class _Together:
    """The real provider; each caller waits at ``barrier`` after its first token, so
    every request goes out with the same token before anyone can rotate it."""

    def __init__(self, provider: TokenProvider, barrier: threading.Barrier) -> None:
        self._provider = provider
        self._barrier = barrier

    def get_access_token(self) -> str:
        token = self._provider.get_access_token()
        self._barrier.wait(timeout=20)
        return token

    def replace_rejected(self, rejected: str) -> str:
        return self._provider.replace_rejected(rejected)


def test_callers_refused_at_once_agree_on_one_refresh(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    """Two providers of one token file (as two processes: they meet only through the
    file and its lock) both get the revoked 403: one refreshes, the other adopts."""
    emulator.inject("messages", "403_revoked", times=2)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def ask() -> None:
        source = _Together(TokenProvider(settings_for(client_env)), barrier)
        auth = OAuthBearerAuth(source, settings_for(client_env))
        with httpx.Client(auth=auth, timeout=20) as client:
            statuses.append(client.post(emulator.base_url + "/v1/messages", json=BODY).status_code)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200, 200]
    assert api_requests(emulator, "messages") == 4
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0
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
        (
            403,
            "permission_error",
            "OAuth authentication is currently not allowed for this organization: {token}",
        ),
    ],
    ids=["third_party", "organization"],
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


def _coded(status: int, kind: str, code: str, message: str, user_facing: bool) -> dict:
    details = {"error_code": code}
    if user_facing:
        details["error_visibility"] = "user_facing"
    return {"type": "error", "error": {"type": kind, "message": message, "details": details}}


def test_a_user_facing_message_is_shown_in_claudes_own_words() -> None:
    words = "Your organization's admin paused this service until the quarter ends. " * 3
    words = words.strip()
    assert 160 < len(words) < 300
    facing = claude_answers.error_for_answer(
        403, {}, _coded(403, "permission_error", "organization_disabled", words, True), host="h"
    )
    plain = claude_answers.error_for_answer(
        403, {}, _coded(403, "permission_error", "organization_disabled", words, False), host="h"
    )
    assert isinstance(facing, OrganizationRefused) and isinstance(plain, OrganizationRefused)
    assert f'(HTTP 403, organization_disabled): "{words}"' in str(facing)
    # Not written for the user: our words, the server's shortened in the detail.
    assert words not in str(plain) and words[:100] in str(plain)
    assert "(HTTP 403 permission_error, organization_disabled: " in str(plain)
    assert facing.error_code == plain.error_code == "organization_disabled"


def test_a_user_facing_message_is_blanked_of_tokens_too() -> None:
    secret = "sk-ant-oat01-" + "y" * 40
    body = _coded(429, "rate_limit_error", "credits_required", f"Out of credits {secret}", True)
    line = str(claude_answers.error_for_answer(429, {}, body, host="h"))
    assert "sk-ant-" not in line and "[token]" in line


def test_verification_names_where_only_on_anthropics_own_sites() -> None:
    def line(url: str) -> str:
        body = _coded(403, "permission_error", "verification_required", "Verify first.", True)
        body["error"]["details"]["remediation_url"] = url
        return str(claude_answers.error_for_answer(403, {}, body, host="h"))

    assert "Verify at https://claude.ai/verify?x=1, then try again." in line(
        "https://claude.ai/verify?x=1"
    )
    for elsewhere in ("https://claude.ai.evil.example/v", "http://claude.ai/v", "javascript:x"):
        assert elsewhere not in line(elsewhere) and "Verify as it says" in line(elsewhere)


@pytest.mark.parametrize(
    ("status", "message", "code", "cured"),
    [
        (401, "Invalid bearer token", None, True),
        (401, "OAuth access token has been revoked.", None, True),
        (401, "OAuth token has expired.", "token_expired", True),
        (403, "OAuth token has been revoked. Please obtain a new token.", None, True),
        (401, refusals.ORG_NOT_ALLOWED_MESSAGE, None, False),
        (403, refusals.ORG_NOT_ALLOWED_MESSAGE, None, False),
        (403, "Disabled.", "organization_disabled", False),
        (401, "Disabled.", "organization_disabled", False),
        (401, "Not for this organization.", "oauth_not_allowed_for_organization", False),
        (401, "OAuth authentication is currently not supported.", None, False),
        (403, "This token lacks the user:inference scope", "oauth_scope_insufficient", False),
        (403, "model: claude-x is not available on your plan.", None, False),
        (429, "Rate limited", None, False),
    ],
)
def test_which_answers_another_token_may_cure(
    status: int, message: str, code: str | None, cured: bool
) -> None:
    error: dict[str, Any] = {"type": "permission_error", "message": message}
    if code:
        error["details"] = {"error_code": code}
    body = json.dumps({"type": "error", "error": error}).encode()
    assert claude_answers.needs_new_token(status, body) is cured


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


OVERLOADED = b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
STREAM_FAILED = (
    "Claude's API (h) failed after it had started answering (overloaded_error: Overloaded); "
    "try again in a moment."
)


@pytest.mark.parametrize(
    "body",
    [
        b"event: error\ndata: " + OVERLOADED + b"\n\n",
        b"event:error\ndata:" + OVERLOADED + b"\n\n",  # the fields without their space
        b"event: message_start\ndata: {}\n\nevent: error\r\ndata: " + OVERLOADED + b"\r\n\r\n",
    ],
    ids=["spaced", "unspaced", "after_an_event_crlf"],
)
def test_a_failed_streams_error_event_is_read_in_each_spelling(body: bytes) -> None:
    error = claude_answers.error_for_answer(200, {}, body, host="h")
    assert isinstance(error, ApiUnavailable) and str(error) == STREAM_FAILED


def test_a_stream_error_event_with_undecodable_bytes_is_still_named() -> None:
    body = b"event: content_block_delta\ndata: \xff\xfe\n\nevent: error\ndata: " + OVERLOADED
    error = claude_answers.error_for_answer(200, {}, body + b"\n\n", host="h")
    assert isinstance(error, ApiUnavailable) and str(error) == STREAM_FAILED


def test_a_stream_error_event_whose_data_is_not_json_is_still_an_error() -> None:
    body = b"event: error\ndata: upstream connect error\n\n"
    error = claude_answers.error_for_answer(200, {}, body, host="h")
    assert isinstance(error, ApiUnavailable) and error.status == 200
    assert str(error) == (
        "Claude's API (h) failed after it had started answering (error); try again in a moment."
    )


def test_an_events_type_ends_at_its_blank_line() -> None:
    """Data after the error event's blank line, with no ``event:`` of its own, is a plain
    message event (Server-Sent Events), not a second error."""
    body = b"event: error\ndata: " + OVERLOADED + b'\n\ndata: {"type": "ping"}\n\n'
    error = claude_answers.error_for_answer(200, {}, body, host="h")
    assert str(error) == STREAM_FAILED


def test_a_stream_that_only_mentions_an_error_event_in_its_text_is_no_error() -> None:
    body = b'event: content_block_delta\ndata: {"delta": {"text": "event: error"}}\n\n'
    assert claude_answers.error_for_answer(200, {}, body, host="h") is None


def test_answer_detail_blanks_the_credential_its_request_carried() -> None:
    """A server that echoes the request's credential (here not shaped like an Anthropic
    token, so only the request says it is one) gets it blanked from the detail."""
    sent = "opaque-credential-1234"
    request = httpx.Request("POST", "https://h/v1/oauth/revoke", headers={"x-api-key": sent})
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": f"bad {sent}"}}
    response = httpx.Response(400, json=body, request=request)
    detail = claude_answers.answer_detail(response)
    assert sent not in detail and detail.startswith("HTTP 400 invalid_request_error: bad ")


def test_raise_for_answer_names_the_caller_and_blanks_its_secrets() -> None:
    """``what`` names the endpoint in the line; ``secrets`` the caller passes (here one the
    request did not carry, and not shaped like a token) are blanked."""
    secret = "opaque-refresh-material-5678"
    request = httpx.Request("POST", "https://api.example/v1/oauth/token")
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": secret}}
    response = httpx.Response(400, json=body, request=request)
    with pytest.raises(RequestRejected) as caught:
        claude_answers.raise_for_answer(response, what="The token endpoint", secrets=[secret])
    line = str(caught.value)
    assert line.startswith("The token endpoint (api.example) refused the request (HTTP 400 ")
    assert secret not in line


def test_unreachable_says_what_to_check() -> None:
    error = claude_answers.unreachable(httpx.ConnectTimeout("t"), "api.example", what="Claude")
    assert str(error) == (
        "Connection error: could not reach Claude (api.example): ConnectTimeout. "
        "Check your connection and proxy settings, and CLAUDE_CODE_OAUTH_API_BASE_URL."
    )
    assert (error.status, error.host) == (None, "api.example")


def test_a_response_built_without_a_request_is_named_all_the_same() -> None:
    """httpx raises when a response's request was never set: the line names an unknown
    host instead of raising (the classifier never raises)."""
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    response = httpx.Response(529, json=body)
    error = claude_answers.error_for_response(response)
    assert isinstance(error, ApiUnavailable)
    assert str(error) == (
        "Claude's API (unknown host) is overloaded (HTTP 529 overloaded_error: Overloaded); "
        "try again shortly."
    )
    assert claude_answers.answer_detail(response) == "HTTP 529 overloaded_error: Overloaded"


def test_a_repeated_header_of_an_httpx_response_counts_once_its_last_value() -> None:
    """httpx merges a repeated header into ``a, b`` when read as a mapping; the answer is
    read header by header, and the last ``retry-after`` wins."""
    request = httpx.Request("POST", "https://api.example/v1/messages")
    body = {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down"}}
    response = httpx.Response(
        429, json=body, headers=[("retry-after", "10"), ("retry-after", "30")], request=request
    )
    line = str(claude_answers.error_for_response(response))
    assert line.endswith('answered rate_limit_error ("Slow down"). Retry after 30 s.')


def test_error_for_response_blanks_the_credential_its_request_carried() -> None:
    sent = "opaque-credential-1234"
    request = httpx.Request("POST", "https://api.example/v1/messages", headers={"x-api-key": sent})
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": f"bad {sent}"}}
    error = claude_answers.error_for_response(httpx.Response(400, json=body, request=request))
    assert error is not None and sent not in str(error)
    assert str(error).startswith("Claude's API (api.example) refused the request (HTTP 400 ")


@pytest.mark.parametrize(
    "body",
    [
        {"error": "invalid_grant", "error_description": "Refresh token expired"},
        {"error": "invalid_grant", "message": "Refresh token expired"},
        {"error": "invalid_grant", "error_description": "Refresh token expired", "message": "m"},
    ],
    ids=["error_description", "message", "description_first"],
)
def test_an_oauth_style_envelope_names_its_error_and_description(body: dict[str, str]) -> None:
    """An OAuth server's ``{"error": ..., "error_description": ...}`` (or ``message``) is
    read like Anthropic's envelope: its error and its description make the detail."""
    error = claude_answers.error_for_answer(400, {}, body, host="h")
    assert error is not None and error.reason == (
        "Claude's API (h) refused the request (HTTP 400 invalid_grant: Refresh token expired)."
    )


@pytest.mark.parametrize(
    "body",
    [b"", b"event: error\ndata: " + OVERLOADED + b"\n\n"],
    ids=["empty", "error_event"],
)
def test_a_300_answer_is_not_a_success_nor_a_stream(body: bytes) -> None:
    """Only 2xx is a success (or a stream that failed after it started): a 300, even an
    empty one or one shaped like an event stream, is an unexpected answer."""
    error = claude_answers.error_for_answer(300, {}, body, host="h")
    assert error is not None and error.reason == (
        "Claude's API (h) answered HTTP 300 without Anthropic's error JSON."
    )


def test_an_html_pages_title_that_echoes_a_secret_does_not_show_it() -> None:
    """A secret the caller names (not shaped like a token, so only ``secrets`` says it is
    one) is blanked from an HTML page's title too, not only from JSON messages."""
    secret = "opaque-credential-9012"
    page = f"<title>Bad gateway for {secret}</title>".encode()
    html = {"content-type": "text/html"}
    line = str(claude_answers.error_for_answer(503, html, page, host="h", secrets=[secret]))
    shown = secret in line  # (booleans only: a failing assert shows no secret)
    assert not shown and 'HTML page "Bad gateway for [token]"' in line


def test_a_401_is_a_first_answer_unless_the_caller_says_it_retried() -> None:
    """Without ``retried``, a 401 is the answer to the first try: the line does not say
    the sign-in was rejected "even after a refresh"."""
    body = b'{"type":"error","error":{"type":"authentication_error","message":"Invalid token"}}'
    error = claude_answers.error_for_answer(401, {}, body, host="h")
    assert isinstance(error, SignInRejected) and error.reason == (
        "Claude's API (h) rejected the sign-in (HTTP 401 authentication_error: Invalid token)."
    )


def test_a_text_body_that_is_not_valid_unicode_is_named_without_raising() -> None:
    """A text body holding a lone surrogate (no UTF-8 for it) is read with the character
    replaced, never an exception out of ``error_for_answer``."""
    body = '{"type":"error","error":{"type":"invalid_request_error","message":"bad \ud800 char"}}'
    error = claude_answers.error_for_answer(400, {}, body, host="h")
    assert error is not None and error.reason == (
        "Claude's API (h) refused the request (HTTP 400 invalid_request_error: bad ? char)."
    )


def test_an_overlong_error_type_is_cut_to_a_lines_length() -> None:
    # A server's error type is no prose: 250 characters of it are cut where a refusal
    # line's server text is (MAX_TEXT), not at the longer limit of page titles.
    kind = "k" * 250
    error = claude_answers.error_for_answer(400, {}, {"error": {"type": kind}}, host="h")
    assert error is not None
    shown = error.reason.split("(HTTP 400 ", 1)[1]
    assert "k" * (MAX_TEXT - 1) + "…" in shown and "k" * MAX_TEXT not in shown
