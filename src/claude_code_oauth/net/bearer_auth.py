"""An ``httpx.Auth`` that sends the OAuth access token and survives a rotation.

It injects ``Authorization: Bearer`` with a fresh token from the token provider.
On an answer another token may cure — a 401, or a 403 "OAuth token has been
revoked" (:func:`~claude_code_oauth.net.claude_answers.needs_new_token`), as
Claude Code decides — it asks the provider for a replacement naming the rejected
token (the provider returns a token another process already rotated, or
refreshes once) and retries the request once; the second answer is returned as
is. Only a refresh answered ``invalid_grant`` proves the login dead: the provider
then marks it and raises :class:`~claude_code_oauth.errors.LoginRequired`, which
every process says from then on without asking the server. The organization's
refusal of OAuth and a missing OAuth beta are never refreshed. Every other
answer is returned untouched; turn it into a named one-line error with
:func:`claude_code_oauth.net.claude_answers.raise_for_answer`.
It never sends ``x-api-key``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .beta_header import merge_header

if TYPE_CHECKING:
    from ..config import Settings


class TokenSource(Protocol):
    """What :class:`OAuthBearerAuth` needs from the token provider."""

    def get_access_token(self) -> str: ...

    def replace_rejected(self, rejected: str) -> str: ...


#: Called with every answer an auth flow sees (httpx or httpx2 response: ``status_code``
#: and ``headers`` are available, the body may not be read yet).
ResponseObserver = Callable[[Any], None]


def notify_observers(observers: Iterable[ResponseObserver], response: Any) -> None:
    """Tell each observer about ``response``; an observer that fails is logged at debug
    level and forgotten, so observing never fails or delays a request."""
    for observe in observers:
        try:
            observe(response)
        except Exception:
            import logging

            log = logging.getLogger("claude_code_oauth")  # pragma: no mutate
            log.debug("response observer failed", exc_info=True)  # pragma: no mutate


def merge_beta(existing: str | None, beta: str) -> str:
    """``existing`` betas (comma separated) plus ``beta``, each once, order kept, no
    identity beta (see :mod:`.beta_header`)."""
    return merge_header(existing, beta)


def apply_oauth_headers(
    headers: MutableMapping[str, str],
    token: str,
    *,
    version: str | None,
    beta: str | None,
    user_agent: str | None = None,
) -> None:
    """Make ``headers`` (httpx or httpx2) carry OAuth the way Claude's API wants it:
    ``Authorization: Bearer``, never ``x-api-key``, ``anthropic-version`` if absent,
    the OAuth beta merged into ``anthropic-beta`` (an identity beta the request
    carried is dropped), and optionally our User-Agent."""
    headers.pop("x-api-key", None)
    headers["Authorization"] = f"Bearer {token}"
    if user_agent:
        headers["User-Agent"] = user_agent
    if version and "anthropic-version" not in headers:
        headers["anthropic-version"] = version
    if beta:
        headers["anthropic-beta"] = merge_beta(headers.get("anthropic-beta"), beta)


def default_observers(settings: Settings | None) -> tuple[ResponseObserver, ...]:
    """What every answer is shown to unless the caller says otherwise: with
    ``settings``, the usage capture of that sign-in (the snapshot beside its token
    file, see :mod:`claude_code_oauth.account.usage_capture`); without, nothing."""
    if settings is None:
        return ()
    from ..account.usage_capture import capture_for

    return (capture_for(settings),)


class RememberingSource:
    """A :class:`TokenSource` that remembers every token it handed out.

    For blanking them from error text: servers and proxies have been seen echoing
    the Authorization header, and after a 401 the retry carries a second token.
    """

    def __init__(self, source: TokenSource) -> None:
        self._source = source
        self.tokens: list[str] = []

    def get_access_token(self) -> str:
        token = self._source.get_access_token()
        self.tokens.append(token)
        return token

    def replace_rejected(self, rejected: str) -> str:
        token = self._source.replace_rejected(rejected)
        self.tokens.append(token)
        return token


class OAuthBearerAuth(httpx.Auth):
    """Bearer token from ``source``; one retry with a replacement token after a 401 or
    a revoked token's 403.

    With ``settings`` it also adds ``anthropic-version`` (if absent) and merges the
    OAuth beta into ``anthropic-beta``, which Claude's API requires for OAuth.
    Each of ``observers`` is told about every answer (see :func:`notify_observers`);
    by default (``None``) that is the usage capture when ``settings`` are given, so a
    library user's own requests keep ``claude-code-oauth usage`` current. Pass
    ``()`` for none.
    """

    def __init__(
        self,
        source: TokenSource,
        settings: Settings | None = None,
        *,
        observers: Iterable[ResponseObserver] | None = None,
    ) -> None:
        self._source = source
        self._version = settings.anthropic_version if settings else None
        self._beta = settings.anthropic_beta if settings else None
        self._observers = default_observers(settings) if observers is None else tuple(observers)

    def _prepare(self, request: httpx.Request, token: str) -> None:
        apply_oauth_headers(request.headers, token, version=self._version, beta=self._beta)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        from .claude_answers import needs_new_token

        token = self._source.get_access_token()
        self._prepare(request, token)
        response = yield request
        notify_observers(self._observers, response)
        if response.status_code in (401, 403):
            response.read()
            if needs_new_token(response.status_code, response.content):
                token = self._source.replace_rejected(token)
                self._prepare(request, token)
                response = yield request
                notify_observers(self._observers, response)

    async def async_auth_flow(self, request: httpx.Request):  # type: ignore[override]
        # The provider does blocking file and lock I/O; keep it off the event loop.
        import anyio.to_thread

        from .claude_answers import needs_new_token

        token = await anyio.to_thread.run_sync(self._source.get_access_token)
        self._prepare(request, token)
        response = yield request
        notify_observers(self._observers, response)
        if response.status_code in (401, 403):
            await response.aread()
            if needs_new_token(response.status_code, response.content):
                token = await anyio.to_thread.run_sync(self._source.replace_rejected, token)
                self._prepare(request, token)
                response = yield request
                notify_observers(self._observers, response)
