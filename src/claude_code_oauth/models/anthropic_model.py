"""The pydantic-ai model behind a registered ``claude-code-*`` entry.

:func:`build_model` returns pydantic-ai's ``AnthropicModel`` over an
``anthropic.AsyncAnthropic`` client whose HTTP client authenticates every
request itself (:class:`_OAuthAuth`): a fresh ``Authorization: Bearer`` from the
token provider, the OAuth beta merged into whatever betas the request carries,
our own User-Agent, and never ``x-api-key``. A 401 is answered once through the
provider's rejected-token path and the request retried once; if Claude refuses
again, the error says to sign in again.

Honest identity: no system-prompt injection, no tool renaming, no copied
client headers. anthropic, its HTTP library and pydantic-ai are imported only
here, when Code Puppy first builds one of our models.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from .. import USER_AGENT
from ..config import Settings, check_endpoint
from ..errors import ClaudeOAuthError
from ..net.bearer_auth import ResponseObserver, apply_oauth_headers, notify_observers

if TYPE_CHECKING:
    from ..tokens.provider import TokenProvider

SIGN_IN_AGAIN = (
    "Claude rejected the OAuth token even after a refresh. Sign in again with "
    "/claude-code-auth (or `claude-code-oauth login`)."
)


@functools.cache
def sdk_http() -> Any:
    """The HTTP library the installed anthropic SDK is built on, which its
    ``http_client`` must come from: ``httpx2`` for anthropic 1.x, ``httpx`` for
    0.x (Code Puppy 0.0.716 installs anthropic 0.79). Detected, not assumed."""
    import importlib

    import anthropic

    for cls in anthropic.DefaultAsyncHttpxClient.__mro__:
        root = cls.__module__.split(".")[0]
        if cls.__name__ == "AsyncClient" and root in ("httpx", "httpx2"):
            return importlib.import_module(root)
    raise ClaudeOAuthError(
        "The installed anthropic SDK is built on neither httpx nor httpx2; "
        "claude-code-oauth models cannot use it."
    )


@functools.cache  # built once, on first use (imports the SDK's HTTP library)
def _make_auth_class() -> type:
    import anyio.to_thread

    http_lib = sdk_http()

    class _OAuthAuth(http_lib.Auth):
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

        def _prepare(self, request: Any, token: str) -> None:
            # pydantic-ai sets its own User-Agent per request; ours is the honest one.
            apply_oauth_headers(
                request.headers,
                token,
                version=self._version,
                beta=self._beta,
                user_agent=USER_AGENT,
            )

        async def async_auth_flow(self, request: Any):  # type: ignore[override]
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

        def sync_auth_flow(self, request: Any):  # type: ignore[override]
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


@functools.cache  # built once, on first use (imports pydantic-ai)
def _model_class() -> type:
    from contextlib import asynccontextmanager

    from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError
    from pydantic_ai.models.anthropic import AnthropicModel

    class OAuthAnthropicModel(AnthropicModel):
        """AnthropicModel whose auth failures say what to do."""

        _oauth_auth: Any = None

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
            try:
                return await super().request(*args, **kwargs)
            except (ModelAPIError, ClaudeOAuthError) as exc:
                clearer = self._clarify(exc)
                if clearer is None:
                    raise
                raise clearer from None

        @asynccontextmanager
        async def request_stream(self, *args: Any, **kwargs: Any):  # type: ignore[override]
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
    observers: tuple[ResponseObserver, ...] = (),
) -> Any:
    """The pydantic-ai model for a registered entry (raises ClaudeOAuthError if unusable).

    ``model_config`` is the entry from ``extra_models.json``: its ``name`` is the
    API model id and ``custom_endpoint.url`` the API base URL.
    """
    import anthropic
    from pydantic_ai.providers.anthropic import AnthropicProvider

    http_lib = sdk_http()

    endpoint = model_config.get("custom_endpoint") or {}
    base_url = check_endpoint(
        str(endpoint.get("url") or settings.api_base_url), f"{model_key}.custom_endpoint.url"
    ).rstrip("/")
    api_model = str(model_config.get("name") or model_key.removeprefix(settings.prefix))
    auth = _make_auth_class()(provider, settings, observers)
    http_client = http_lib.AsyncClient(
        auth=auth,
        timeout=http_lib.Timeout(600.0, connect=15.0),
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
    return model
