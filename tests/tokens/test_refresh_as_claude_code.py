"""The refresh as Claude Code 2.1.332 makes it (CONTEXT §2c), against the emulator: the
stored scopes in the body and the one retry after ``invalid_scope``, an answer that
keeps the refresh token, an account on hold, a stale session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.errors import (
    AccountOnHold,
    LoginRequired,
    NetworkError,
    OAuthErrorResponse,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import digest, seed, settings_for, stored, token_requests

EMAIL = "emulated.user@example.com"
TOKEN = "/v1/oauth/token"


def refresh_bodies(emulator: ClaudeEmulator) -> list[dict]:
    return [r.json for r in emulator.requests if r.path == TOKEN]


def provider(env: dict[str, str]) -> TokenProvider:
    return TokenProvider(settings_for(env))


def expire(path: Path) -> None:
    """Make the stored access token count as expired locally (still valid at Claude)."""
    record = stored(path)
    record.expires_at = record.obtained_at = 1.0
    token_store.save(str(path), record)


# -- scope ---------------------------------------------------------------------------------


def test_the_refresh_carries_the_stored_scopes(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=-5)
    provider(client_env).get_access_token()
    (body,) = refresh_bodies(emulator)
    assert body["scope"] == record.scope == "org:create_api_key user:profile user:inference"
    assert set(body) == {"grant_type", "refresh_token", "client_id", "scope"}


def test_a_login_with_no_stored_scopes_asks_for_the_configured_ones(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-5, scope="")
    settings = settings_for(client_env, scope="user:inference  user:profile")
    TokenProvider(settings).get_access_token()
    (body,) = refresh_bodies(emulator)
    assert body["scope"] == "user:inference user:profile"


def test_invalid_scope_is_asked_once_more_with_the_grant_as_claude_keeps_it(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """The organization withdrew a scope since the sign-in: the stored scopes are refused
    (nothing spent), the same refresh token without ``scope`` gets what is left."""
    old = seed(emulator, token_path, expires_in=-5)
    emulator.withhold_scopes(EMAIL, "org:create_api_key")
    token = provider(client_env).get_access_token()
    first, second = refresh_bodies(emulator)
    assert first["scope"] == old.scope and "scope" not in second
    assert digest(first["refresh_token"]) == digest(second["refresh_token"])
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0
    fresh = stored(token_path)
    assert digest(fresh.access_token) == digest(token) != digest(old.access_token)
    assert fresh.scope == "user:profile user:inference" and not fresh.needs_login
    # From then on the refresh carries what was granted: one request again.
    expire(token_path)
    provider(client_env).get_access_token()
    assert refresh_bodies(emulator)[-1]["scope"] == "user:profile user:inference"
    assert token_requests(emulator) == 3


def test_invalid_scope_twice_is_one_clear_error_and_no_dead_login(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-5)
    emulator.inject("token", "invalid_scope", times=3)
    with pytest.raises(OAuthErrorResponse) as caught:
        provider(client_env).get_access_token()
    assert "invalid_scope" in str(caught.value) and "\n" not in str(caught.value)
    assert token_requests(emulator) == 2  # once more, never a third time
    assert not stored(token_path).needs_login and emulator.grants["refresh_token"] == 0


@pytest.mark.parametrize(
    ("spent", "left"), [(1.5, "0.5"), (9.0, "0.001")], ids=["some-left", "all-spent"]
)
def test_the_second_ask_ends_within_the_first_ones_http_timeout(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    spent: float,
    left: str,
) -> None:
    # invalid_scope, after ``spent`` of the 2 s both asks share (by the monotonic clock
    # the provider is given), then no answer: the second ask gets what is left (at
    # least a millisecond), not an http_timeout of its own.
    seed(emulator, token_path, expires_in=-5)
    emulator.inject("token", "invalid_scope")
    emulator.inject("token", "slow", delay=30)
    readings = iter([100.0, 100.0 + spent])
    settings = settings_for(client_env, http_timeout=2)
    with pytest.raises(NetworkError) as caught:
        TokenProvider(settings, monotonic=lambda: next(readings)).get_access_token()
    host = emulator.base_url.removeprefix("http://")
    assert caught.value.reason.startswith(
        f"The token endpoint ({host}) did not answer within {left} s"
    )
    # Nothing was spent (with a millisecond left, the second ask may not even arrive).
    assert emulator.grants["refresh_token"] == 0 and not stored(token_path).needs_login


# -- an answer that keeps the refresh token ------------------------------------------------


def test_an_answer_without_a_refresh_token_keeps_the_old_one(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=-5)
    emulator.inject("token", "no_refresh_token")
    token = provider(client_env).get_access_token()
    kept = stored(token_path)
    assert digest(kept.refresh_token) == digest(old.refresh_token)
    assert digest(kept.access_token) == digest(token) != digest(old.access_token)
    # The kept refresh token is the one that works next time.
    expire(token_path)
    provider(client_env).get_access_token()
    assert emulator.grants["refresh_token"] == 2 and emulator.replays == 0
    assert digest(stored(token_path).refresh_token) != digest(old.refresh_token)


# -- an account on hold, a stale session ---------------------------------------------------


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("error_uri", "shown"),
    [
        (None, "https://claude.ai/restricted"),
        ("https://claude.ai/restricted?ref=TS-1", "https://claude.ai/restricted?ref=TS-1"),
        # Someone else's address is never shown: the default instead.
        ("https://claude.ai.example.net/appeal", "https://claude.ai/restricted"),
    ],
)
def test_an_account_on_hold_is_terminal_and_says_where_to_look(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    error_uri: str | None,
    shown: str,
) -> None:
    old = seed(emulator, token_path, expires_in=-5)
    if error_uri is None:
        emulator.hold_account(EMAIL)
    else:
        emulator.hold_account(EMAIL, error_uri)
    with pytest.raises(AccountOnHold) as caught:
        provider(client_env).get_access_token()
    line = str(caught.value)
    assert isinstance(caught.value, LoginRequired) and caught.value.uri == shown
    assert line.startswith("Your Claude account is on hold") and f"See {shown} for why" in line
    assert "claude.ai.example.net" not in line and "claude-code-oauth login" in line
    # Marked like a dead login (tokens kept), not a transient failure retried later:
    # this process, a new provider and another process say the same, asking nobody.
    after = stored(token_path)
    assert after.needs_login and digest(after.refresh_token) == digest(old.refresh_token)
    for asker in (provider(client_env), provider(client_env)):
        with pytest.raises(LoginRequired) as again:
            asker.get_access_token()
        assert str(again.value) == line
    other = subprocess.run(
        [sys.executable, "-m", "claude_code_oauth", "token"],
        env=client_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 1 and "on hold" in other.stderr and shown in other.stderr
    assert token_requests(emulator) == 1


def test_a_stale_session_needs_a_new_sign_in(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-5)
    emulator.inject("token", "session_stale_relogin")
    with pytest.raises(LoginRequired) as caught:
        provider(client_env).get_access_token()
    line = str(caught.value)
    assert "session_stale_relogin" in line and "claude-code-oauth login" in line
    assert stored(token_path).needs_login and token_requests(emulator) == 1
