"""An ``httpx.Auth`` that sends the OAuth access token and survives a rotation.

It injects ``Authorization: Bearer`` with a fresh token from the token provider,
and on a 401 asks the provider for a replacement naming the rejected token (the
provider returns a token another process already rotated, or refreshes once),
then retries the request once. A second 401 is returned to the caller as is.
A 403 saying the token was revoked is never refreshed: the provider marks the
login as needing renewal (:func:`report_revocation`), so every process says so
without asking the server. Every other answer is returned untouched; turn it
into a named one-line error with
:func:`claude_code_oauth.net.claude_answers.raise_for_answer`.
It never sends ``x-api-key``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from .beta_header import merge_header

if TYPE_CHECKING:
    from ..config import Settings


class TokenSource(Protocol):
    """What :class:`OAuthBearerAuth` needs from the token provider.

    A source may also have ``mark_login_revoked(token, why)`` (the provider does):
    it is then told when Claude's API says a token's login was revoked.
    """

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

            logging.getLogger("claude_code_oauth").debug("response observer failed", exc_info=True)


def report_revocation(source: Any, sent: str, response: Any) -> None:
    """If ``response`` (body read) is Claude's 403 "token revoked", tell ``source`` (a
    token provider with ``mark_login_revoked``) that the login behind ``sent`` is dead.

    Best effort: a source without the method, or a lock that cannot be taken, leaves
    the answer to speak for itself (it is still a 403 the caller sees).
    """
    from ..errors import ClaudeOAuthError, LoginRevoked
    from .claude_answers import error_for_response

    mark = getattr(source, "mark_login_revoked", None)
    if mark is None or response.status_code != 403:
        return
    error = error_for_response(response, secrets=[sent])
    if not isinstance(error, LoginRevoked):
        return
    try:
        mark(sent, error.reason)
    except ClaudeOAuthError:
        import logging

        logging.getLogger("claude_code_oauth").debug("could not mark the login as revoked")


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

    def mark_login_revoked(self, rejected: str, why: str) -> bool:
        """Passed on to the wrapped source, if it can mark a revoked login."""
        mark = getattr(self._source, "mark_login_revoked", None)
        return bool(mark(rejected, why)) if mark is not None else False


class OAuthBearerAuth(httpx.Auth):
    """Bearer token from ``source``; one retry after a 401 with a replacement token;
    a revoked token's login marked as needing renewal (no refresh).

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
        token = self._source.get_access_token()
        self._prepare(request, token)
        response = yield request
        notify_observers(self._observers, response)
        if response.status_code == 401:
            response.read()
            token = self._source.replace_rejected(token)
            self._prepare(request, token)
            response = yield request
            notify_observers(self._observers, response)
        if response.status_code == 403:
            response.read()
            report_revocation(self._source, token, response)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # The provider does blocking file and lock I/O; keep it off the event loop.
        import anyio.to_thread

        token = await anyio.to_thread.run_sync(self._source.get_access_token)
        self._prepare(request, token)
        response = yield request
        notify_observers(self._observers, response)
        if response.status_code == 401:
            await response.aread()
            token = await anyio.to_thread.run_sync(self._source.replace_rejected, token)
            self._prepare(request, token)
            response = yield request
            notify_observers(self._observers, response)
        if response.status_code == 403:
            await response.aread()
            await anyio.to_thread.run_sync(report_revocation, self._source, token, response)
