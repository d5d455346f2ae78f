"""What a failed request of our model becomes: a named error, an exception, or a reply.

:func:`explain` finds the named error behind whatever the anthropic SDK and
pydantic-ai raised (our own error from the token provider, Claude's answer, or a
transport failure). A host's ``on_failure`` (:data:`OnFailure`) then decides:
raise an exception (by default :func:`pydantic_error`: pydantic-ai's own types
with the line as their text), or — while nothing has been streamed — answer
with the line (:func:`reply_model`), prefixed by :data:`REPLY_PREFIX` and left
out of every later request (:func:`without_our_replies`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..errors import ClaudeApiError, ClaudeOAuthError
from ..net.claude_answers import error_for_answer, host_of, unreachable
from ..net.http_responses import sent_secrets

#: (named error, original exception, can_reply) → the exception to raise, or a line
#: the model answers with instead (only when ``can_reply``: nothing streamed yet).
OnFailure = Callable[[ClaudeOAuthError, BaseException, bool], "BaseException | str"]

#: How a failure the model answers with begins (it is not Claude's text). Plain ASCII:
#: Code Puppy strips emoji and symbols from the answers it keeps.
REPLY_PREFIX = "[claude-code-oauth] "


#: Key in an answer's ``extensions``: what the auth flow learnt about it.
ANSWER_NOTE = "claude_code_oauth"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes/contexts, each once (bounded)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(seen) < 16 and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def explain(exc: BaseException, api_host: str) -> ClaudeOAuthError | None:
    """The named error behind a failed model request, or ``None`` if it is not ours to name.

    Looks through ``exc``'s cause chain for, in order: our own error (from the token
    provider), Claude's answer (an anthropic ``APIStatusError``: its status, headers
    and body), or a transport failure (an anthropic ``APIConnectionError``).
    """
    chain = _chain(exc)
    for link in chain:
        if isinstance(link, ClaudeOAuthError):
            return link
    for link in chain:
        response = getattr(link, "response", None)
        if response is None or not hasattr(link, "status_code"):
            continue
        note = getattr(response, "extensions", {}).get(ANSWER_NOTE)
        if isinstance(note, ClaudeOAuthError):
            return note
        request = getattr(response, "request", None)
        return error_for_answer(
            response.status_code,
            response.headers,
            getattr(link, "body", None),
            host=host_of(str(request.url)) if request is not None else api_host,
            retried=note == "retried",
            secrets=sent_secrets(request),
        )
    for index, link in enumerate(chain):
        if type(link).__name__ in ("APIConnectionError", "APITimeoutError"):
            request = getattr(link, "request", None)
            host = host_of(str(request.url)) if request is not None else api_host
            # The transport's own kind (ConnectError, ReadTimeout, ...), what it wraps.
            kind = chain[index + 1] if index + 1 < len(chain) else link
            return unreachable(kind, host)
    return None


@functools.cache  # built once, on first use (imports pydantic-ai)
def _pydantic_errors() -> tuple[type, type]:
    from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError

    class ClaudeModelHTTPError(ModelHTTPError):
        """Claude's HTTP refusal as pydantic-ai knows it; ``str()`` is the named line."""

        claude_error: ClaudeOAuthError

        def __str__(self) -> str:
            return str(self.claude_error)

    class ClaudeModelAPIError(ModelAPIError):
        """A failed model request that had no usable HTTP answer; ``str()`` is the line."""

        claude_error: ClaudeOAuthError

    return ClaudeModelHTTPError, ClaudeModelAPIError


def pydantic_error(
    model_name: str,
) -> Callable[[ClaudeOAuthError, BaseException, bool], BaseException]:
    """The default ``on_failure``: always raise pydantic-ai's own exception types, so
    pydantic-ai's machinery (a ``FallbackModel``, for one) treats Claude's refusals as
    model errors."""

    def make(
        error: ClaudeOAuthError, original: BaseException, can_reply: bool = False
    ) -> BaseException:
        http_error, api_error = _pydantic_errors()
        status = getattr(error, "status", None)
        if isinstance(error, ClaudeApiError) and status is not None and status >= 400:
            body = {
                "type": "error",
                "error": {"type": error.error_type or "error", "message": str(error)},
            }
            raised = http_error(status, model_name, body)
        else:
            raised = api_error(model_name, str(error))
        raised.claude_error = error
        exception: BaseException = raised
        return exception

    return make


def detached(error: ClaudeOAuthError) -> ClaudeOAuthError:
    """``error`` with nothing chained behind it, so no host mistakes our named refusal
    for the transient transport or 5xx error it was made from."""
    error.__cause__ = None
    error.__context__ = None
    return error


def is_our_reply(message: Any) -> bool:
    """Whether ``message`` (a pydantic-ai message) is a failure the model answered with."""
    parts = getattr(message, "parts", None)
    if getattr(message, "kind", None) != "response" or not parts:
        return False
    mark = REPLY_PREFIX.strip()
    return all(str(getattr(part, "content", "")).strip().startswith(mark) for part in parts)


def without_our_replies(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with our failure replies left out of the messages (the first argument)."""
    if args and isinstance(args[0], list) and any(is_our_reply(m) for m in args[0]):
        return ([m for m in args[0] if not is_our_reply(m)], *args[1:])
    return args


def reply_model(text: str, model_name: str) -> Any:
    """A model whose only answer is ``text`` (streamed or not), for this pydantic-ai."""
    from pydantic_ai.messages import ModelResponse, TextPart
    from pydantic_ai.models.function import FunctionModel

    async def answer(messages: Any, info: Any) -> Any:
        return ModelResponse(parts=[TextPart(content=text)])

    async def stream(messages: Any, info: Any) -> Any:
        yield text

    return FunctionModel(answer, stream_function=stream, model_name=model_name)
