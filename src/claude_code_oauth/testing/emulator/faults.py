"""The fault catalogue: which endpoints can misbehave, how, and the responses they send.

``slow`` and ``revoke`` do not replace the answer: the handler waits (or revokes
every login) and then answers normally; ``no_refresh_token`` makes the token route
answer a refresh without a new refresh token (the presented one stays valid). Every
other fault replaces the answer. The token endpoint's refusals of a refresh that
Claude Code names (CONTEXT §2c) spend nothing:

* ``invalid_scope`` — 400 ``invalid_scope`` (the requested scope is refused);
* ``account_on_hold`` — 400 ``invalid_grant`` with ``error_description:
  account_on_hold`` and an ``error_uri`` (``error_uri``, default
  ``https://claude.ai/restricted``);
* ``session_stale_relogin`` — 403: the session is stale, sign in again (Claude Code's
  strings show the code as ``error.resource`` of Anthropic's envelope; the exact
  shape of this answer is inferred).
"""

from __future__ import annotations

from typing import Any

from . import console, pages, refusals
from .oauth import REVOKE_PATH, TOKEN_PATH
from .records import HOLD_URI, Fault
from .wire import Request, Response, anthropic_error, html_response, oauth_error

#: Fault endpoint name -> (HTTP method, path) it applies to.
FAULT_ENDPOINTS: dict[str, tuple[str, str]] = {
    "token": ("POST", TOKEN_PATH),
    "token_revoke": ("POST", REVOKE_PATH),
    "models": ("GET", "/v1/models"),
    "profile": ("GET", "/api/oauth/profile"),
    "messages": ("POST", "/v1/messages"),
    "authorize": ("GET", "/oauth/authorize"),
    "console_authorize": ("GET", console.AUTHORIZE_PATH),
    "create_api_key": ("POST", console.CREATE_API_KEY_PATH),
}

_OAUTH = frozenset({"invalid_scope", "account_on_hold", "session_stale_relogin"})
STALE_MESSAGE = "Your session has expired. Please sign in again."

FAULTS = (
    frozenset({"html403", "429", "500", "502_html", "invalid_json", "slow", "revoke", "401"})
    | {"no_refresh_token"}
    | _OAUTH
    | refusals.FAULTS
    | console.FAULTS
)

#: Fault → its parameters and their kinds (see :func:`.refusals.check_param`).
_PARAMS: dict[str, dict[str, str]] = {
    "429": {"retry_after": "seconds"},
    "slow": {"delay": "seconds"},
    "account_on_hold": {"error_uri": "text"},
    **refusals.PARAMS,
    **console.PARAMS,
}

_CLOUDFLARE = {"Server": "cloudflare", "cf-mitigated": "challenge"}


def endpoint_for(method: str, path: str) -> str | None:
    """The fault endpoint name a request belongs to, if any."""
    for name, route in FAULT_ENDPOINTS.items():
        if route == (method, path):
            return name
    return None


def make_fault(endpoint: str, fault: str, times: int, params: dict[str, Any]) -> Fault:
    """Validate an injection request; raises ``ValueError`` with a readable reason."""
    if endpoint not in FAULT_ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; use one of {sorted(FAULT_ENDPOINTS)}")
    if fault not in FAULTS:
        raise ValueError(f"unknown fault {fault!r}; use one of {sorted(FAULTS)}")
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise ValueError("times must be a positive integer")
    kinds = _PARAMS.get(fault, {})
    unknown = set(params) - set(kinds)
    if unknown:
        raise ValueError(f"fault {fault!r} takes no parameter(s) {sorted(unknown)}")
    for key, value in params.items():
        refusals.check_param(kinds[key], key, value)
    return Fault(fault, times, dict(params))


def fault_response(fault: Fault, req: Request | None, now: float) -> Response | None:
    """The response replacing the normal answer, or ``None`` for slow, revoke and
    no_refresh_token.

    ``req`` (the request being answered) lets a fault answer a streaming request
    differently from a JSON one (see :mod:`.refusals`); ``now`` is the emulator's wall
    clock (a usage limit's reset, a key's creation time).
    """
    name = fault.name
    if name in console.FAULTS:
        return console.fault_response(name, now, fault.params)
    if name == "invalid_scope":
        return oauth_error(400, "invalid_scope", "The requested scope is invalid or not granted")
    if name == "account_on_hold":
        return oauth_error(
            400, "invalid_grant", "account_on_hold", str(fault.params.get("error_uri", HOLD_URI))
        )
    if name == "session_stale_relogin":
        return anthropic_error(
            403, "permission_error", STALE_MESSAGE, resource="session_stale_relogin"
        )
    if name in refusals.FAULTS:
        return refusals.refusal_response(name, fault.params, req, now)
    if name == "html403":
        return html_response(403, pages.cloudflare_challenge_page(), _CLOUDFLARE)
    if name == "429":
        headers = {}
        if "retry_after" in fault.params:
            headers["Retry-After"] = _seconds_header(fault.params["retry_after"])
        return anthropic_error(
            429, "rate_limit_error", "Rate limited. Please try again later.", headers
        )
    if name == "500":
        return anthropic_error(500, "api_error", "Internal server error")
    if name == "502_html":
        return html_response(502, pages.bad_gateway_page(), {"Server": "cloudflare"})
    if name == "invalid_json":
        return Response(200, b'{"type": "message", "truncat', "application/json")
    if name == "401":
        return anthropic_error(401, "authentication_error", "Invalid bearer token")
    return None


def _seconds_header(value: float) -> str:
    # Retry-After is delta-seconds (an integer) in HTTP; keep fractions only if given.
    return str(int(value)) if float(value).is_integer() else str(value)
