"""OAuth routes: authorize, the consent decision, the manual code page, the token endpoint
and its revoke endpoint."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import pages
from .records import AuthorizeRequest, OAuthFailure
from .state import EmulatorState
from .wire import (
    Request,
    Response,
    anthropic_error,
    html_response,
    json_response,
    oauth_error,
    redirect_response,
    with_query,
)

MANUAL_CALLBACK_PATH = "/oauth/code/callback"
TOKEN_PATH = "/v1/oauth/token"
#: ``{token_url}/revoke``, where Claude Code's logout posts (CONTEXT §2c).
REVOKE_PATH = TOKEN_PATH + "/revoke"

_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class _Refusal(Exception):
    """An authorize error that must be shown as a page, never redirected."""


class _AuthorizeRedirect(Exception):
    """An authorize error sent back to the (already validated) redirect_uri."""

    def __init__(self, redirect_uri: str, description: str, state: str) -> None:
        super().__init__(description)
        self.redirect_uri = redirect_uri
        self.description = description
        self.state = state


class _RedirectError(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def manual_redirect_uri(state: EmulatorState) -> str:
    return state.base_url + MANUAL_CALLBACK_PATH


def _is_allowed_redirect(uri: str, state: EmulatorState) -> bool:
    """Loopback http with an explicit port (RFC 8252 §7.3), or our own manual page."""
    if uri == manual_redirect_uri(state):
        return True
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "http"
        and (parts.hostname or "") in _LOOPBACK_HOSTS
        and port is not None
        and not parts.fragment
        and not parts.username
        and not parts.password
    )


def _single(req: Request, name: str, *, required: bool = True) -> str | None:
    values = req.query.get(name, [])
    if len(values) > 1:
        raise _RedirectError(f"Parameter {name} was given more than once")
    if not values or not values[0]:
        if required:
            raise _RedirectError(f"Missing required parameter: {name}")
        return None
    return values[0]


def _validate_authorize(
    req: Request, state: EmulatorState, console: bool = False
) -> AuthorizeRequest:
    """Check the query in RFC 6749 §4.1.2.1 order: client and redirect_uri first, as pages."""
    client_ids = req.query.get("client_id", [])
    if len(client_ids) != 1 or client_ids[0] != state.client_id:
        raise _Refusal("The client_id is missing or unknown.")
    redirect_uris = req.query.get("redirect_uri", [])
    if len(redirect_uris) != 1 or not _is_allowed_redirect(redirect_uris[0], state):
        raise _Refusal("The redirect_uri is missing or not allowed for this client.")
    redirect_uri = redirect_uris[0]
    states = req.query.get("state", [])
    echo_state = states[0] if len(states) == 1 and states[0] else ""
    try:
        _single(req, "code", required=False)
        if _single(req, "response_type") != "code":
            raise _RedirectError("response_type must be code")
        method = _single(req, "code_challenge_method")
        if method != "S256":
            raise _RedirectError("code_challenge_method must be S256")
        challenge = _single(req, "code_challenge") or ""
        if not _CHALLENGE.fullmatch(challenge):
            raise _RedirectError("code_challenge must be 43 base64url characters")
        scope = " ".join((_single(req, "scope") or "").split())
        if not scope:
            raise _RedirectError("Missing required parameter: scope")
        _single(req, "state")
    except _RedirectError as err:
        raise _AuthorizeRedirect(redirect_uri, err.description, echo_state) from None
    return AuthorizeRequest(state.client_id, redirect_uri, scope, challenge, echo_state, console)


def _error_redirect(redirect_uri: str, error: str, description: str, state: str) -> Response:
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    return redirect_response(with_query(redirect_uri, params))


def _approve(state: EmulatorState, request: AuthorizeRequest, identity: int) -> Response:
    code = state.issue_code(request, identity)
    return redirect_response(
        with_query(request.redirect_uri, {"code": code, "state": request.state})
    )


def authorize(state: EmulatorState, req: Request, *, console: bool = False) -> Response:
    """GET /oauth/authorize: a page for client/redirect errors, else a redirect or consent.
    ``console``: the Console's page (a login that may create an API key)."""
    try:
        request = _validate_authorize(req, state, console)
    except _Refusal as err:
        return html_response(400, pages.error_page("Invalid authorization request", str(err)))
    except _AuthorizeRedirect as err:
        return _error_redirect(err.redirect_uri, "invalid_request", err.description, err.state)
    if state.auto_approve:
        return _approve(state, request, _consent_identity(state))
    request_id = state.open_consent(request)
    emails = state.account_emails()
    page = pages.consent_page(
        request_id,
        request.client_id,
        request.scope,
        request.redirect_uri,
        # A choice only when there is one to make: one account keeps the plain page.
        accounts=emails if len(emails) > 1 else None,
        selected=state.consent_account,
        console=console,
    )
    return html_response(200, page)


def console_authorize(state: EmulatorState, req: Request) -> Response:
    """GET /console/oauth/authorize: the Anthropic Console's sign-in (API-billed accounts)."""
    return authorize(state, req, console=True)


def _consent_identity(state: EmulatorState) -> int:
    """The account the browser is signed in as (the first if that one is gone)."""
    try:
        return state.account_index(state.consent_account)
    except ValueError:
        return 0


def authorize_decision(state: EmulatorState, req: Request) -> Response:
    """POST /oauth/authorize/decision: the consent form's Approve or Deny."""
    try:
        form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        form = {}
    request_id = (form.get("request_id") or [""])[0]
    decision = (form.get("decision") or [""])[0]
    if decision not in ("approve", "deny"):
        return html_response(400, pages.error_page("Invalid decision", "Choose Approve or Deny."))
    chosen = (form.get("account") or [""])[0]
    try:
        identity = state.account_index(chosen) if chosen else _consent_identity(state)
    except ValueError:
        return html_response(400, pages.error_page("Unknown account", "Choose a listed account."))
    request = state.take_consent(request_id) if request_id else None
    if request is None:
        message = "This authorization request has expired or was already answered."
        return html_response(400, pages.error_page("Request expired", message))
    if decision == "deny":
        return _error_redirect(
            request.redirect_uri, "access_denied", "The user denied the request", request.state
        )
    return _approve(state, request, identity)


def manual_callback(state: EmulatorState, req: Request) -> Response:
    """GET /oauth/code/callback: shows ``code#state`` (the one place a code is displayed)."""
    error = req.first("error")
    if error:
        description = req.first("error_description") or ""
        return html_response(200, pages.manual_error_page(error, description))
    code = req.first("code")
    if not code:
        return html_response(
            400, pages.error_page("Missing code", "This page needs an authorization code.")
        )
    return html_response(200, pages.manual_code_page(code, req.first("state") or ""))


def _json_body(req: Request) -> dict[str, Any] | None:
    body: Any = req.json_body() if req.content_type == "application/json" else None
    return body if isinstance(body, dict) else None


def token(state: EmulatorState, req: Request) -> Response:
    """POST /v1/oauth/token: JSON bodies only, as Claude's endpoint requires. The
    ``no_refresh_token`` fault makes a refresh answer without a new refresh token."""
    body = _json_body(req)
    if body is None:
        return anthropic_error(400, "invalid_request_error", "Invalid request format")
    grant_type = body.get("grant_type")
    try:
        if grant_type == "authorization_code":
            payload = state.exchange_code(body)
        elif grant_type == "refresh_token":
            payload = state.refresh(body, rotate=req.fault != "no_refresh_token")
        elif not grant_type:
            raise OAuthFailure("invalid_request", "Missing required parameter: grant_type")
        else:
            raise OAuthFailure("unsupported_grant_type", "Unsupported grant_type")
    except OAuthFailure as failure:
        return oauth_error(failure.status, failure.error, failure.description, failure.uri)
    return json_response(200, payload, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def revoke(state: EmulatorState, req: Request) -> Response:
    """POST /v1/oauth/token/revoke: JSON ``{token, token_type_hint, client_id}`` (RFC 7009,
    as Claude Code's logout sends it). 200 with an empty object — for an unknown token
    too —; 400 for a body without a token, 401 for another client."""
    body = _json_body(req)
    if body is None:
        return anthropic_error(400, "invalid_request_error", "Invalid request format")
    try:
        state.revoke(body)
    except OAuthFailure as failure:
        return oauth_error(failure.status, failure.error, failure.description)
    return json_response(200, {}, {"Cache-Control": "no-store"})
