"""Which capability betas and speed a request asks for (pure decisions, no network)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from claude_code_oauth.models.capabilities import (
    CONTEXT_1M,
    FAST_MODE,
    FINE_GRAINED_TOOL_STREAMING,
    INTERLEAVED_THINKING,
    HostChoices,
    fast_mode_supported,
    long_context,
    request_betas,
    request_settings,
    thinks,
    with_capabilities,
)

IDENTITY = "claude-code-20250219"


@pytest.mark.parametrize(
    ("length", "long"),
    [
        (200_000, False),
        (200_001, True),
        (1_000_000, True),
        (None, False),
        (True, False),
        ("1e6", False),
    ],
)
def test_long_context_only_above_200_000(length: Any, long: bool) -> None:
    assert long_context({"context_length": length}) is long


@pytest.mark.parametrize(
    ("settings", "own", "thinking"),
    [
        ({"anthropic_thinking": {"type": "enabled", "budget_tokens": 10000}}, None, True),
        ({"anthropic_thinking": {"type": "adaptive"}}, None, True),
        ({"anthropic_thinking": {"type": "disabled"}}, None, False),
        ({"thinking": "high"}, None, True),
        ({"thinking": False}, None, False),
        (None, {"anthropic_thinking": {"type": "enabled"}}, True),  # the model's own
        ({"anthropic_thinking": {"type": "disabled"}}, {"thinking": True}, False),  # run wins
        ({"temperature": 1.0}, None, False),
        (None, None, False),
    ],
)
def test_thinks(settings: Any, own: Any, thinking: bool) -> None:
    assert thinks(settings, own) is thinking


def test_request_betas_each_under_its_condition() -> None:
    assert request_betas(long_context=False, thinking=False, streams_tools=False) == ()
    assert request_betas(long_context=True, thinking=True, streams_tools=True, fast=True) == (
        INTERLEAVED_THINKING,
        FINE_GRAINED_TOOL_STREAMING,
        CONTEXT_1M,
        FAST_MODE,
    )
    # Code Puppy's interleaved_thinking setting: off wins; on or unset follows thinking.
    off = HostChoices(interleaved_thinking=False)
    assert request_betas(long_context=False, thinking=True, streams_tools=False, choices=off) == ()
    on = HostChoices(interleaved_thinking=True)
    assert request_betas(long_context=False, thinking=False, streams_tools=False, choices=on) == ()


def test_request_settings_merge_without_duplicates_or_identity() -> None:
    run = {"anthropic_betas": ["x", IDENTITY, INTERLEAVED_THINKING], "temperature": 1.0}
    own = {"anthropic_betas": ["y", "x"]}
    merged = request_settings(run, (INTERLEAVED_THINKING, CONTEXT_1M), fast=True, own=own)
    assert merged == {
        "anthropic_betas": ["y", "x", INTERLEAVED_THINKING, CONTEXT_1M],
        "temperature": 1.0,
        "anthropic_speed": "fast",
    }
    assert run["anthropic_betas"] == ["x", IDENTITY, INTERLEAVED_THINKING]  # never changed
    assert request_settings(run, ()) is run
    chosen = request_settings({"anthropic_speed": "standard"}, (), fast=True)
    assert chosen == {"anthropic_speed": "standard"}  # a speed already chosen stays


def _params(tools: bool) -> Any:
    return SimpleNamespace(function_tools=[object()] if tools else [], output_tools=[])


@pytest.mark.parametrize("named", [False, True], ids=["positional", "named"])
def test_with_capabilities_on_a_pydantic_ai_call(named: bool) -> None:
    settings = {"anthropic_thinking": {"type": "enabled", "budget_tokens": 1024}}
    messages: list[Any] = []
    if named:
        args: tuple[Any, ...] = (messages,)
        kwargs = {"model_settings": settings, "model_request_parameters": _params(True)}
    else:
        args, kwargs = (messages, settings, _params(True)), {}
    sent_args, sent_kwargs = with_capabilities(
        args, kwargs, stream=True, long=True, choices=lambda: HostChoices(fast=True), own=None
    )
    sent = sent_kwargs["model_settings"] if named else sent_args[1]
    betas = [INTERLEAVED_THINKING, FINE_GRAINED_TOOL_STREAMING, CONTEXT_1M]
    if fast_mode_supported():
        betas.append(FAST_MODE)
        assert sent["anthropic_speed"] == "fast"
    assert sent["anthropic_betas"] == betas
    assert sent_args[0] is messages and "anthropic_betas" not in settings


def test_with_capabilities_leaves_a_plain_call_alone_and_survives_a_failing_host() -> None:
    def broken() -> HostChoices:
        raise OSError("puppy.cfg vanished")

    args = ([], None, _params(True))
    assert with_capabilities(args, {}, stream=False, long=False, choices=broken, own=None) == (
        args,
        {},
    )
