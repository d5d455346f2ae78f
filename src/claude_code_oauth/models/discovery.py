"""Ask Claude's API which models the signed-in account can use.

:func:`discover_models` pages through ``GET {api_base_url}/v1/models`` with the
OAuth bearer token — or, for a Console sign-in, its API key (``x-api-key``, no
OAuth beta, no Bearer) — and returns the models in the API's order, without
duplicates. Every failure - network, timeout, HTML or non-JSON answers, HTTP
errors, malformed pages, a pagination that does not advance - raises
:class:`~claude_code_oauth.errors.DiscoveryError` with one line that never
contains a token. Nothing is written to disk here: callers discover first and
then register (so no file lock is ever held across the network).

This module imports ``httpx`` at the top; commands load it lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from .. import USER_AGENT
from ..errors import DiscoveryError, TokenEndpointError
from ..net.api_key_auth import ApiKeyAuth
from ..net.bearer_auth import OAuthBearerAuth, RememberingSource, TokenSource
from ..net.claude_answers import error_for_response
from ..net.http_client import MAX_MODELS_PAGE, fetch, shared_client
from ..net.http_responses import json_object_or_raise

if TYPE_CHECKING:
    from ..config import Settings

#: The API's maximum page size.
DEFAULT_PAGE_SIZE = 1000

#: The largest ``max_input_tokens`` believed (today's models take at most about a million).
MAX_INPUT_TOKENS = 100_000_000

#: Last-resort bound on pages: a server that keeps inventing new ``last_id``
#: values must not keep us looping forever.
MAX_PAGES = 1000

_WHAT = "the models endpoint"


@dataclass(frozen=True)
class DiscoveredModel:
    """One model the account can use.

    ``display_name`` is never empty (it falls back to ``id``); ``created_at`` is the
    API's string as given; ``max_input_tokens`` is a positive int (at most
    :data:`MAX_INPUT_TOKENS`) when the API reports one, else ``None``.
    """

    id: str
    display_name: str
    created_at: str | None
    max_input_tokens: int | None


def _scrub(text: str, tokens: list[str]) -> str:
    for token in tokens:
        if token:
            text = text.replace(token, "[token]")
    return text


def _model_from_item(item: Any, page: int, index: int) -> DiscoveredModel:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
        raise DiscoveryError(
            f"Model discovery failed: {_WHAT} returned an entry without a string 'id'"
            f" (page {page}, entry {index + 1})."
        )
    model_id: str = item["id"]
    name = item.get("display_name")
    created = item.get("created_at")
    limit = item.get("max_input_tokens")
    # bool is an int subclass; a JSON true is not a token count. A limit past
    # MAX_INPUT_TOKENS (400 digits, say) is nonsense, not a context length to register.
    has_limit = (
        isinstance(limit, int) and not isinstance(limit, bool) and 0 < limit <= MAX_INPUT_TOKENS
    )
    return DiscoveredModel(
        id=model_id,
        display_name=name if isinstance(name, str) and name.strip() else model_id,
        created_at=created if isinstance(created, str) else None,
        max_input_tokens=limit if has_limit else None,
    )


def _get_page(
    client: httpx.Client,
    url: str,
    params: dict[str, str | int],
    auth: OAuthBearerAuth | ApiKeyAuth,
    timeout: float,
    tokens: list[str],
) -> dict[str, Any]:
    host = urlsplit(url).hostname or url
    try:
        # A redirect would be an unexpected answer, not something to chase with a token:
        # fetch never follows one.
        response = fetch(
            "GET",
            url,
            what=_WHAT,
            timeout=timeout,
            max_bytes=MAX_MODELS_PAGE,
            params=params,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            auth=auth,
            client=client,
        )
        if not 200 <= response.status_code < 300:
            # Claude's refusal, named (third-party, revoked, usage limit, ...); a 401 here
            # already had its one refresh-and-retry.
            refusal = error_for_response(
                response,
                what=_WHAT,
                retried=True,
                secrets=tokens,
                api_key=isinstance(auth, ApiKeyAuth),
            )
            if refusal is not None:
                raise DiscoveryError(f"Model discovery failed: {refusal}") from refusal
        return json_object_or_raise(response, _WHAT, secrets=tokens)
    except httpx.HTTPError as exc:  # (fetch already turned a timeout into NetworkError)
        detail = _scrub(" ".join(str(exc).split()) or type(exc).__name__, tokens)
        raise DiscoveryError(
            f"Model discovery failed: could not reach {host} (timeout {timeout:g} s): {detail}."
        ) from None
    except TokenEndpointError as exc:
        # No answer in time, or a 2xx that is not a models page (every other status was
        # named above). Chained; the message was built with the tokens blanked out.
        raise DiscoveryError(f"Model discovery failed: {exc}") from exc


def discover_models(
    settings: Settings,
    source: TokenSource | None = None,
    *,
    api_key: str | None = None,
    client: httpx.Client | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> list[DiscoveredModel]:
    """Every model the account can use, in the API's order, each id once.

    Asks with the OAuth tokens of ``source``, or with ``api_key`` (a Console
    sign-in's: ``x-api-key``, no OAuth header); give exactly one. Follows
    ``has_more``/``last_id`` to the last page. An account with no models
    gives ``[]``. ``client`` (optional) is used as is and not closed; otherwise the
    process-wide client is used. Errors raised by ``source`` itself (for
    example "not signed in") propagate unchanged; every other failure raises
    :class:`DiscoveryError` (with an API key, a 401 says the key was revoked).
    """
    if not 1 <= page_size <= DEFAULT_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {DEFAULT_PAGE_SIZE}")
    if (source is None) == (api_key is None):
        raise ValueError("give either a token source or an API key")
    url = settings.api_base_url + "/v1/models"
    timeout = settings.http_timeout
    auth: OAuthBearerAuth | ApiKeyAuth
    if api_key is not None:
        tokens = [api_key]
        auth = ApiKeyAuth(api_key, settings)
    else:
        assert source is not None
        remembering = RememberingSource(source)
        tokens = remembering.tokens
        auth = OAuthBearerAuth(remembering, settings)
    http = shared_client() if client is None else client
    models: list[DiscoveredModel] = []
    seen_ids: set[str] = set()
    seen_cursors: set[str] = set()
    after_id: str | None = None
    for page in range(1, MAX_PAGES + 1):
        params: dict[str, str | int] = {"limit": page_size}
        if after_id is not None:
            params["after_id"] = after_id
        body = _get_page(http, url, params, auth, timeout, tokens)
        data = body.get("data")
        if not isinstance(data, list):
            raise DiscoveryError(
                f"Model discovery failed: {_WHAT} answered without a 'data' list (page {page})."
            )
        for index, item in enumerate(data):
            model = _model_from_item(item, page, index)
            if model.id not in seen_ids:
                seen_ids.add(model.id)
                models.append(model)
        if body.get("has_more") is not True:
            return models
        after_id = _next_cursor(body, data, page, seen_cursors)
    raise DiscoveryError(
        f"Model discovery failed: {_WHAT} still had more after {MAX_PAGES} pages;"
        " stopping to avoid an endless loop."
    )


def _next_cursor(body: dict[str, Any], data: list[Any], page: int, seen: set[str]) -> str:
    """The ``after_id`` for the next page; raise if the pagination would not advance."""
    last_id = body.get("last_id")
    if not isinstance(last_id, str) or not last_id:
        raise DiscoveryError(
            f"Model discovery failed: {_WHAT} said has_more but gave no 'last_id' (page {page})."
        )
    if last_id in seen:
        raise DiscoveryError(
            f"Model discovery failed: {_WHAT} repeated last_id {last_id[:80]!r} on page {page};"
            " stopping to avoid an endless loop."
        )
    if not data:
        raise DiscoveryError(
            f"Model discovery failed: {_WHAT} said has_more on page {page} but sent no models;"
            " stopping to avoid an endless loop."
        )
    seen.add(last_id)
    return last_id
