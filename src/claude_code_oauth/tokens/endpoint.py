"""The two calls to the token endpoint: exchange a code, refresh a token.

Both post JSON (Claude's endpoint refuses forms) with our own User-Agent and
the configured timeout (the whole call, see :func:`~..net.http_client.fetch`),
and never retry: a code is single-use, and a refresh token rotates, so a blind
retry could look like a replay. Every failure is a named error from
:mod:`errors` with one secret-free line — among them the two Claude Code names
(CONTEXT §2c): :class:`~..errors.AccountOnHold` (``account_on_hold``, with where to
see why: the answer's ``error_uri`` when it is on Anthropic's own sites, else
https://claude.ai/restricted) and :class:`~..errors.SessionStale` (a 403
``session_stale_relogin``: sign in again). A 2xx answer is returned as the JSON
object it is, unchecked: :meth:`TokenRecord.from_token_response` decides whether
it is usable, and the provider keeps a rotated refresh token even from an
answer that is not. (Revoking a login is :mod:`.revoke`.)
"""

from __future__ import annotations

from typing import Any

import httpx

from .. import USER_AGENT
from ..config import Settings
from ..config_rules import url_host
from ..errors import (
    AccountOnHold,
    ClaudeOAuthError,
    NetworkError,
    SessionStale,
    UnexpectedResponse,
)
from ..net.http_client import fetch
from ..net.http_responses import anthropic_url, json_object_or_raise, looks_like_html

WHAT = "The token endpoint"
MOVED_HINT = (
    "If Claude moved it, set CLAUDE_CODE_OAUTH_TOKEN_URL to the current token URL "
    "(docs/configuration.md says which one Claude Code uses)."
)


#: Where Claude sends an account on hold when its answer names no (usable) ``error_uri``.
HOLD_URI = "https://claude.ai/restricted"
_STALE = "session_stale_relogin"


def _named_refusal(status: int, body: Any, host: str) -> ClaudeOAuthError | None:
    """The error for the refusals Claude Code names (an account on hold, a stale
    session), or ``None``. ``status`` is 400, 401 or 403 (the only ones Claude Code
    reads them from); ``body`` is the parsed answer."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if body.get("error_description") == "account_on_hold" and error in (
        "invalid_grant",
        "access_denied",
    ):
        uri = anthropic_url(body.get("error_uri")) or HOLD_URI
        return AccountOnHold(
            f"Your Claude account is on hold: {WHAT.lower()} ({host}) answered account_on_hold "
            f"(HTTP {status}). See {uri} for why, and to appeal. No refresh helps until "
            "Anthropic lifts the hold; then sign in again.",
            uri=uri,
            error=str(error),
            status=status,
        )
    named = [error, body.get("error_description")]
    if isinstance(error, dict):
        details = error.get("details")
        named += [error.get("type"), error.get("resource")]
        named += [details.get("error_code")] if isinstance(details, dict) else []
    if status == 403 and _STALE in named:
        return SessionStale(
            f"{WHAT} ({host}) answered {_STALE} (HTTP 403): the session is stale and "
            "needs a new sign-in.",
            error=_STALE,
            status=status,
        )
    return None


def _post(settings: Settings, body: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    url = settings.token_url
    host = url_host(url)
    timeout = settings.http_timeout if timeout is None else timeout
    # json= sets Content-Type: application/json.
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        response = fetch("POST", url, what=WHAT, timeout=timeout, headers=headers, json=body)
    except httpx.HTTPError as exc:
        # The exception text may hold the URL but never the body; keep only its kind.
        raise NetworkError(
            f"Could not reach {WHAT.lower()} ({host}): {type(exc).__name__}.",
            hint="Check your connection, proxy settings and CLAUDE_CODE_OAUTH_TOKEN_URL.",
        ) from None
    if 300 <= response.status_code < 400:
        raise UnexpectedResponse(
            f"{WHAT} ({host}) answered with a redirect (HTTP {response.status_code});"
            " the token URL is probably outdated.",
            hint="Set CLAUDE_CODE_OAUTH_TOKEN_URL to the current endpoint.",
        )
    sent = [str(body[k]) for k in ("code", "code_verifier", "refresh_token") if body.get(k)]
    status = response.status_code
    if status in (404, 410):
        raise UnexpectedResponse(
            f"{WHAT} ({host}) answered HTTP {status} (not found): it has probably moved.",
            hint=MOVED_HINT,
        )
    if status in (400, 401, 403):
        try:
            refusal = _named_refusal(status, response.json(), host)
        except (ValueError, RecursionError):
            refusal = None
        if refusal is not None:
            raise refusal
    try:
        # The caller checks the object (TokenRecord.from_token_response): an answer that
        # is unusable may still carry a rotated refresh token that must be kept.
        return json_object_or_raise(response, f"{WHAT} ({host})", secrets=sent)
    except UnexpectedResponse as exc:  # a 5xx is a ServerError, HTML or not
        if looks_like_html(response):
            # A web page where JSON belongs: most often a URL Claude no longer serves.
            raise UnexpectedResponse(
                f"{exc} The endpoint has probably moved.", hint=MOVED_HINT
            ) from None
        raise


def exchange_code(
    settings: Settings,
    *,
    code: str,
    verifier: str,
    redirect_uri: str,
    state: str,
) -> dict[str, Any]:
    """Exchange an authorization code; ``redirect_uri`` must equal the authorize one.

    Claude requires the non-standard ``state`` in this body.
    """
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": settings.client_id,
        "code_verifier": verifier,
        "state": state,
    }
    return _post(settings, body)


def refresh(
    settings: Settings,
    refresh_token: str,
    *,
    scope: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Trade a refresh token for new tokens. The old refresh token is spent afterwards
    (unless the answer carries none). ``scope`` (space separated) is sent when given;
    without it the server keeps the login's grant. ``timeout``: instead of
    ``http_timeout``, for a second call that must end within the first one's."""
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": settings.client_id,
    }
    if scope:
        body["scope"] = scope
    return _post(settings, body, timeout)
