"""The auth flow of our model's requests (:mod:`.anthropic_model`): a fresh credential
per request from the token source — an OAuth token (the OAuth beta, our User-Agent, one
replacement token and one retry after a 401 or a revoked token's 403) or a Console API
key (no retry; a 401 says the key was revoked) — the one retry without the 1M-token
context Claude refuses an account (:mod:`.long_context`), and no SDK retry of a 429 that
cannot clear soon. Built on the anthropic SDK's own HTTP library, on first use.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

from .. import USER_AGENT
from ..account import unified_limits
from ..config import Settings
from ..errors import ClaudeOAuthError
from ..net.api_key_auth import apply_api_key_headers
from ..net.bearer_auth import ResponseObserver, TokenSource, apply_oauth_headers, notify_observers
from ..net.claude_answers import error_for_answer, host_of, needs_new_token
from ..net.error_codes import error_details
from ..tokens.credential import OAUTH, Credential
from .host_stack import sdk_http
from .long_context import LongContextFallback
from .model_failures import ANSWER_NOTE

#: The credential a request's pre-flight just fetched, for that request's auth flow
#: (same task, so the same context): one thread hop per request instead of two. The
#: auth flow takes it once; an SDK retry or a second request fetches anew.
PREFETCHED: contextvars.ContextVar[Credential | None] = contextvars.ContextVar(
    "claude_code_oauth_prefetched_credential", default=None
)


def credential_of(provider: TokenSource) -> Credential:
    """The provider's credential for the next request (``get_credential`` when it has one,
    else its access token as an OAuth credential)."""
    getter = getattr(provider, "get_credential", None)
    if getter is not None:
        credential: Credential = getter()
        return credential
    return Credential(OAUTH, provider.get_access_token())


def cannot_clear_soon(response: Any) -> bool:
    """A 429 no retry cures soon: an exhausted plan window (the unified headers say
    ``rejected``) or ``credits_required`` (out of extra usage). Body read."""
    limits = unified_limits.parse(response.headers.multi_items())
    if limits is not None and limits.limit_reached:
        return True
    import json

    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        return False
    return error_details(data)[0] == "credits_required"


@functools.cache  # built once, on first use (imports the SDK's HTTP library)
def make_auth_class() -> type:
    import anyio.to_thread

    if TYPE_CHECKING:
        # The SDK's HTTP library is httpx or httpx2 (a copy of httpx): one Auth shape.
        from httpx import Auth as SdkAuth
    else:
        SdkAuth = sdk_http().Auth

    class _OAuthAuth(SdkAuth):
        """Bearer from the provider; one retry with a replacement after a 401 or a
        revoked token's 403; no SDK retry of an exhausted usage window or credits."""

        def __init__(
            self,
            provider: TokenSource,
            settings: Settings,
            observers: tuple[ResponseObserver, ...] = (),
            long_context: LongContextFallback | None = None,
        ) -> None:
            self._provider = provider
            self._beta = settings.anthropic_beta
            self._version = settings.anthropic_version
            #: Told about every answer, success or error (usage capture, for one).
            self._observers = observers
            #: Claude's refusal of the 1M-token context: one retry without it.
            self.long_context = long_context or LongContextFallback()

        def _prepare(self, request: Any, token: str) -> None:
            # pydantic-ai sets its own User-Agent per request; ours is the honest one.
            apply_oauth_headers(
                request.headers,
                token,
                version=self._version,
                beta=self._beta,
                user_agent=USER_AGENT,
            )

        async def async_auth_flow(self, request: Any) -> AsyncGenerator[Any, Any]:
            credential = PREFETCHED.get()
            if credential is not None:
                PREFETCHED.set(None)  # one request's worth
            else:
                # The provider does blocking file and lock I/O (and maybe a refresh).
                credential = await anyio.to_thread.run_sync(credential_of, self._provider)
            if credential.is_api_key:
                apply_api_key_headers(
                    request.headers,
                    credential.secret,
                    version=self._version,
                    oauth_beta=self._beta,
                    user_agent=USER_AGENT,
                )
                response = yield request
                notify_observers(self._observers, response)
                if await self.long_context.retry_without(request, response):
                    response = yield request
                    notify_observers(self._observers, response)
                if response.status_code == 401:
                    # No refresh exists for a key: say it was revoked, not "sign in".
                    await response.aread()
                    response.extensions[ANSWER_NOTE] = error_for_answer(
                        401,
                        response.headers,
                        response.content,
                        host=host_of(str(request.url)),
                        secrets=[credential.secret],
                        api_key=True,
                    )
                return
            token = credential.secret
            self._prepare(request, token)
            response = yield request
            notify_observers(self._observers, response)
            if await self.long_context.retry_without(request, response):
                response = yield request
                notify_observers(self._observers, response)
            if response.status_code in (401, 403):
                await response.aread()
                if needs_new_token(response.status_code, response.content):
                    try:
                        token = await anyio.to_thread.run_sync(
                            self._provider.replace_rejected, token
                        )
                    except ClaudeOAuthError as exc:
                        # Why no retry was possible (a dead login, say): said instead.
                        response.extensions[ANSWER_NOTE] = exc
                        return
                    self._prepare(request, token)
                    response = yield request
                    notify_observers(self._observers, response)
                    response.extensions[ANSWER_NOTE] = "retried"
            if response.status_code == 429:
                await response.aread()
                if cannot_clear_soon(response):
                    # A used-up plan window, or no extra usage left: retrying before
                    # the reset cannot succeed.
                    response.headers["x-should-retry"] = "false"

        def sync_auth_flow(self, request: Any) -> Generator[Any, Any, None]:
            raise RuntimeError("claude-code-oauth models use the async client only")

    return _OAuthAuth
