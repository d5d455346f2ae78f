"""How Claude's API refuses, limits and fails in late 2026, as faults the emulator can serve.

Every answer here is shaped like the real one (CONTEXT §2b, and §2c where Claude Code
2.1.332 names it): Anthropic's error envelope ``{"type": "error", "error": {"type",
"message"}}`` with the status, error type and message Claude sends — plus, where Claude
sends them, ``error.details.error_code`` and ``error.details.error_visibility:
"user_facing"`` (the message is written for the user; the coded faults take
``user_facing``, a bool) — and for a usage limit the ``anthropic-ratelimit-unified-*``
headers of an exhausted window.

* ``400_third_party`` — the refusal of a subscription sign-in used outside Claude Code;
* ``400_request`` — a request whose shape Claude refuses;
* ``403_revoked`` — 403 "OAuth token has been revoked" (what a token of a revoked login
  gets; as a fault the login itself stays alive, so one refresh cures it);
  ``401_revoked`` — its 401 form, "OAuth access token has been revoked";
* ``401_org_not_allowed`` / ``403_org_not_allowed`` — "OAuth authentication is currently
  not allowed for this organization" (a Pro/Max payment past due, or the organization
  switched subscription access off: no refresh or sign-in helps);
* ``429_credits_required`` — out of extra usage: a 429 with ``error_code:
  credits_required`` (user-facing by default), the exhausted window's headers and
  ``…-overage-disabled-reason: out_of_credits``;
* ``403_scope_insufficient`` (``oauth_scope_insufficient``), ``403_organization_disabled``
  (``organization_disabled``), ``401_token_expired`` (``token_expired``),
  ``403_model_suspended`` (``model_access_suspended``, naming the request's
  ``model:``), and ``403_model_not_on_plan`` — a ``permission_error`` naming the
  request's ``model:``, the plan's refusal of that model;
* ``429_limit`` — a plan window is used up: ``…-status: rejected``, the binding window
  (``window``, default ``five_hour``) and its reset (``reset_in`` seconds from now,
  default 3600), ``retry-after`` until then;
* ``529`` — ``overloaded_error``;
* ``stream_error`` — a streaming answer that starts (``message_start``, a first text
  delta) and then fails with ``event: error`` (``overloaded_error``); a non-streaming
  request gets the same error as a plain 529;
* ``404`` / ``404_html`` — an endpoint that is not there (any more): JSON or an HTML page.

The ``401``, ``429`` (``retry_after`` only, no unified headers), ``500`` and
``html403`` faults live in :mod:`.faults`.
"""

from __future__ import annotations

from typing import Any

from .pages import error_page
from .usage import HEADER_PREFIX as _PREFIX
from .usage import WINDOW_CODES
from .wire import Request, Response, anthropic_error, html_response, sse, stream_opening

THIRD_PARTY_MESSAGE = (
    "This credential is only authorized for use with Claude Code and cannot be used "
    "for other API requests."
)
REQUEST_SHAPE_MESSAGE = "messages.0.content.0.text: text content blocks must be non-empty"
REVOKED_MESSAGE = "OAuth token has been revoked. Please obtain a new token."
ACCESS_REVOKED_MESSAGE = "OAuth access token has been revoked."
ORG_NOT_ALLOWED_MESSAGE = "OAuth authentication is currently not allowed for this organization."
CREDITS_MESSAGE = "You're out of extra usage. Add funds to continue using Claude."
SCOPE_MESSAGE = "This OAuth token does not have the scope this request needs (user:inference)."
ORG_DISABLED_MESSAGE = "This organization has been disabled."
TOKEN_EXPIRED_MESSAGE = "OAuth token has expired."
OVERLOADED_MESSAGE = "Overloaded"
LIMIT_MESSAGE = "This request would exceed your account's rate limit. Please try again later."

DEFAULT_WINDOW = "five_hour"
DEFAULT_RESET_IN = 3600.0

#: The faults answered with an ``error.details.error_code``: fault → (status, error
#: type, error code, message — ``{model}`` is the request's model —, user-facing by
#: default).
CODED: dict[str, tuple[int, str, str, str, bool]] = {
    "429_credits_required": (429, "rate_limit_error", "credits_required", CREDITS_MESSAGE, True),
    "403_scope_insufficient": (
        403,
        "permission_error",
        "oauth_scope_insufficient",
        SCOPE_MESSAGE,
        False,
    ),
    "403_organization_disabled": (
        403,
        "permission_error",
        "organization_disabled",
        ORG_DISABLED_MESSAGE,
        False,
    ),
    "401_token_expired": (
        401,
        "authentication_error",
        "token_expired",
        TOKEN_EXPIRED_MESSAGE,
        False,
    ),
    "403_model_suspended": (
        403,
        "permission_error",
        "model_access_suspended",
        "Access to model: {model} is suspended for this organization.",
        False,
    ),
}
FAULTS = frozenset(
    {"400_third_party", "400_request", "403_revoked", "429_limit", "529", "stream_error"}
    | {"404", "404_html", "401_revoked", "401_org_not_allowed", "403_org_not_allowed"}
    | {"403_model_not_on_plan"}
    | set(CODED)
)
#: Fault → its parameters and their kinds (see :func:`check_param`).
PARAMS: dict[str, dict[str, str]] = {
    "429_limit": {"window": "window", "reset_in": "seconds"},
    **{name: {"user_facing": "bool"} for name in CODED},
}


def check_param(kind: str | None, key: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` suits a parameter ``key`` of ``kind``:
    ``seconds`` (a non-negative number, the default), ``window`` (a window name),
    ``bool``, or ``text`` (a string of at most 2000 characters)."""
    if kind == "window":
        if value not in WINDOW_CODES:
            raise ValueError(f"window must be one of {sorted(WINDOW_CODES)}")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
    elif kind == "text":
        if not isinstance(value, str) or not 0 < len(value) <= 2000:
            raise ValueError(f"{key} must be a string of 1 to 2000 characters")
    elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{key} must be a non-negative number of seconds")


def exhausted_window_headers(window: str, reset_at: float) -> dict[str, str]:
    """The unified headers of an answer refused because ``window`` is used up.

    The binding window is ``rejected`` at utilization 1.0; the other main window
    is shown still allowed, and extra usage (overage) is off, as for a plan
    without pay-as-you-go.
    """
    reset = str(int(reset_at))
    code = WINDOW_CODES[window]
    headers = {
        _PREFIX + "status": "rejected",
        _PREFIX + "representative-claim": window,
        _PREFIX + "reset": reset,
        _PREFIX + f"{code}-status": "rejected",
        _PREFIX + f"{code}-utilization": "1.0",
        _PREFIX + f"{code}-reset": reset,
        _PREFIX + "overage-status": "rejected",
        _PREFIX + "overage-in-use": "false",
    }
    other = "7d" if code != "7d" else "5h"
    headers[_PREFIX + f"{other}-status"] = "allowed"
    headers[_PREFIX + f"{other}-utilization"] = "0.42"
    headers[_PREFIX + f"{other}-reset"] = str(int(reset_at) + 86400)
    return headers


def _model_of(req: Request | None) -> str:
    body = req.json_body() if req is not None else None
    model = body.get("model") if isinstance(body, dict) else None
    return str(model or "claude")


def _coded(name: str, params: dict[str, Any], req: Request | None, now: float) -> Response:
    status, kind, code, message, user_facing = CODED[name]
    details = {"error_code": code}
    if params.get("user_facing", user_facing):
        details["error_visibility"] = "user_facing"
    headers: dict[str, str] = {}
    if code == "credits_required":
        headers = exhausted_window_headers(DEFAULT_WINDOW, now + DEFAULT_RESET_IN)
        headers[_PREFIX + "overage-disabled-reason"] = "out_of_credits"
    text = message.format(model=_model_of(req))
    return anthropic_error(status, kind, text, headers, details=details)


def _wants_stream(req: Request | None) -> bool:
    body = req.json_body() if req is not None else None
    return isinstance(body, dict) and body.get("stream") is True


def broken_stream(model: str) -> Response:
    """A 200 event stream that starts answering and then fails with ``event: error``."""
    delta = {"type": "text_delta", "text": "Hello"}
    error = {"type": "error", "error": {"type": "overloaded_error", "message": OVERLOADED_MESSAGE}}
    events = [
        *stream_opening("msg_emulated_broken_stream", model, 1),
        sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        sse("error", error),
    ]
    return Response(
        200,
        "".join(events).encode(),
        "text/event-stream; charset=utf-8",
        {"Cache-Control": "no-cache"},
    )


def refusal_response(
    name: str, params: dict[str, Any], req: Request | None, now: float
) -> Response | None:
    """The answer for fault ``name`` (one of :data:`FAULTS`) at ``now`` (the emulator's
    wall clock), or ``None`` if not ours."""
    if name == "400_third_party":
        return anthropic_error(400, "invalid_request_error", THIRD_PARTY_MESSAGE)
    if name == "400_request":
        return anthropic_error(400, "invalid_request_error", REQUEST_SHAPE_MESSAGE)
    if name == "403_revoked":
        return anthropic_error(403, "permission_error", REVOKED_MESSAGE)
    if name == "401_revoked":
        return anthropic_error(401, "authentication_error", ACCESS_REVOKED_MESSAGE)
    if name in ("401_org_not_allowed", "403_org_not_allowed"):
        status = int(name[:3])
        kind = "authentication_error" if status == 401 else "permission_error"
        return anthropic_error(status, kind, ORG_NOT_ALLOWED_MESSAGE)
    if name == "403_model_not_on_plan":
        message = f"model: {_model_of(req)} is not available on your plan."
        return anthropic_error(403, "permission_error", message)
    if name in CODED:
        return _coded(name, params, req, now)
    if name == "429_limit":
        window = str(params.get("window", DEFAULT_WINDOW))
        reset_in = float(params.get("reset_in", DEFAULT_RESET_IN))
        headers = exhausted_window_headers(window, now + reset_in)
        headers["retry-after"] = str(int(reset_in))
        return anthropic_error(429, "rate_limit_error", LIMIT_MESSAGE, headers)
    if name == "529" or (name == "stream_error" and not _wants_stream(req)):
        return anthropic_error(529, "overloaded_error", OVERLOADED_MESSAGE)
    if name == "stream_error":
        return broken_stream(_model_of(req))
    if name == "404":
        path = req.path if req is not None else "/"
        return anthropic_error(404, "not_found_error", f"Not found: {path}")
    if name == "404_html":
        return html_response(404, error_page("404 Not Found", "This page could not be found."))
    return None
