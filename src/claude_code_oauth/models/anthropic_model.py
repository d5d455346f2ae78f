"""The pydantic-ai model behind a registered ``claude-code-*`` entry.

:func:`build_model` returns pydantic-ai's ``AnthropicModel`` over an
``anthropic.AsyncAnthropic`` client whose HTTP client authenticates every
request itself (:class:`_OAuthAuth`): a fresh ``Authorization: Bearer`` from the
token provider, the OAuth beta merged into whatever betas the request carries,
our own User-Agent, and never ``x-api-key``. When the sign-in serving the request
is a Console one (an API key, see :mod:`claude_code_oauth.tokens.api_key`), it
sends ``x-api-key`` with our User-Agent and no OAuth header at all instead; such
a request has no refresh, a 401 says the key was revoked
(:class:`~claude_code_oauth.errors.ApiKeyRejected`), and the extra-usage guard
does not apply (an API key has no plan windows).

What a caller may rely on for Claude's answers:

* Before each request the token provider is asked once: not signed in, a login
  that ended or a token endpoint that cannot be reached fails at once with its
  named error — no HTTP request, no SDK retry. Then the extra-usage guard, if
  any: with ``extra_usage = block`` and the plan's limit reached it fails with
  :class:`~claude_code_oauth.errors.ExtraUsageBlocked` and nothing is sent.
* Which answer is which named error, and whether anything is retried, is the
  refusal table (:func:`claude_code_oauth.net.refusal_table.refusals`): one
  replacement token and one retry for a 401 or a revoked token's 403 (as Claude
  Code does); a 429 of an exhausted window or ``credits_required`` tells the SDK
  not to retry (``x-should-retry: false``); otherwise only the SDK's own retries.
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

Each request also carries the capability betas it needs and, when the host's
per-model ``fast`` setting is on, fast mode (:mod:`.capabilities`); a Claude
that refuses this account the entry's 1M-token context gets the request again
without it (:mod:`.long_context`).

Honest identity: no system-prompt injection, no tool renaming, no copied
client headers, no identity beta. anthropic, its HTTP library and pydantic-ai
are imported only here and in :mod:`.host_stack`, when Code Puppy first builds
one of our models.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from .. import USER_AGENT
from ..config import Settings
from ..config_rules import check_endpoint
from ..errors import ApiUnreachable
from ..net import bounded_decoding
from ..net.bearer_auth import (
    ResponseObserver,
    TokenSource,
    default_observers,
)
from ..net.claude_answers import host_of
from ..tokens.credential import Credential
from .capabilities import HostChoices, fast_mode_profile, long_context, with_capabilities
from .host_stack import mismatch, sdk_http, unusable_model
from .long_context import LongContextFallback, fallback_for
from .model_failures import (
    REPLY_PREFIX,
    OnFailure,
    detached,
    explain,
    pydantic_error,
    reply_model,
    without_our_replies,
)
from .request_auth import PREFETCHED, credential_of, make_auth_class

__all__ = ["REPLY_PREFIX", "OnFailure", "build_model", "explain", "pydantic_error"]


class UsageGuard(Protocol):
    """What the model asks before sending: ``check()`` raises ExtraUsageBlocked."""

    def check(self) -> None: ...


#: What the SDK holds as its credential; the auth flow always replaces it.
_PLACEHOLDER = "replaced-per-request-by-claude-code-oauth"


@functools.cache  # built once, on first use (imports pydantic-ai)
def _model_class() -> type:
    import anyio.to_thread
    from pydantic_ai.models.anthropic import AnthropicModel

    class OAuthAnthropicModel(AnthropicModel):
        """AnthropicModel whose failures are Claude's answers, named in one line."""

        _provider_oauth: Any = None
        _on_failure: OnFailure  # set by build_model
        _api_host: str = ""
        #: The extra-usage guard: refuses to send while ``extra_usage = block`` says so.
        _usage_guard: UsageGuard | None = None
        #: The entry asks for the 1M-token context (decided when built).
        _long_context = False
        _fallback: LongContextFallback | None = None
        #: The host's per-model settings (fast mode, interleaved thinking), per request.
        _host_choices: Callable[[], HostChoices] | None = None

        def _capable(
            self, args: tuple[Any, ...], kwargs: dict[str, Any], *, stream: bool
        ) -> tuple[tuple[Any, ...], dict[str, Any]]:
            refused = self._fallback is not None and self._fallback.refused
            long = self._long_context and not refused
            own = getattr(self, "settings", None)
            return with_capabilities(
                args, kwargs, stream=stream, long=long, choices=self._host_choices, own=own
            )

        def _preflight_sync(self) -> Credential:
            credential = credential_of(self._provider_oauth)
            if self._usage_guard is not None and not credential.is_api_key:
                self._usage_guard.check()  # reads the usage snapshot
            return credential

        async def _preflight(self) -> None:
            # Not signed in, a dead login, an unreachable token endpoint, a block on
            # extra usage: say so now, before the SDK sends anything (and retries what
            # cannot succeed). Blocking file and lock I/O: off the event loop, in one hop;
            # the credential then serves this request's auth flow.
            PREFETCHED.set(await anyio.to_thread.run_sync(self._preflight_sync))

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
                outcome.__cause__ = detached(named)
            outcome.__suppress_context__ = True
            return outcome

        async def request(self, *args: Any, **kwargs: Any) -> Any:
            outcome = None
            try:
                await self._preflight()
                sent, options = self._capable(without_our_replies(args), kwargs, stream=False)
                return await super().request(*sent, **options)
            except Exception as exc:
                outcome = self._failure(exc, can_reply=True)
                if outcome is None:
                    raise
            finally:
                PREFETCHED.set(None)  # unused if the request failed before sending
            # Outside the handler: nothing implicit is chained to what is raised.
            if isinstance(outcome, str):
                return await reply_model(outcome, self.model_name).request(*args, **kwargs)
            raise outcome

        @asynccontextmanager
        async def request_stream(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            outcome = None
            started = False
            try:
                await self._preflight()
                sent, options = self._capable(without_our_replies(args), kwargs, stream=True)
                async with super().request_stream(*sent, **options) as s:
                    PREFETCHED.set(None)  # unused if the stream failed before sending
                    started = True
                    yield s
                    return
            except Exception as exc:
                PREFETCHED.set(None)
                # Before the stream (an HTTP error, no token) or mid-stream (``event:
                # error``, a dropped connection: only an exception can say that then).
                outcome = self._failure(exc, can_reply=not started)
                if outcome is None:
                    raise
            if isinstance(outcome, str):
                async with reply_model(outcome, self.model_name).request_stream(
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
    provider: TokenSource,
    *,
    observers: tuple[ResponseObserver, ...] | None = None,
    on_failure: OnFailure | None = None,
    usage_guard: UsageGuard | None = None,
    host_choices: Callable[[], HostChoices] | None = None,
    on_warning: Callable[[str], None] | None = None,
) -> Any:
    """The pydantic-ai model for a registered entry (raises ClaudeOAuthError if the entry
    is unusable; being signed out is not: each request then says so).

    ``model_config`` is the entry from ``extra_models.json``: its ``name`` is the
    API model id and ``custom_endpoint.url`` the API base URL. ``observers`` see
    every answer (default: the usage capture of ``settings``' sign-in).
    ``on_failure`` decides what a named failure becomes (default
    :func:`pydantic_error`: raise). ``usage_guard``, if given, is asked before each
    request and may refuse it (:class:`~claude_code_oauth.errors.ExtraUsageBlocked`,
    a named failure like any other). ``host_choices``, if given, is asked before each
    request for the host's per-model settings (fast mode, interleaved thinking: see
    :mod:`.capabilities`); it must be cheap. ``on_warning`` hears the one line said
    when Claude refuses this account the entry's 1M-token context (see
    :mod:`.long_context`).
    Where this Python's anthropic SDK and pydantic-ai cannot work together
    (:mod:`.host_stack`), the model returned fails every request with
    :class:`~claude_code_oauth.errors.HostStackMismatch` through ``on_failure``.
    """
    endpoint = model_config.get("custom_endpoint") or {}
    base_url = check_endpoint(
        str(endpoint.get("url") or settings.api_base_url), f"{model_key}.custom_endpoint.url"
    ).rstrip("/")
    api_model = str(model_config.get("name") or model_key.removeprefix(settings.prefix))
    on_failure = on_failure or pydantic_error(api_model)
    # A host whose anthropic SDK and pydantic-ai cannot work together: every request
    # says so in one line, with the fix (checked once per process, in memory).
    unusable = mismatch()
    if unusable is not None:
        return unusable_model(api_model, unusable, on_failure)
    import anthropic
    from pydantic_ai.providers.anthropic import AnthropicProvider

    http_lib = sdk_http()
    if observers is None:
        observers = default_observers(settings)
    fallback = fallback_for(settings, model_key, on_warning)
    auth = make_auth_class()(provider, settings, observers, fallback)
    http_client = http_lib.AsyncClient(
        auth=auth,
        timeout=http_lib.Timeout(600.0, connect=15.0),
        follow_redirects=False,
        # Compressed answers only within bounds (no bomb costs more than its cap).
        headers={"Accept-Encoding": bounded_decoding.ACCEPT},
        event_hooks={"response": [bounded_decoding.bound_async_response]},
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
    profile = fast_mode_profile()
    model = _model_class()(
        api_model,
        provider=AnthropicProvider(anthropic_client=client),
        **({"profile": profile} if profile else {}),
    )
    model._provider_oauth = provider
    model._on_failure = on_failure
    model._api_host = host_of(base_url)
    model._usage_guard = usage_guard
    model._long_context = long_context(model_config)
    model._fallback = fallback
    model._host_choices = host_choices
    return model
