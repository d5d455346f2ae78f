"""Our pydantic-ai model served by a Console sign-in (an API key), against the emulator.

The request carries the key as ``x-api-key`` with our User-Agent and no OAuth header;
a key has no refresh, so a 401 is one named line ("revoked in the Console"); the
extra-usage guard, which is about plan windows, does not hold a key's requests back;
and an entry that follows the active profile sends each profile's own credential
across a switch between a subscription and a Console profile.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelHTTPError

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import ApiKeyRejected, ExtraUsageBlocked
from claude_code_oauth.login.console_key import create_api_key
from claude_code_oauth.models.anthropic_model import build_model
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.token_source import ProfileTokenSource
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from helpers.tokens import seed

MODEL = "claude-haiku-4-5-20251001"


class AlwaysBlocked:
    """A usage guard that refuses every request (as `extra_usage = block` at a limit)."""

    def check(self) -> None:
        raise ExtraUsageBlocked("blocked", window="five_hour", resets_at=None)


def _console_profile(emulator: ClaudeEmulator, settings: Settings) -> str:
    login = emulator.issue_login(console=True)
    record = create_api_key(settings, login["access_token"], login)
    with token_store.held(token_store.token_lock(settings)):
        token_store.save(settings.token_path, record)
    return record.api_key


def _model(settings: Settings, source: Any, **kwargs: Any) -> Any:
    return build_model("claude-code-" + MODEL, {"name": MODEL}, settings, source, **kwargs)


def _ask(model: Any, *, stream: bool = False) -> Any:
    async def go() -> Any:
        agent = Agent(model)
        if not stream:
            return (await agent.run("hi")).output
        async with agent.run_stream("hi") as result:
            return await result.get_output()

    return asyncio.run(go())


def _last(emulator: ClaudeEmulator) -> dict[str, Any]:
    request = [r for r in emulator.requests if r.path == "/v1/messages"][-1]
    headers = request.headers
    return {
        "minted_key": emulator.api_key_created(headers.get("x-api-key", "")),
        "bearer": headers.get("authorization", "").startswith("Bearer sk-ant-oat01-"),
        "authorization": "authorization" in headers,
        "oauth_beta": "oauth-2025-04-20" in headers.get("anthropic-beta", ""),
        "user_agent": headers.get("user-agent"),
    }


KEY_ONLY = {
    "minted_key": True,
    "bearer": False,
    "authorization": False,
    "oauth_beta": False,
    "user_agent": USER_AGENT,
}


@pytest.mark.parametrize("stream", [False, True])
def test_a_console_profile_sends_its_key_and_no_oauth(
    emulator: ClaudeEmulator, settings: Settings, stream: bool
) -> None:
    _console_profile(emulator, settings)
    model = _model(settings, ProfileTokenSource(settings), usage_guard=AlwaysBlocked())
    assert _ask(model, stream=stream) == REPLY_TEXT
    assert _last(emulator) == KEY_ONLY


def test_a_revoked_key_is_one_named_line_and_no_retry(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    key = _console_profile(emulator, settings)
    model = _model(settings, ProfileTokenSource(settings))
    emulator.revoke_api_keys()
    with pytest.raises(ModelHTTPError) as caught:
        _ask(model)
    assert isinstance(caught.value.claude_error, ApiKeyRejected)
    assert "rejected the API key of this Console sign-in (HTTP 401" in str(caught.value)
    assert "revoked or deleted in the Anthropic Console" in str(caught.value)
    assert key not in str(caught.value)
    assert sum(1 for r in emulator.requests if r.path == "/v1/messages") == 1


def test_an_entry_following_the_active_profile_sends_each_profiles_credential(
    emulator: ClaudeEmulator, settings: Settings, data_dir: Path
) -> None:
    seed(emulator, settings.token_path, expires_in=3600)  # default: a subscription
    _console_profile(emulator, settings.with_profile("api"))
    model = _model(settings, ProfileTokenSource(settings))
    assert _ask(model) == REPLY_TEXT
    assert _last(emulator)["bearer"] and _last(emulator)["oauth_beta"]
    write_active_profile(settings, "api")
    assert _ask(model) == REPLY_TEXT
    assert _last(emulator) == KEY_ONLY
    write_active_profile(settings, "default")
    assert _ask(model) == REPLY_TEXT
    assert _last(emulator)["bearer"] and not _last(emulator)["minted_key"]
