"""Our model's capability betas, fast mode and long context, at the emulator's door
(pydantic-ai as a library, no Code Puppy: the in-host tests are in
``tests/hosts/code_puppy/test_capabilities_in_puppy.py``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent

from claude_code_oauth.models.anthropic_model import build_model
from claude_code_oauth.models.capabilities import (
    CONTEXT_1M,
    FAST_MODE,
    FINE_GRAINED_TOOL_STREAMING,
    INTERLEAVED_THINKING,
    HostChoices,
    fast_mode_supported,
)
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import register_models, registered_models
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator, RecordedRequest
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import seed, settings_for

SONNET = "claude-sonnet-4-5-20250929"
#: The SDK's notice that Sonnet 4.5 retires on 2026-11-30 is not what these tests are about.
pytestmark = pytest.mark.filterwarnings("ignore:The model .* is deprecated:DeprecationWarning")
OAUTH = "oauth-2025-04-20"
THINKING = {"anthropic_thinking": {"type": "enabled", "budget_tokens": 1024}}


@pytest.fixture(autouse=True)
def signed_in(emulator: ClaudeEmulator, data_dir: Path) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)


def _model(client_env: dict[str, str], length: int, **options: Any) -> Any:
    settings = settings_for(client_env)
    entry = {"name": SONNET, "context_length": length}
    return build_model("claude-code-" + SONNET, entry, settings, TokenProvider(settings), **options)


def _agent(model: Any, settings: dict[str, Any] | None = None, *, tool: bool = True) -> Agent:
    agent = Agent(model, model_settings=settings)
    if tool:

        @agent.tool_plain
        def add(a: int, b: int) -> int:
            """Add two numbers."""
            return a + b

    return agent


_LOOP: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(autouse=True)
def one_loop() -> Any:
    """One event loop per test, as in Code Puppy: a model's HTTP connections belong to
    the loop that opened them (a second loop would see them broken and resend)."""
    loop = asyncio.new_event_loop()
    _LOOP.append(loop)
    yield
    _LOOP.remove(loop)
    loop.close()


def _ask(agent: Agent, prompt: str = "hi", *, stream: bool = False) -> Any:
    async def go() -> Any:
        if not stream:
            return (await agent.run(prompt)).output
        async with agent.run_stream(prompt) as result:
            return await result.get_output()

    return _LOOP[-1].run_until_complete(go())


def _sent(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/messages"]


def _capabilities(request: RecordedRequest) -> set[str]:
    betas = request.betas
    assert len(betas) == len(set(betas)), betas  # each once
    assert OAUTH in betas and "claude-code-20250219" not in betas
    return set(betas) - {OAUTH}


def test_each_beta_under_its_condition(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    long = _model(client_env, 1_000_000)
    standard = _model(client_env, 200_000)
    # A run carrying Claude Code's identity beta: it never reaches Claude.
    identity = {**THINKING, "anthropic_betas": ["claude-code-20250219"]}
    asked = [
        _ask(_agent(long, identity)),  # thinks, 1M, not streamed
        _ask(_agent(long, THINKING), stream=True),  # + tools streamed
        _ask(_agent(standard), stream=True),  # tools streamed only
        _ask(_agent(standard, tool=False), stream=True),  # nothing
        _ask(_agent(standard, {"anthropic_thinking": {"type": "disabled"}})),  # nothing
    ]
    assert asked == [REPLY_TEXT] * 5
    assert [_capabilities(r) for r in _sent(emulator)] == [
        {INTERLEAVED_THINKING, CONTEXT_1M},
        {INTERLEAVED_THINKING, FINE_GRAINED_TOOL_STREAMING, CONTEXT_1M},
        {FINE_GRAINED_TOOL_STREAMING},
        set(),
        set(),
    ]
    assert all(r.speed is None for r in _sent(emulator))


def test_interleaved_thinking_follows_the_hosts_setting(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    choice = [HostChoices(interleaved_thinking=False)]
    model = _model(client_env, 200_000, host_choices=lambda: choice[0])
    _ask(_agent(model, THINKING, tool=False))
    choice[0] = HostChoices(interleaved_thinking=True)
    _ask(_agent(model, THINKING, tool=False))
    assert [_capabilities(r) for r in _sent(emulator)] == [set(), {INTERLEAVED_THINKING}]


@pytest.mark.skipif(not fast_mode_supported(), reason="this pydantic-ai cannot send speed")
def test_fast_mode_is_read_per_request(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    choice = [HostChoices(fast=True)]
    agent = _agent(_model(client_env, 200_000, host_choices=lambda: choice[0]), tool=False)
    _ask(agent)
    _ask(agent, stream=True)
    choice[0] = HostChoices(fast=False)
    _ask(agent)
    first, second, third = _sent(emulator)
    assert (first.speed, second.speed, third.speed) == ("fast", "fast", None)
    assert FAST_MODE in first.betas and FAST_MODE in second.betas
    assert FAST_MODE not in third.betas


def test_a_conversation_past_200_000_tokens_needs_the_1m_entry(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    big = "lorem ipsum " * 90_000  # about 270 000 tokens as Claude (and the emulator) count
    assert _ask(_agent(_model(client_env, 1_000_000), tool=False), big) == REPLY_TEXT
    with pytest.raises(Exception) as refused:
        _ask(_agent(_model(client_env, 200_000), tool=False), big)
    assert "prompt is too long" in str(refused.value)
    assert [CONTEXT_1M in r.betas for r in _sent(emulator)] == [True, False]


def test_an_account_without_long_context_is_served_and_its_entry_lowered(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    settings = settings_for(client_env)
    register_models(settings, [DiscoveredModel(SONNET, "Claude Sonnet 4.5", None, 1_000_000)])
    key = "claude-code-" + SONNET
    entry = registered_models(settings)[key]
    assert entry["context_length"] == 1_000_000
    before = Path(settings.models_path).read_text()
    emulator.deny_long_context()
    warnings: list[str] = []
    model = build_model(key, entry, settings, TokenProvider(settings), on_warning=warnings.append)
    agent = _agent(model, tool=False)
    # Refused with the beta, sent again at once without it: the caller sees the answer.
    assert _ask(agent) == REPLY_TEXT
    assert _ask(agent, stream=True) == REPLY_TEXT
    # Another model of the same entry (a host builds several) knows it already.
    again = build_model(key, entry, settings, TokenProvider(settings), on_warning=warnings.append)
    assert _ask(_agent(again, tool=False)) == REPLY_TEXT
    assert [CONTEXT_1M in r.betas for r in _sent(emulator)] == [True, False, False, False]
    (warning,) = warnings
    assert warning.startswith(f"Claude does not offer this account the 1M-token context of {key}")
    assert "\n" not in warning and "200,000" in warning
    # The registry now says what Claude accepts; nothing else in the file moved.
    after = Path(settings.models_path).read_text()
    assert registered_models(settings)[key]["context_length"] == 200_000
    assert after == before.replace('"context_length": 1000000', '"context_length": 200000')
    json.loads(after)
