"""What /v1/messages accepts beyond the basics: the input window, the long-context
beta, and fast mode — with Claude's own refusals.

* A request larger than its window (input tokens estimated from its size) is
  refused as Claude does: 400 ``invalid_request_error`` "prompt is too long:
  N tokens > M maximum". The window is 200 000 tokens; with the
  ``context-1m-2025-08-07`` beta it is the model's ``max_input_tokens`` (1 000 000
  for Sonnet 4.5 here).
* An account denied the long context (:meth:`ClaudeEmulator.deny_long_context
  <claude_code_oauth.testing.emulator.control.ClaudeEmulator.deny_long_context>`)
  gets 400 "The long context beta is not yet available for this subscription."
  for every request carrying that beta, however short.
* ``speed`` is ``"standard"`` or ``"fast"`` and needs the ``fast-mode-2026-02-01``
  beta (without it Claude answers "speed: Extra inputs are not permitted"); the
  answer's ``usage.speed`` says which speed served the request.
"""

from __future__ import annotations

from typing import Any

from .wire import Response, anthropic_error

STANDARD_WINDOW = 200_000
CONTEXT_1M = "context-1m-2025-08-07"
FAST_MODE = "fast-mode-2026-02-01"
SPEEDS = ("standard", "fast")
LONG_CONTEXT_REFUSAL = "The long context beta is not yet available for this subscription."


def betas_of(headers: dict[str, str]) -> list[str]:
    """The betas a request carries (its ``anthropic-beta`` header), in order."""
    return [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]


def window(model: dict[str, Any], betas: list[str]) -> int:
    """The input window of ``model`` for a request carrying ``betas``."""
    largest = model.get("max_input_tokens") or STANDARD_WINDOW
    return largest if CONTEXT_1M in betas else min(largest, STANDARD_WINDOW)


def refusal(
    model: dict[str, Any],
    body: dict[str, Any],
    betas: list[str],
    input_tokens: int,
    *,
    long_context_denied: bool,
    headers: dict[str, str],
) -> Response | None:
    """Claude's 400 for a request the checks above refuse, else ``None``."""
    if long_context_denied and CONTEXT_1M in betas:
        return anthropic_error(400, "invalid_request_error", LONG_CONTEXT_REFUSAL, headers)
    limit = window(model, betas)
    if input_tokens > limit:
        message = f"prompt is too long: {input_tokens} tokens > {limit} maximum"
        return anthropic_error(400, "invalid_request_error", message, headers)
    if "speed" in body:
        if FAST_MODE not in betas:
            message = "speed: Extra inputs are not permitted"
            return anthropic_error(400, "invalid_request_error", message, headers)
        if body["speed"] not in SPEEDS:
            message = "speed: Input should be 'standard' or 'fast'"
            return anthropic_error(400, "invalid_request_error", message, headers)
    return None
