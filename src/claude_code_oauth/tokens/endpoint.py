"""The two calls to the token endpoint: exchange a code, refresh a token.

Both post JSON (Claude's endpoint refuses forms) with our own User-Agent and
the configured timeout (the whole call, see :func:`~..net.http_client.fetch`),
and never retry: a code is single-use, and a refresh token rotates, so a blind
retry could look like a replay. Every failure is a named error from
:mod:`errors` with one secret-free line. A 2xx answer is returned as the JSON
object it is, unchecked: :meth:`TokenRecord.from_token_response` decides whether
it is usable, and the provider keeps a rotated refresh token even from an
answer that is not.
"""

from __future__ import annotations

from typing import Any

import httpx

from .. import USER_AGENT
from ..config import Settings
from ..config_rules import url_host
from ..errors import NetworkError, UnexpectedResponse
from ..net.http_client import fetch
from ..net.http_responses import json_object_or_raise, looks_like_html

WHAT = "The token endpoint"
MOVED_HINT = (
    "If Claude moved it, set CLAUDE_CODE_OAUTH_TOKEN_URL to the current token URL "
    "(the README says which one Claude Code uses)."
)


def _post(settings: Settings, body: dict[str, Any], client: httpx.Client | None) -> dict[str, Any]:
    url = settings.token_url
    host = url_host(url)
    timeout = settings.http_timeout
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }
    try:
        response = fetch(
            "POST", url, what=WHAT, timeout=timeout, headers=headers, json=body, client=client
        )
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
    try:
        # The caller checks the object (TokenRecord.from_token_response): an answer that
        # is unusable may still carry a rotated refresh token that must be kept.
        return json_object_or_raise(response, f"{WHAT} ({host})", secrets=sent)
    except UnexpectedResponse as exc:
        if status < 500 and looks_like_html(response):
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
    client: httpx.Client | None = None,
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
    return _post(settings, body, client)


def refresh(
    settings: Settings, refresh_token: str, *, client: httpx.Client | None = None
) -> dict[str, Any]:
    """Trade a refresh token for new tokens. The old refresh token is spent afterwards."""
    body = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": settings.client_id,
    }
    return _post(settings, body, client)
