"""The fault catalogue: which endpoints can misbehave, how, and the responses they send.

``slow`` and ``revoke`` do not replace the answer: the handler waits (or revokes
every login) and then answers normally. Every other fault replaces the answer.
"""

from __future__ import annotations

from typing import Any

from . import console, pages, refusals
from .records import Fault
from .wire import Request, Response, anthropic_error, html_response

#: Fault endpoint name -> (HTTP method, path) it applies to.
FAULT_ENDPOINTS: dict[str, tuple[str, str]] = {
    "token": ("POST", "/v1/oauth/token"),
    "models": ("GET", "/v1/models"),
    "profile": ("GET", "/api/oauth/profile"),
    "messages": ("POST", "/v1/messages"),
    "authorize": ("GET", "/oauth/authorize"),
    "console_authorize": ("GET", console.AUTHORIZE_PATH),
    "create_api_key": ("POST", console.CREATE_API_KEY_PATH),
}

FAULTS = (
    frozenset({"html403", "429", "500", "502_html", "invalid_json", "slow", "revoke", "401"})
    | refusals.FAULTS
    | console.FAULTS
)

_PARAMS: dict[str, frozenset[str]] = {
    "429": frozenset({"retry_after"}),
    "slow": frozenset({"delay"}),
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
    unknown = set(params) - _PARAMS.get(fault, frozenset()) - set(refusals.PARAMS.get(fault, {}))
    if unknown:
        raise ValueError(f"fault {fault!r} takes no parameter(s) {sorted(unknown)}")
    for key, value in params.items():
        refusals.check_param(fault, key, value)
    return Fault(fault, times, dict(params))


def fault_response(fault: Fault, req: Request | None, now: float) -> Response | None:
    """The response replacing the normal answer, or ``None`` for slow/revoke.

    ``req`` (the request being answered) lets a fault answer a streaming request
    differently from a JSON one (see :mod:`.refusals`); ``now`` is the emulator's wall
    clock (a usage limit's reset, a key's creation time).
    """
    name = fault.name
    if name in console.FAULTS:
        return console.fault_response(name, now)
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
