"""How a failed request of our models reaches a Code Puppy user: one short line.

What Code Puppy does with an exception from a model (every release from 0.0.716,
the first with entry-point plugins, to 0.0.946, as read in their source and seen
in tests; docs/code-puppy.md's "Failures are the turn's answer" says the same):

* most types: "Unexpected error: <text>", then a full traceback (170–700 lines),
  after first re-running the turn for ~25–35 s if it thinks the error transient;
* no exception type is shown as one short line in every release: the
  ``except*`` branches that do not re-raise lose the text (``InterruptedError``:
  "Interrupted:  (1 sub-exception)"), ``RunCancelled`` ("Cancelled") exists only
  from 0.0.721, and 0.0.721–0.0.807 installed today print a traceback for *any*
  failed run (their ``except* mcp.shared.exceptions.McpError`` fails with mcp 2).

So a failure known before anything was streamed — Claude's refusal, its usage
limit, an overload after the SDK's own retries, no sign-in, a dead login, an
unreachable token endpoint or API, an anthropic SDK this Code Puppy's pydantic-ai
cannot drive (:mod:`claude_code_oauth.models.host_stack`) — is *answered*: the
model replies with the one line, ``[claude-code-oauth] <line>``, which every
release shows as the turn's answer, without retry or traceback. The reply is
never sent back to Claude (the next request leaves it out). Only a stream that breaks after it
started cannot be answered any more: it is raised as a pydantic-ai
``ModelAPIError`` whose text is our line, with the original error chained, so
Code Puppy treats it as the transient failure it is (it re-runs the turn from
the last completed step, then prints "Unexpected error: <our line>" and a
one-line notice).

A usage limit's line names the other signed-in profiles, if any: switching is the
user's choice, never made for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...errors import ClaudeOAuthError
    from ...models.anthropic_model import OnFailure


def on_failure(model_name: str) -> OnFailure:
    """The ``on_failure`` our Code Puppy models are built with (see the module docstring)."""
    from ...models.anthropic_model import pydantic_error

    as_model_error = pydantic_error(model_name)

    def decide(
        error: ClaudeOAuthError, original: BaseException, can_reply: bool
    ) -> BaseException | str:
        if can_reply:
            return _with_other_profiles(error)
        return as_model_error(error, original, False)

    return decide


def _with_other_profiles(error: ClaudeOAuthError) -> str:
    """The line, and for a usage limit the other signed-in profiles (never raises)."""
    from ...errors import UsageLimitReached

    line = str(error)
    if not isinstance(error, UsageLimitReached):
        return line
    try:
        from ...profiles.listing import other_profiles_hint
        from .settings import host_settings

        others = other_profiles_hint(host_settings())
    except Exception:
        others = None
    return f"{line} {others}" if others else line
