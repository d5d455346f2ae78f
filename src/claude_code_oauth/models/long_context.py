"""When Claude will not serve the 1M-token context an entry was registered with.

The models endpoint reports a model's largest input window (1 000 000 for
Sonnet 4.5), and an entry registered with more than 200 000 sends the
``context-1m-2025-08-07`` beta (see :mod:`.capabilities`). But whether *this
account* may use it is Claude's decision: an account without it gets a 400
("The long context beta is not yet available for this subscription.") for
every request carrying the beta — however short.

:class:`LongContextFallback`, shared by every model of one entry in a process
(:func:`fallback_for`) and their auth flows, turns that into the smaller figure
that requests are actually accepted at. What a caller may rely on:

* The refused request is sent again at once without the beta (one retry, in the
  auth flow: the SDK and the caller see only the second answer).
* From then on no model of that entry sends the long-context beta
  (:attr:`LongContextFallback.refused`), for the rest of the process.
* ``on_refused`` runs once (in a worker thread, never raising into the request):
  by default the entry's ``context_length`` in ``extra_models.json`` is lowered
  to 200 000, so the host compacts the conversation in time, and one warning
  line says why (:func:`lower_after_refusal`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..net.beta_header import split_betas, without_beta
from .capabilities import CONTEXT_1M, STANDARD_CONTEXT

if TYPE_CHECKING:
    from ..config import Settings

#: What Claude's refusal says (Claude Code recognises the same two markers).
_MARKERS = ("long context beta", CONTEXT_1M)


def is_long_context_refusal(status: int, body: bytes) -> bool:
    """Whether an answer is Claude's refusal of the long-context beta: a 400 whose
    error message names it."""
    if status != 400:
        return False
    try:
        message = json.loads(body)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(message, str) and any(m in message.lower() for m in _MARKERS)


class LongContextFallback:
    """Whether Claude refused this model's long-context beta, and the one retry."""

    def __init__(self, on_refused: Callable[[], None] | None = None) -> None:
        #: True once Claude refused the beta: no request of this model sends it again.
        self.refused = False
        self._on_refused = on_refused

    async def retry_without(self, request: Any, response: Any) -> bool:
        """If ``response`` refuses the long-context beta ``request`` carried: take the
        beta out of ``request`` (to be sent again) and return ``True``."""
        if response.status_code != 400:
            return False
        header = request.headers.get("anthropic-beta")
        if CONTEXT_1M not in split_betas(header):
            return False
        await response.aread()
        if not is_long_context_refusal(400, response.content):
            return False
        remaining = without_beta(header, CONTEXT_1M)
        if remaining:
            request.headers["anthropic-beta"] = remaining
        else:
            del request.headers["anthropic-beta"]
        first = not self.refused
        self.refused = True
        if first and self._on_refused is not None:
            import anyio.to_thread

            await anyio.to_thread.run_sync(self._tell)
        return True

    def _tell(self) -> None:
        notice = self._on_refused
        try:
            if notice is not None:
                notice()
        except Exception:  # a notice must never fail the request it is about
            logging.getLogger("claude_code_oauth").debug("long-context notice failed")


#: One fallback per models file and entry, shared by every model built for it in this
#: process (a host builds several: its agent's, a summarizer's, after each reload).
_SHARED: dict[tuple[str, str], LongContextFallback] = {}
_SHARED_LOCK = threading.Lock()


def fallback_for(
    settings: Settings, model_key: str, on_warning: Callable[[str], None] | None
) -> LongContextFallback:
    """The process's :class:`LongContextFallback` for entry ``model_key`` (created on
    first use, with :func:`lower_after_refusal` as its notice): once Claude refused the
    beta, no model of that entry sends it again, and the notice is given once."""
    key = (settings.models_path, model_key)
    with _SHARED_LOCK:
        shared = _SHARED.get(key)
        if shared is None:
            shared = LongContextFallback(lower_after_refusal(settings, model_key, on_warning))
            _SHARED[key] = shared
        return shared


def lower_after_refusal(
    settings: Settings, model_key: str, on_warning: Callable[[str], None] | None
) -> Callable[[], None]:
    """The default ``on_refused``: lower ``model_key``'s registered ``context_length`` to
    200 000 (if it is one of our entries) and say so in one line to ``on_warning``."""

    def refused() -> None:
        from ..errors import ClaudeOAuthError
        from .registry import lower_context_length

        try:
            lowered = lower_context_length(settings, model_key, STANDARD_CONTEXT)
        except ClaudeOAuthError:
            lowered = False
        if on_warning is not None:
            what = (
                f"its context length in {settings.models_path} is now {STANDARD_CONTEXT:,}"
                if lowered
                else f"conversations over {STANDARD_CONTEXT:,} tokens will be refused"
            )
            on_warning(
                f"Claude does not offer this account the 1M-token context of {model_key} "
                f"(the long context beta is not available for this subscription): its "
                f"requests now go without it, and {what}."
            )

    return refused
