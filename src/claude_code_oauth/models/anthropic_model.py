"""The pydantic-ai model behind a registered ``claude-code-*`` entry.

:func:`build_model` returns pydantic-ai's ``AnthropicModel`` over an
``anthropic.AsyncAnthropic`` client whose HTTP client authenticates every
request itself (:class:`_OAuthAuth`): a fresh ``Authorization: Bearer`` from the
token provider, the OAuth beta merged into whatever betas the request carries,
our own User-Agent, and never ``x-api-key``. A 401 is answered once through the
provider's rejected-token path and the request retried once; if Claude refuses
again, the error says to sign in again.

Honest identity: no system-prompt injection, no tool renaming, no copied
client headers. anthropic, httpx2 and pydantic-ai are imported only here, when
Code Puppy first builds one of our models.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Protocol

from .. import USER_AGENT
from ..config import Settings, check_endpoint
from ..errors import ClaudeOAuthError, ExtraUsageBlocked
from ..net.bearer_auth import (
    ResponseObserver,
    apply_oauth_headers,
    default_observers,
    notify_observers,
)

if TYPE_CHECKING:
    from ..tokens.provider import TokenProvider


class UsageGuard(Protocol):
    """What the model asks before sending: ``check()`` raises ExtraUsageBlocked."""

    def check(self) -> None: ...


SIGN_IN_AGAIN = (
    "Claude rejected the OAuth token even after a refresh. Sign in again with "
    "/claude-code-auth (or `claude-code-oauth login`)."
)


@functools.cache  # built once, on first use (imports httpx2)
def _make_auth_class() -> type:
    import anyio.to_thread
    import httpx2

    class _OAuthAuth(httpx2.Auth):
        """Bearer from the provider; one retry with a replacement after a 401."""

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
            #: Why the last request was finally refused (shown instead of a bare 401).
            self.last_refusal: str | None = None

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
            if response.status_code != 401:
                return
            await response.aread()
            try:
                fresh = await anyio.to_thread.run_sync(self._provider.replace_rejected, token)
            except ClaudeOAuthError as exc:
                self.last_refusal = str(exc)
                return
            self._prepare(request, fresh)
            retried = yield request
            notify_observers(self._observers, retried)
            if retried.status_code == 401:
                self.last_refusal = SIGN_IN_AGAIN

        def sync_auth_flow(self, request: httpx2.Request):  # type: ignore[override]
            raise RuntimeError("claude-code-oauth models use the async client only")

    return _OAuthAuth


def _oauth_cause(exc: BaseException) -> ClaudeOAuthError | None:
    """Our error somewhere in ``exc``'s cause chain (the SDK wraps auth failures)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ClaudeOAuthError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


#: How our own words start when the model answers in Claude's place.
OUR_VOICE = "claude-code-oauth: "


def _answer_instead(text: str, model_name: str) -> Any:
    """A model that answers ``text`` without sending anything (request and stream).

    An exception from a model is shown by no Code Puppy release 0.0.716–0.0.946 as
    one short line (a traceback, retries or a lost message, depending on the
    release); a plain text answer is shown as one line by all of them.
    """
    from pydantic_ai.messages import ModelResponse, TextPart
    from pydantic_ai.models.function import FunctionModel

    async def answer(messages: Any, info: Any) -> Any:
        return ModelResponse(parts=[TextPart(text)])

    async def stream(messages: Any, info: Any) -> Any:
        yield text

    return FunctionModel(answer, stream_function=stream, model_name=model_name)


@functools.cache  # built once, on first use (imports pydantic-ai)
def _model_class() -> type:
    from contextlib import asynccontextmanager

    from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError
    from pydantic_ai.models.anthropic import AnthropicModel

    class OAuthAnthropicModel(AnthropicModel):
        """AnthropicModel whose auth failures say what to do."""

        _oauth_auth: Any = None
        #: The extra-usage guard: refuses to send while ``extra_usage = block`` says so.
        _usage_guard: UsageGuard | None = None

        def _refusal(self) -> Any:
            """A stand-in model answering the extra-usage guard's refusal, or ``None``
            to send. The refusal is one line in our voice, kept apart from Claude's."""
            if self._usage_guard is None:
                return None
            try:
                self._usage_guard.check()
            except ExtraUsageBlocked as exc:
                return _answer_instead(OUR_VOICE + str(exc), self.model_name)
            return None

        def _clarify(self, exc: Exception) -> Exception | None:
            if isinstance(exc, ModelHTTPError) and exc.status_code == 401:
                message = self._oauth_auth.last_refusal or SIGN_IN_AGAIN
                return ModelHTTPError(
                    401,
                    self.model_name,
                    body={
                        "type": "error",
                        "error": {"type": "authentication_error", "message": message},
                    },
                )
            cause = _oauth_cause(exc)
            if cause is not None:
                return ModelAPIError(self.model_name, str(cause))
            return None

        async def request(self, *args: Any, **kwargs: Any) -> Any:
            refusal = self._refusal()
            if refusal is not None:
                return await refusal.request(*args, **kwargs)
            try:
                return await super().request(*args, **kwargs)
            except (ModelAPIError, ClaudeOAuthError) as exc:
                clearer = self._clarify(exc)
                if clearer is None:
                    raise
                raise clearer from None

        @asynccontextmanager
        async def request_stream(self, *args: Any, **kwargs: Any):  # type: ignore[override]
            refusal = self._refusal()
            if refusal is not None:
                async with refusal.request_stream(*args, **kwargs) as stream:
                    yield stream
                return
            try:
                async with super().request_stream(*args, **kwargs) as stream:
                    yield stream
            except (ModelAPIError, ClaudeOAuthError) as exc:
                clearer = self._clarify(exc)
                if clearer is None:
                    raise
                raise clearer from None

    return OAuthAnthropicModel


def build_model(
    model_key: str,
    model_config: dict[str, Any],
    settings: Settings,
    provider: TokenProvider,
    *,
    observers: tuple[ResponseObserver, ...] | None = None,
    usage_guard: UsageGuard | None = None,
) -> Any:
    """The pydantic-ai model for a registered entry (raises ClaudeOAuthError if unusable).

    ``model_config`` is the entry from ``extra_models.json``: its ``name`` is the
    API model id and ``custom_endpoint.url`` the API base URL. ``observers`` see
    every answer (default: the usage capture of ``settings``' sign-in);
    ``usage_guard``, if given, may refuse a request before it is sent: the guard
    raises :class:`~claude_code_oauth.errors.ExtraUsageBlocked`, and the model
    answers its one line (prefixed ``claude-code-oauth:``) as text instead of
    sending, because that is the one shape every Code Puppy release shows as
    one line (an exception gives a traceback, retries or a lost message).
    """
    import anthropic
    import httpx2
    from pydantic_ai.providers.anthropic import AnthropicProvider

    endpoint = model_config.get("custom_endpoint") or {}
    base_url = check_endpoint(
        str(endpoint.get("url") or settings.api_base_url), f"{model_key}.custom_endpoint.url"
    ).rstrip("/")
    api_model = str(model_config.get("name") or model_key.removeprefix(settings.prefix))
    if observers is None:
        observers = default_observers(settings)
    auth = _make_auth_class()(provider, settings, observers)
    http_client = httpx2.AsyncClient(
        auth=auth,
        timeout=httpx2.Timeout(600.0, connect=15.0),
        follow_redirects=False,
    )
    client = anthropic.AsyncAnthropic(
        base_url=base_url,
        # An explicit credential keeps the SDK from reading ANTHROPIC_API_KEY; the auth
        # above replaces it with a fresh token on every request.
        auth_token=provider.get_access_token(),
        http_client=http_client,
        default_headers={"User-Agent": USER_AGENT},
    )
    model = _model_class()(api_model, provider=AnthropicProvider(anthropic_client=client))
    model._oauth_auth = auth
    model._usage_guard = usage_guard
    return model
