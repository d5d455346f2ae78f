"""The doctor's network checks: each endpoint answers, and answers this sign-in.

Every check makes at most one request (``fetch``: a total deadline of
``http_timeout`` and a body cap), and turns any failure into a :class:`Check`
instead of raising. The token endpoint is asked without any token: its
reachability never spends or probes the refresh token. Profile, models and
inference use the access token as any request would (refreshing it first only
if it is due).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .. import USER_AGENT
from ..errors import (
    ApiKeyRejected,
    ApiUnavailable,
    ClaudeOAuthError,
    LoginRequired,
    NotSignedIn,
    SignInRejected,
    ThirdPartyRefused,
    UsageLimitReached,
)
from ..net.claude_answers import error_for_response, host_of
from ..net.refusal_lines import api_key_hint, third_party_hint
from .check import Check
from .local import sign_in_fix

if TYPE_CHECKING:
    import httpx

    from ..config import Settings
    from ..models.discovery import DiscoveredModel

_FAMILY_COST = ("haiku", "sonnet", "opus")
PING = "Reply with one word."


def skipped(settings: Settings, name: str, why: str, fix: str | None = None) -> Check:
    """A check that could not run; its fix is ``fix``, by default signing in (to the
    profile ``settings`` is about)."""
    return Check(name, False, why, fix or sign_in_fix(settings))


def _json(content: bytes) -> Any:
    """The parsed body, or :data:`NOT_JSON` (also for JSON nested too deeply to parse)."""
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        return NOT_JSON


#: What :func:`_json` returns for a body that is not JSON.
NOT_JSON = object()


def fix_for(error: ClaudeOAuthError, settings: Settings) -> str:
    """What to do about ``error`` (one sentence)."""
    if isinstance(error, ThirdPartyRefused):
        return third_party_hint()
    if isinstance(error, ApiKeyRejected):
        return api_key_hint()
    if isinstance(error, (SignInRejected, LoginRequired, NotSignedIn)):
        return sign_in_fix(settings)
    if isinstance(error, UsageLimitReached):
        return "Wait until the window resets (the time is above)."
    if isinstance(error, ApiUnavailable):
        return "Claude is failing or overloaded: try again shortly."
    return error.hint or "Check your connection, any proxy, and the endpoint variables."


def _send(method: str, url: str, what: str, settings: Settings, **kwargs: Any) -> httpx.Response:
    from ..net.http_client import fetch

    headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **kwargs.pop("headers", {})}
    return fetch(method, url, what=what, timeout=settings.http_timeout, headers=headers, **kwargs)


def _no_answer(name: str, what: str, url: str, exc: Exception, variable: str) -> Check:
    import httpx

    if isinstance(exc, ClaudeOAuthError):
        detail = exc.reason
    elif isinstance(exc, httpx.HTTPError):
        detail = f"Could not reach {what.lower()} ({host_of(url)}): {type(exc).__name__}."
    else:
        raise exc
    return Check(name, False, detail, f"Check your connection and proxy settings, and {variable}.")


def _json_error(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("type")
    return str(error)[:60] if error else None


def _moved(name: str, what: str, response: httpx.Response, variable: str) -> Check | None:
    """A ✗ when the answer says the URL is not (or no longer) the endpoint."""
    from ..login.sign_in_page import moved_fix, moved_line
    from ..net.http_responses import looks_like_html

    fix = moved_fix(variable)
    line = moved_line(what, response)
    if line is not None:
        return Check(name, False, line, fix)
    if name == "token_endpoint" and response.status_code < 500 and looks_like_html(response):
        host = host_of(str(response.request.url))
        return Check(
            name,
            False,
            f"{what} ({host}) answered HTTP {response.status_code} with an HTML page instead of "
            "JSON: it has probably moved, or a proxy is in the way.",
            fix,
        )
    return None


def token_endpoint(settings: Settings) -> Check:
    """Any JSON answer (an error, as it must be) proves the endpoint is there; an HTML
    page or other non-JSON answer fails. The request carries no token at all."""
    name, what, variable = "token_endpoint", "The token endpoint", "CLAUDE_CODE_OAUTH_TOKEN_URL"
    try:
        url, client_id = settings.token_url, settings.client_id
    except ClaudeOAuthError as exc:
        return Check(name, False, exc.reason, "Fix the configuration first.")
    # Deliberately no refresh_token: the endpoint refuses this request, which is the point.
    body = {"grant_type": "refresh_token", "client_id": client_id}
    try:
        response = _send("POST", url, what, settings, json=body)
    except Exception as exc:
        return _no_answer(name, what, url, exc, variable)
    moved = _moved(name, what, response, variable)
    if moved is not None:
        return moved
    body = _json(response.content)
    if body is NOT_JSON:
        return Check(
            name,
            False,
            f"{what} ({host_of(url)}) answered HTTP {response.status_code} without JSON: "
            "Claude's side is failing, or a proxy is in the way.",
            f"Try again shortly; if it persists, check {variable}.",
        )
    error = _json_error(body)
    said = f" ({error})" if error else ""
    return Check(
        name,
        True,
        f"{host_of(url)} answered HTTP {response.status_code}{said} to a request without a token",
    )


def authorize_endpoint(settings: Settings, *, console: bool = False) -> Check:
    """The sign-in page still exists (any answer but 404: a page, a redirect, a challenge);
    with ``console`` the Console's (where a Console sign-in is renewed)."""
    from ..login.sign_in_page import fetch_sign_in_page, names

    name = "authorize_endpoint"
    what, variable = names(console)
    try:
        url = settings.console_auth_url if console else settings.auth_url
    except ClaudeOAuthError as exc:
        return Check(name, False, exc.reason, "Fix the configuration first.")
    try:
        response = fetch_sign_in_page(settings, console=console)
    except Exception as exc:
        return _no_answer(name, what, url, exc, variable)
    moved = _moved(name, what, response, variable)
    if moved is not None:
        return moved
    status = response.status_code
    note = ""
    if 300 <= status < 400:
        note = " (a redirect, as sign-in pages do)"
    elif b"just a moment" in response.content[:4096].lower():
        note = " (a Cloudflare challenge, which your browser passes)"
    page = "the Console's sign-in page: " if console else ""
    return Check(name, True, f"{page}{host_of(url)} answered HTTP {status}{note}")


def _api_call(
    settings: Settings, method: str, url: str, what: str, api_key: str | None = None, **kwargs: Any
) -> Any:
    """The JSON answer of an authenticated call (with ``api_key``: that key, as
    ``x-api-key``), or a ClaudeOAuthError (raised)."""
    import httpx

    from ..net.api_key_auth import ApiKeyAuth
    from ..net.bearer_auth import OAuthBearerAuth
    from ..net.claude_answers import unreachable
    from ..tokens.provider import provider_for

    auth: httpx.Auth
    if api_key is not None:
        auth = ApiKeyAuth(api_key, settings)
    else:
        auth = OAuthBearerAuth(provider_for(settings), settings)
    try:
        response = _send(method, url, what, settings, auth=auth, **kwargs)
    except httpx.HTTPError as exc:
        raise unreachable(exc, host_of(url), what=what.lower()) from None
    secrets = [api_key] if api_key else []
    error = error_for_response(
        response, what=what, retried=True, secrets=secrets, api_key=api_key is not None
    )
    if error is not None:
        raise error
    body = _json(response.content)
    return response, None if body is NOT_JSON else body


def profile(settings: Settings) -> Check:
    """The profile endpoint accepts the token: account, organization, plan."""
    try:
        _, body = _api_call(settings, "GET", settings.profile_url, "The profile endpoint")
    except ClaudeOAuthError as exc:
        return Check("profile", False, exc.reason, fix_for(exc, settings))
    body = body if isinstance(body, dict) else {}
    account = body.get("account")
    if not isinstance(account, dict):
        account = {}
    org = body.get("organization")
    if not isinstance(org, dict):
        org = {}
    email = account.get("email_address") or account.get("email") or "unknown"
    from ..account.endpoint_answers import plan_from_profile
    from ..account.usage_lines import plan_text

    name, tier = plan_from_profile(body)
    plan = plan_text(name, tier) if name or tier else None
    detail = f"token accepted: account {email}, organization {org.get('name') or 'unknown'}"
    return Check("profile", True, detail + (f", plan {plan}" if plan else ""))


def models(
    settings: Settings, *, api_key: str | None = None
) -> tuple[Check, list[DiscoveredModel]]:
    """The models endpoint lists N models for this sign-in (with ``api_key``: accepts
    the Console sign-in's key)."""
    from ..errors import DiscoveryError
    from ..models.discovery import discover_models
    from ..tokens.provider import provider_for

    try:
        if api_key is not None:
            found = discover_models(settings, api_key=api_key)
        else:
            found = discover_models(settings, provider_for(settings))
    except (DiscoveryError, ClaudeOAuthError) as exc:
        cause = exc.__cause__ if isinstance(exc.__cause__, ClaudeOAuthError) else exc
        return Check("models", False, exc.reason, fix_for(cause, settings)), []
    if not found:
        return Check("models", False, "lists no models", "Check the account's plan."), []
    ids = [m.id for m in found]
    shown = ", ".join(ids[:4]) + (f" and {len(ids) - 4} more" if len(ids) > 4 else "")
    accepted = "API key accepted: " if api_key is not None else ""
    return Check("models", True, f"{accepted}lists {len(ids)} model(s): {shown}"), found


def cheapest(found: list[DiscoveredModel]) -> DiscoveredModel:
    """Haiku before Sonnet before Opus before anything else; the oldest of a family first
    (Claude's older models of one family have cost the same or less)."""

    def cost(model: DiscoveredModel) -> tuple[int, str]:
        family = next((i for i, f in enumerate(_FAMILY_COST) if f in model.id), len(_FAMILY_COST))
        return family, model.created_at or "9999"

    return min(found, key=cost)


def inference(
    settings: Settings, found: list[DiscoveredModel], *, api_key: str | None = None
) -> Check:
    """One request of ``max_tokens`` 1: does Claude serve this sign-in (or ``api_key``)
    to this client?"""
    from ..account import unified_limits

    model = cheapest(found)
    body = {"model": model.id, "max_tokens": 1, "messages": [{"role": "user", "content": PING}]}
    url = settings.api_base_url + "/v1/messages"
    try:
        response, _ = _api_call(settings, "POST", url, "Claude's API", api_key, json=body)
    except ClaudeOAuthError as exc:
        return Check("inference", False, f"{model.id}: {exc.reason}", fix_for(exc, settings))
    detail = f"{model.id} answered a 1-token request: Claude serves this sign-in to this client"
    limits = unified_limits.parse(response.headers.multi_items())
    if limits is not None and limits.billed_as_extra_usage:
        detail += " (billed as extra usage, not your plan's limits)"
    return Check("inference", True, detail)
