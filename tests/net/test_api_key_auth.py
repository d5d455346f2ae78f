"""API-key requests (a Console sign-in): the headers they carry, and how Claude's refusals read."""

from __future__ import annotations

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import (
    ApiKeyRejected,
    PermissionRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
)
from claude_code_oauth.net.api_key_auth import ApiKeyAuth, apply_api_key_headers
from claude_code_oauth.net.claude_answers import error_for_answer
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

KEY = "sk-ant-api03-" + "q" * 60
ENVELOPE = b'{"type":"error","error":{"type":"%s","message":"%s"}}'


def test_headers_carry_the_key_and_no_oauth() -> None:
    headers = httpx.Headers(
        {
            "Authorization": "Bearer placeholder",
            "anthropic-beta": "oauth-2025-04-20, prompt-caching-2024-07-31",
            "User-Agent": "something else",
        }
    )
    apply_api_key_headers(
        headers, KEY, version="2023-06-01", oauth_beta="oauth-2025-04-20", user_agent=USER_AGENT
    )
    assert headers["x-api-key"] == KEY
    assert "authorization" not in headers
    assert headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["user-agent"] == USER_AGENT
    only_oauth = httpx.Headers({"anthropic-beta": "oauth-2025-04-20"})
    apply_api_key_headers(only_oauth, KEY, version=None, oauth_beta="oauth-2025-04-20")
    assert "anthropic-beta" not in only_oauth and "anthropic-version" not in only_oauth


def test_a_created_key_lists_models_with_api_key_auth(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    from claude_code_oauth.login.console_key import create_api_key

    login = emulator.issue_login(console=True)
    key = create_api_key(settings, login["access_token"], login).api_key
    with httpx.Client(auth=ApiKeyAuth(key, settings)) as client:
        answer = client.get(emulator.base_url + "/v1/models")
    assert answer.status_code == 200
    sent = emulator.requests[-1].headers
    assert sent["x-api-key"] == key and "authorization" not in sent
    assert "anthropic-beta" not in sent and sent["anthropic-version"] == "2023-06-01"
    emulator.revoke_api_keys()
    with httpx.Client(auth=ApiKeyAuth(key, settings)) as client:
        answer = client.get(emulator.base_url + "/v1/models")
    error = error_for_answer(401, answer.headers, answer.content, host="h", api_key=True)
    assert isinstance(error, ApiKeyRejected)


def _error(status: int, kind: str, message: str, *, api_key: bool, headers=()):
    body = ENVELOPE % (kind.encode(), message.encode())
    return error_for_answer(status, list(headers), body, host="api.test", api_key=api_key)


def test_a_401_to_a_key_says_it_was_revoked_and_how_to_get_another() -> None:
    error = _error(401, "authentication_error", "invalid x-api-key", api_key=True)
    assert isinstance(error, ApiKeyRejected)
    assert str(error) == (
        "Claude's API (api.test) rejected the API key of this Console sign-in "
        "(HTTP 401 authentication_error: invalid x-api-key). An API key has no refresh: it "
        "was probably revoked or deleted in the Anthropic Console. Sign in again with "
        "`claude-code-oauth login --console` (or /claude-code-auth --console in Code Puppy) "
        "to create a new one."
    )
    oauth = _error(401, "authentication_error", "invalid", api_key=False)
    assert isinstance(oauth, SignInRejected) and not isinstance(oauth, ApiKeyRejected)


def test_a_key_is_never_a_revoked_login_and_its_429_is_a_rate_limit() -> None:
    forbidden = _error(403, "permission_error", "OAuth token has been revoked", api_key=True)
    assert type(forbidden) is PermissionRefused
    limited = _error(
        429,
        "rate_limit_error",
        "Number of requests exceeded",
        api_key=True,
        headers=[("retry-after", "12")],
    )
    assert isinstance(limited, RequestRejected)
    assert "is rate limiting this API key's organization" in str(limited)
    assert str(limited).endswith("Retry after 12 s.")


def test_the_third_party_refusal_points_at_the_console_sign_in() -> None:
    error = _error(
        400,
        "invalid_request_error",
        "This credential is only authorized for use with Claude Code and cannot be used "
        "for other API requests.",
        api_key=False,
    )
    assert isinstance(error, ThirdPartyRefused)
    assert "`claude-code-oauth login --console` (or /claude-code-auth --console" in str(error)
    assert "Anthropic's terms allow in any client" in str(error)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_api_key_auth_never_retries(emulator: ClaudeEmulator, settings: Settings, mode) -> None:
    import asyncio

    emulator.inject("models", "401", times=2)
    auth = ApiKeyAuth(KEY, settings)
    if mode == "sync":
        with httpx.Client(auth=auth) as client:
            status = client.get(emulator.base_url + "/v1/models").status_code
    else:

        async def get() -> int:
            async with httpx.AsyncClient(auth=auth) as client:
                return (await client.get(emulator.base_url + "/v1/models")).status_code

        status = asyncio.run(get())
    assert status == 401
    assert len([r for r in emulator.requests if r.path == "/v1/models"]) == 1


def test_api_key_auth_takes_the_oauth_beta_out_and_keeps_the_requests_own_headers(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    betas = f"{settings.anthropic_beta},prompt-caching-2024-07-31"
    with httpx.Client(auth=ApiKeyAuth(KEY, settings)) as client:
        client.get(emulator.base_url + "/v1/models", headers={"anthropic-beta": betas})
        client.get(emulator.base_url + "/v1/models", headers={"anthropic-version": "2099-01-01"})
    defaulted, kept = emulator.requests[-2].headers, emulator.requests[-1].headers
    assert defaulted["x-api-key"] == KEY and defaulted["anthropic-version"] == "2023-06-01"
    assert defaulted["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert kept["anthropic-version"] == "2099-01-01"  # the request's own version is kept


def test_without_settings_api_key_auth_only_swaps_the_credential(
    emulator: ClaudeEmulator,
) -> None:
    """No settings, no version and no beta of ours to take out: the key replaces the
    Bearer, the request's betas go as they are (never an identity beta)."""
    with httpx.Client(auth=ApiKeyAuth(KEY)) as client:
        client.get(
            emulator.base_url + "/v1/models",
            headers={
                "Authorization": "Bearer placeholder",
                "anthropic-beta": "oauth-2025-04-20,claude-code-20250219,b2",
            },
        )
    sent = emulator.requests[-1].headers
    assert sent["x-api-key"] == KEY and "authorization" not in sent
    assert "anthropic-version" not in sent
    assert sent["anthropic-beta"] == "oauth-2025-04-20,b2"
