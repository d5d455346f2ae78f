"""How a failed request of our models reaches a Code Puppy user: one short line.

Code Puppy (every release from the first with entry-point plugins to 0.0.946)
renders an exception from a model in its agent loop like this:

* most types: "Unexpected error: <text>", then — back in the prompt loop — a full
  traceback (100–350 lines), after first re-running the turn with escalating
  waits if it classifies the error (or anything chained to it) as transient;
* ``pydantic_ai.exceptions.RunCancelled``: the run ends, "Cancelled" is shown, no
  traceback, no retry, Code Puppy's prompt is back at once (its text is not shown).

So a refusal is said by us, in one line (``emit_error``), and the request then
ends with :class:`ClaudeRequestStopped` (a ``RunCancelled``) carrying nothing
transient in its chain: the user sees our line and "Cancelled". The one
exception is a host that cannot be reached at all: that stays a pydantic-ai
``ModelAPIError`` whose text names the host, with the transport error chained,
so Code Puppy's own handling of network blips (re-running the turn, then one
"transient error" line, no traceback) still applies.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from ...errors import ApiUnreachable
from .messages import Emit

if TYPE_CHECKING:
    from ...errors import ClaudeOAuthError
    from ...models.anthropic_model import RaiseAs


@functools.cache
def stopped_class() -> type[BaseException]:
    """``ClaudeRequestStopped``: a ``RunCancelled`` (an ``InterruptedError`` where this
    pydantic-ai has no ``RunCancelled``) whose ``claude_error`` is the named error."""
    try:
        from pydantic_ai.exceptions import RunCancelled as base
    except ImportError:  # pragma: no cover - every supported Code Puppy has it
        base = InterruptedError  # type: ignore[assignment,misc]

    class ClaudeRequestStopped(base):  # type: ignore[misc,valid-type]
        """The request ended because of ``claude_error`` (already shown to the user)."""

        claude_error: ClaudeOAuthError

    return ClaudeRequestStopped


def raise_as(model_name: str) -> RaiseAs:
    """The ``raise_as`` our Code Puppy models are built with (see the module docstring)."""
    from ...models.anthropic_model import pydantic_error

    as_model_error = pydantic_error(model_name)

    def make(error: ClaudeOAuthError, original: BaseException) -> BaseException:
        if isinstance(error, ApiUnreachable):
            return as_model_error(error, original)
        Emit().error(str(error))
        stopped = stopped_class()(str(error))
        stopped.claude_error = error
        return stopped

    return make
