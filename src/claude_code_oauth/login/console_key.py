"""The second step of a Console sign-in: the new access token creates an API key.

:func:`create_api_key` posts to ``{api_base_url}/api/oauth/claude_cli/create_api_key``
with ``Authorization: Bearer <access token>`` (the login's, used for nothing
else and never stored) and returns the :class:`~..tokens.api_key.ApiKeyRecord`
to save. It never retries: each success creates a key in the organization, so a
blind retry could leave an unused key behind.

Every failure is one line naming the host, never a token or a key, as an
:class:`~claude_code_oauth.errors.ApiKeyCreationError` (nothing has been saved
yet when it is raised): :class:`~claude_code_oauth.errors.ApiKeyNotPermitted`
for a 403 (no permission to create keys in the organization, or not a Console
login), Claude's own words for a 403 ``verification_required`` (verify first; the
place to do it when Claude names one on its own sites), and otherwise what Claude's
API answered — 401, 429, 5xx, an HTML page,
JSON without ``raw_key`` or with something that is not a key — or that it did
not answer within ``http_timeout``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from .. import USER_AGENT
from ..config import Settings
from ..errors import ApiKeyCreationError, ApiKeyNotPermitted, ClaudeOAuthError
from ..net.bearer_auth import apply_oauth_headers
from ..net.claude_answers import answer_detail, error_for_response, host_of
from ..net.http_client import fetch
from ..tokens.api_key import ApiKeyRecord

WHAT = "Claude's API"
#: Ends every failure: what the user has, and what to do.
RETRY_HINT = (
    "Nothing was saved (the profile's previous sign-in, if any, is unchanged); "
    "run the Console sign-in again to retry."
)


def _organization(login: dict[str, Any]) -> str:
    org = login.get("organization")
    name = org.get("name") if isinstance(org, dict) else None
    return f"the organization {name!r}" if isinstance(name, str) and name else "its organization"


def create_api_key(
    settings: Settings,
    access_token: str,
    login: dict[str, Any],
    *,
    client: httpx.Client | None = None,
    now: float | None = None,
) -> ApiKeyRecord:
    """Create an API key with a Console login's ``access_token``; ``login`` is that login's
    token answer (its account and organization go into the record)."""
    url = settings.create_api_key_url
    host = host_of(url)
    headers = {"Accept": "application/json"}
    apply_oauth_headers(
        headers, access_token, version=None, beta=settings.anthropic_beta, user_agent=USER_AGENT
    )
    fail = f"Could not create an API key for this Console sign-in: {WHAT} ({host})"
    try:
        response = fetch(
            "POST",
            url,
            what=f"{WHAT}'s create_api_key endpoint",
            timeout=settings.http_timeout,
            headers=headers,
            client=client,
        )
    except httpx.HTTPError as exc:
        raise ApiKeyCreationError(
            f"{fail} could not be reached: {type(exc).__name__}.", hint=RETRY_HINT
        ) from None
    except ClaudeOAuthError as exc:  # the deadline, an oversized answer
        raise ApiKeyCreationError(
            f"Could not create an API key for this Console sign-in: {exc.reason}", hint=RETRY_HINT
        ) from None
    secrets = [access_token]
    refusal = error_for_response(response, what=WHAT, secrets=secrets)
    if refusal is not None:
        if refusal.error_code == "verification_required":
            raise ApiKeyCreationError(
                f"Could not create an API key for this Console sign-in: {refusal}",
                hint=RETRY_HINT,
            )
        if response.status_code == 403 and refusal.error_type == "permission_error":
            detail = answer_detail(response, secrets)
            raise ApiKeyNotPermitted(
                f"{WHAT} ({host}) refused to create an API key ({detail}): this "
                f"account may not create API keys in {_organization(login)}.",
                hint="Ask an admin of the organization for a role that may create API keys, "
                "or sign in with another organization. Nothing was saved.",
            )
        raise ApiKeyCreationError(
            f"Could not create an API key for this Console sign-in: {refusal.reason}",
            hint=RETRY_HINT,
        )
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ApiKeyCreationError(
            f"{fail} answered HTTP {response.status_code} with a body that is not a JSON object.",
            hint=RETRY_HINT,
        )
    try:
        return ApiKeyRecord.from_create_answer(
            body, login=login, now=time.time() if now is None else now
        )
    except ValueError as exc:
        raise ApiKeyCreationError(
            f"{fail} answered HTTP {response.status_code} without an API key: {exc}.",
            hint=RETRY_HINT,
        ) from None
