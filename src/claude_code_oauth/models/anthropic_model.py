"""The pydantic-ai model behind a registered ``claude-code-*`` entry.

:func:`build_model` returns pydantic-ai's ``AnthropicModel`` over an
``anthropic.AsyncAnthropic`` client whose HTTP client authenticates every
request itself (:class:`_OAuthAuth`): a fresh ``Authorization: Bearer`` from the
token provider, the OAuth beta merged into whatever betas the request carries,
our own User-Agent, and never ``x-api-key``.

What a caller may rely on for Claude's answers (see
:mod:`claude_code_oauth.net.claude_answers` for the lines):

* Before each request the token provider is asked once: not signed in, a login
  that ended or a token endpoint that cannot be reached fails at once with its
  named error — no HTTP request, no SDK retry.
* 401: one replacement token (another process's rotation, or one refresh) and
  one retry; a second 401 says "sign in again".
* 403 "token revoked": no refresh; the provider marks the login as needing
  renewal, so every process says so without asking.
* 429 with the unified headers of an exhausted window: the SDK is told not to
  retry (``x-should-retry: false``); "Claude usage limit reached (…); resets at …".
* 400 third-party refusal, other 4xx: no retry. 429 without unified headers,
  529, 5xx: only the anthropic SDK's own retries, then one line.
* Every failure goes through ``on_failure(named_error, original, can_reply)``,
  which returns the exception to raise or — only while nothing has been streamed
  yet (``can_reply``) — a line the model answers with instead, as
  ``"[claude-code-oauth] <line>"`` (:data:`REPLY_PREFIX`). By default
  (:func:`pydantic_error`) it is a pydantic-ai ``ModelHTTPError`` /
  ``ModelAPIError`` whose ``str()`` is the named line and whose ``claude_error``
  attribute is the named error. A raised exception's cause is the named error
  (nothing else is chained), except for a failure that is transient by nature —
  an unreachable host, a stream broken mid-way — whose original error stays
  chained so a host can still retry it.
* Such replies are never sent back to Claude: they are left out of the
  conversation the next request carries.

Honest identity: no system-prompt injection, no tool renaming, no copied
client headers. anthropic, httpx2 and pydantic-ai are imported only here, when
Code Puppy first builds one of our models.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .. import USER_AGENT
from ..account import unified_limits
from ..config import Settings, check_endpoint
from ..errors import ApiUnreachable, ClaudeApiError, ClaudeOAuthError
from ..net.bearer_auth import (
    ResponseObserver,
    apply_oauth_headers,
    notify_observers,
    report_revocation,
)
from ..net.claude_answers import error_for_answer, host_of, unreachable

if TYPE_CHECKING:
    from ..tokens.provider import TokenProvider

#: (named error, original exception, can_reply) → the exception to raise, or a line
#: the model answers with instead (only when ``can_reply``: nothing streamed yet).
OnFailure = Callable[[ClaudeOAuthError, BaseException, bool], "BaseException | str"]

#: How a failure the model answers with begins (it is not Claude's text). Plain ASCII:
#: Code Puppy strips emoji and symbols from the answers it keeps.
REPLY_PREFIX = "[claude-code-oauth] "

#: What the SDK holds as its credential; the auth flow always replaces it.
_PLACEHOLDER = "replaced-per-request-by-claude-code-oauth"

#: Key in an answer's ``extensions``: what the auth flow learnt about it.
_NOTE = "claude_code_oauth"


@functools.cache  # built once, on first use (imports httpx2)
def _make_auth_class() -> type:
    import anyio.to_thread
    import httpx2

    class _OAuthAuth(httpx2.Auth):
        """Bearer from the provider; one retry with a replacement after a 401;
        a revoked login marked; no SDK retry of an exhausted usage window."""

        def __init__(
            self,
            provider: TokenProvider,
            settings: Settings,
            observers: tuple[ResponseObserver, ...] = (),
        ) -> None:
            self._provider = provider
            self._beta = settings.anthropic_beta
            self._version = settings.anthropic_version
            #: Told about every answer, success or error (usage capture, for one).
            self._observers = observers

        def _prepare(self, request: httpx2.Request, token: str) -> None:
            # pydantic-ai sets its own User-Agent per request; ours is the honest one.
            apply_oauth_headers(
                request.headers,
                token,
                version=self._version,
                beta=self._beta,
                user_agent=USER_AGENT,
            )

        async def async_auth_flow(self, request: httpx2.Request):  # type: ignore[override]
            # The provider does blocking file and lock I/O (and maybe a refresh).
            token = await anyio.to_thread.run_sync(self._provider.get_access_token)
            self._prepare(request, token)
            response = yield request
            notify_observers(self._observers, response)
            if response.status_code == 401:
                await response.aread()
                try:
                    token = await anyio.to_thread.run_sync(self._provider.replace_rejected, token)
                except ClaudeOAuthError as exc:
                    # Why no retry was possible: said instead of a bare 401.
                    response.extensions[_NOTE] = exc
                    return
                self._prepare(request, token)
                response = yield request
                notify_observers(self._observers, response)
                response.extensions[_NOTE] = "retried"
            if response.status_code == 403:
                await response.aread()
                await anyio.to_thread.run_sync(report_revocation, self._provider, token, response)
            elif response.status_code == 429:
                limits = unified_limits.parse(response.headers.multi_items())
                if limits is not None and limits.limit_reached:
                    # A used-up plan window: retrying before its reset cannot succeed.
                    response.headers["x-should-retry"] = "false"

        def sync_auth_flow(self, request: httpx2.Request):  # type: ignore[override]
            raise RuntimeError("claude-code-oauth models use the async client only")

    return _OAuthAuth


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
        note = getattr(response, "extensions", {}).get(_NOTE)
        if isinstance(note, ClaudeOAuthError):
            return note
        request = getattr(response, "request", None)
        return error_for_answer(
            response.status_code,
            response.headers,
            getattr(link, "body", None),
            host=host_of(str(request.url)) if request is not None else api_host,
            retried=note == "retried",
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


def pydantic_error(model_name: str) -> OnFailure:
    """The default ``on_failure``: always raise pydantic-ai's own exception types, so
    pydantic-ai's machinery (a ``FallbackModel``, for one) treats Claude's refusals as
    model errors."""

    def make(error: ClaudeOAuthError, original: BaseException, can_reply: bool = False) -> Any:
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
        return raised

    return make


def _detached(error: ClaudeOAuthError) -> ClaudeOAuthError:
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


def _without_our_replies(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """``args`` with our failure replies left out of the messages (the first argument)."""
    if args and isinstance(args[0], list) and any(is_our_reply(m) for m in args[0]):
        return ([m for m in args[0] if not is_our_reply(m)], *args[1:])
    return args


def _reply_model(text: str, model_name: str) -> Any:
    """A model whose only answer is ``text`` (streamed or not), for this pydantic-ai."""
    from pydantic_ai.messages import ModelResponse, TextPart
    from pydantic_ai.models.function import FunctionModel

    async def answer(messages: Any, info: Any) -> Any:
        return ModelResponse(parts=[TextPart(content=text)])

    async def stream(messages: Any, info: Any) -> Any:
        yield text

    return FunctionModel(answer, stream_function=stream, model_name=model_name)


@functools.cache  # built once, on first use (imports pydantic-ai)
def _model_class() -> type:
    import anyio.to_thread
    from pydantic_ai.models.anthropic import AnthropicModel

    class OAuthAnthropicModel(AnthropicModel):
        """AnthropicModel whose failures are Claude's answers, named in one line."""

        _provider_oauth: Any = None
        _on_failure: Any = None
        _api_host: str = ""

        async def _preflight(self) -> None:
            # Not signed in, a dead login, an unreachable token endpoint: say so now,
            # before the SDK sends anything (and retries what cannot succeed).
            await anyio.to_thread.run_sync(self._provider_oauth.get_access_token)

        def _failure(self, exc: BaseException, *, can_reply: bool) -> BaseException | str | None:
            """What to do about ``exc``: an exception to raise, a line to answer with, or
            ``None`` (not ours: re-raise it as it is)."""
            if getattr(exc, "claude_error", None) is not None:
                return None  # already ours (raised by a nested request)
            named = explain(exc, self._api_host)
            if named is None:
                return None
            outcome = self._on_failure(named, exc, can_reply)
            if isinstance(outcome, str):
                if can_reply:
                    return REPLY_PREFIX + " ".join(outcome.split())
                outcome = pydantic_error(self.model_name)(named, exc, False)
            # An explicit cause: chain walkers (Code Puppy's retry classifier) follow it
            # instead of the implicit context.
            if isinstance(named, ApiUnreachable) or not can_reply:
                outcome.__cause__ = exc  # a network blip or a broken stream stays one
            else:
                outcome.__cause__ = _detached(named)
            outcome.__suppress_context__ = True
            return outcome

        async def request(self, *args: Any, **kwargs: Any) -> Any:
            outcome = None
            try:
                await self._preflight()
                return await super().request(*_without_our_replies(args), **kwargs)
            except Exception as exc:
                outcome = self._failure(exc, can_reply=True)
                if outcome is None:
                    raise
            # Outside the handler: nothing implicit is chained to what is raised.
            if isinstance(outcome, str):
                return await _reply_model(outcome, self.model_name).request(*args, **kwargs)
            raise outcome

        @asynccontextmanager
        async def request_stream(self, *args: Any, **kwargs: Any):  # type: ignore[override]
            outcome = None
            started = False
            try:
                await self._preflight()
                async with super().request_stream(*_without_our_replies(args), **kwargs) as s:
                    started = True
                    yield s
                    return
            except Exception as exc:
                # Before the stream (an HTTP error, no token) or mid-stream (``event:
                # error``, a dropped connection: only an exception can say that then).
                outcome = self._failure(exc, can_reply=not started)
                if outcome is None:
                    raise
            if isinstance(outcome, str):
                async with _reply_model(outcome, self.model_name).request_stream(
                    *args, **kwargs
                ) as reply:
                    yield reply
                return
            raise outcome

    return OAuthAnthropicModel


def build_model(
    model_key: str,
    model_config: dict[str, Any],
    settings: Settings,
    provider: TokenProvider,
    *,
    observers: tuple[ResponseObserver, ...] = (),
    on_failure: OnFailure | None = None,
) -> Any:
    """The pydantic-ai model for a registered entry (raises ClaudeOAuthError if the entry
    is unusable; being signed out is not: each request then says so).

    ``model_config`` is the entry from ``extra_models.json``: its ``name`` is the
    API model id and ``custom_endpoint.url`` the API base URL. ``on_failure`` decides
    what a named failure becomes (default :func:`pydantic_error`: raise).
    """
    import anthropic
    import httpx2
    from pydantic_ai.providers.anthropic import AnthropicProvider

    endpoint = model_config.get("custom_endpoint") or {}
    base_url = check_endpoint(
        str(endpoint.get("url") or settings.api_base_url), f"{model_key}.custom_endpoint.url"
    ).rstrip("/")
    api_model = str(model_config.get("name") or model_key.removeprefix(settings.prefix))
    auth = _make_auth_class()(provider, settings, observers)
    http_client = httpx2.AsyncClient(
        auth=auth,
        timeout=httpx2.Timeout(600.0, connect=15.0),
        follow_redirects=False,
    )
    client = anthropic.AsyncAnthropic(
        base_url=base_url,
        # An explicit credential keeps the SDK from reading ANTHROPIC_API_KEY; the auth
        # above replaces it with a fresh token on every request (and a request that
        # finds no usable token fails before it is sent, so this never leaves).
        auth_token=_PLACEHOLDER,
        http_client=http_client,
        default_headers={"User-Agent": USER_AGENT},
    )
    model = _model_class()(api_model, provider=AnthropicProvider(anthropic_client=client))
    model._provider_oauth = provider
    model._on_failure = on_failure or pydantic_error(api_model)
    model._api_host = host_of(base_url)
    return model
