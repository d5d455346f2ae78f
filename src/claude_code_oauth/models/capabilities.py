"""What a request through one of our models asks Claude for beyond the basics:
capability betas and fast mode — capability, never identity.

Our models send the capability betas Code Puppy's own Claude clients send, each
only when the request needs it:

* ``context-1m-2025-08-07`` (:data:`CONTEXT_1M`) when the entry's ``context_length``
  is above :data:`STANDARD_CONTEXT` (200 000), never otherwise: without it Claude
  refuses a request over 200 000 tokens. Decided once, when the model is built
  (:func:`long_context`); an entry Claude told "the long context beta is not
  yet available for this subscription" stops sending it (see :mod:`.long_context`).
* ``interleaved-thinking-2025-05-14`` (:data:`INTERLEAVED_THINKING`) when the
  request thinks (:func:`thinks`), unless the host's per-model
  ``interleaved_thinking`` setting is off.
* ``fine-grained-tool-streaming-2025-05-14`` (:data:`FINE_GRAINED_TOOL_STREAMING`)
  when the request is streamed and carries tools.
* ``fast-mode-2026-02-01`` (:data:`FAST_MODE`) with ``speed: "fast"`` when the
  host's per-model ``fast`` setting is on (billed at a higher rate).

:func:`with_capabilities` applies them to one pydantic-ai request;
:func:`fast_mode_supported` says whether this pydantic-ai can send ``speed`` at all
(it imports pydantic-ai; nothing else here imports anything).

What a caller may rely on: these betas join the request's own and the OAuth beta
through :func:`~claude_code_oauth.net.beta_header.merge_betas` (each once, order
kept, never an identity beta such as ``claude-code-20250219``);
:func:`request_betas`, :func:`thinks` and :func:`with_capabilities` are cheap (no
I/O of their own) and never raise on odd settings. :class:`HostChoices` is what the
host's per-model settings say, read per request by the host adapter (a cached file
stat).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..net.beta_header import merge_betas

#: The input window every current Claude model accepts without a beta.
STANDARD_CONTEXT = 200_000

CONTEXT_1M = "context-1m-2025-08-07"
INTERLEAVED_THINKING = "interleaved-thinking-2025-05-14"
FINE_GRAINED_TOOL_STREAMING = "fine-grained-tool-streaming-2025-05-14"
FAST_MODE = "fast-mode-2026-02-01"

#: Thinking configurations that mean the request thinks.
_THINKING_TYPES = frozenset({"enabled", "adaptive"})


@dataclass(frozen=True)
class HostChoices:
    """The host's per-model settings that change a request: ``fast`` (fast mode on),
    ``interleaved_thinking`` (``None``: not set, so it follows thinking)."""

    fast: bool = False
    interleaved_thinking: bool | None = None


NO_CHOICES = HostChoices()


def long_context(model_config: Mapping[str, Any]) -> bool:
    """Whether the entry's ``context_length`` (an int) is above 200 000."""
    length = model_config.get("context_length")
    return isinstance(length, int) and not isinstance(length, bool) and length > STANDARD_CONTEXT


def thinks(settings: Mapping[str, Any] | None, fallback: Mapping[str, Any] | None = None) -> bool:
    """Whether a request with these pydantic-ai model settings thinks: an
    ``anthropic_thinking`` of type ``enabled`` or ``adaptive``, or, without one,
    pydantic-ai's unified ``thinking`` setting on. ``fallback`` (the model's own
    settings) is asked for what ``settings`` do not say."""
    for source in (settings, fallback):
        if not source:
            continue
        config = source.get("anthropic_thinking")
        if isinstance(config, Mapping):
            return config.get("type") in _THINKING_TYPES
        unified = source.get("thinking")
        if unified is not None:
            return unified is not False
    return False


def request_betas(
    *,
    long_context: bool,
    thinking: bool,
    streams_tools: bool,
    choices: HostChoices = NO_CHOICES,
    fast: bool = False,
) -> tuple[str, ...]:
    """The capability betas of one request, in a fixed order (see the module doc).
    ``fast`` is whether fast mode is actually sent (on, and the client can send it)."""
    betas: list[str] = []
    if thinking and choices.interleaved_thinking is not False:
        betas.append(INTERLEAVED_THINKING)
    if streams_tools:
        betas.append(FINE_GRAINED_TOOL_STREAMING)
    if long_context:
        betas.append(CONTEXT_1M)
    if fast:
        betas.append(FAST_MODE)
    return tuple(betas)


def request_settings(
    settings: Mapping[str, Any] | None,
    betas: tuple[str, ...],
    *,
    fast: bool = False,
    own: Mapping[str, Any] | None = None,
) -> Mapping[str, Any] | None:
    """pydantic-ai model settings for one request: ``settings`` (the run's; ``own``:
    the model's, which pydantic-ai merges under them key by key) with ``betas`` merged
    into ``anthropic_betas`` and, with ``fast``, ``anthropic_speed: "fast"`` unless a
    speed is already chosen. ``settings`` itself is never changed; without anything
    to add it is returned as it is."""
    if not betas and not fast:
        return settings
    merged = dict(settings or {})
    if betas:
        earlier = (own or {}).get("anthropic_betas") or (), merged.get("anthropic_betas") or ()
        merged["anthropic_betas"] = merge_betas(*earlier, betas)
    if fast and "anthropic_speed" not in merged and "anthropic_speed" not in (own or {}):
        merged["anthropic_speed"] = "fast"
    return merged


def with_capabilities(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    stream: bool,
    long: bool,
    choices: Callable[[], HostChoices] | None,
    own: Mapping[str, Any] | None,
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments of a pydantic-ai ``request``/``request_stream`` call (``messages,
    model_settings, model_request_parameters``, positional or named) with the request's
    capability betas and fast mode added to its model settings. ``long``: the entry's
    long context is in use; ``choices``: the host's per-model settings (asked once;
    one that fails counts as none); ``own``: the model's own settings."""
    named = "model_settings" in kwargs
    settings = kwargs["model_settings"] if named else (args[1] if len(args) > 1 else None)
    params = kwargs.get("model_request_parameters", args[2] if len(args) > 2 else None)
    chosen = NO_CHOICES
    if choices is not None:
        try:
            chosen = choices()
        except Exception:  # the host's settings must never stop a request
            chosen = NO_CHOICES
    fast = chosen.fast and fast_mode_supported()
    tools = stream and bool(
        getattr(params, "function_tools", None) or getattr(params, "output_tools", None)
    )
    betas = request_betas(
        long_context=long,
        thinking=thinks(settings, own),
        streams_tools=tools,
        choices=chosen,
        fast=fast,
    )
    updated = request_settings(settings, betas, fast=fast, own=own)
    if updated is settings:
        return args, kwargs
    if named or len(args) < 2:
        return args, {**kwargs, "model_settings": updated}
    return (args[0], updated, *args[2:]), kwargs


@functools.cache
def fast_mode_supported() -> bool:
    """Whether the installed pydantic-ai can send fast mode: its Anthropic model
    settings know ``anthropic_speed`` (detected, not assumed from a version). Imports
    pydantic-ai the first time it is asked."""
    from pydantic_ai.models.anthropic import AnthropicModelSettings

    return "anthropic_speed" in _keys(AnthropicModelSettings)


def fast_mode_profile() -> dict[str, Any] | None:
    """The model profile that lets pydantic-ai send ``speed`` for any model of ours
    (its own list of fast models lags Claude's: Claude decides, and says so when it
    will not), or ``None`` where pydantic-ai has no such gate."""
    if not fast_mode_supported():
        return None
    from pydantic_ai.profiles import anthropic as profiles

    declared = getattr(profiles, "AnthropicModelProfile", None)
    if "anthropic_supports_fast_speed" in _keys(declared):
        return {"anthropic_supports_fast_speed": True}
    return None


def _keys(typed_dict: Any) -> frozenset[str]:
    """The keys a TypedDict declares (inherited ones included)."""
    required: frozenset[str] = getattr(typed_dict, "__required_keys__", frozenset())
    optional: frozenset[str] = getattr(typed_dict, "__optional_keys__", frozenset())
    return frozenset(required) | optional
