"""API routes: /v1/models, /api/oauth/profile, /api/oauth/usage, /v1/messages.

The OAuth routes (profile, usage) take an OAuth access token only. /v1/models and
/v1/messages also take an API key a Console login created (``x-api-key``, see
:mod:`.console`). A token of a revoked login (logout's revoke, a replay,
``revoke_all``) is answered 403 "OAuth token has been revoked", as Claude does; any
other token that is not valid, 401. Answers to OAuth requests carry the usage headers
of :mod:`.usage`; answers to API-key requests the ordinary rate-limit headers."""

from __future__ import annotations

import json
import secrets
from typing import Any

from . import capabilities
from .console import rate_limit_headers
from .refusals import REVOKED_MESSAGE
from .state import EmulatorState
from .usage import account_of
from .wire import Request, Response, anthropic_error, json_response, sse, stream_opening

OAUTH_BETA = "oauth-2025-04-20"
REPLY_TEXT = "Hello from the Claude emulator."

#: Newest first, as Anthropic lists them; one has a 1M-token input window.
DEFAULT_MODELS: list[dict[str, Any]] = [
    {
        "id": "claude-opus-4-1-20250805",
        "display_name": "Claude Opus 4.1",
        "created_at": "2025-08-05T00:00:00Z",
    },
    {
        "id": "claude-haiku-4-5-20251001",
        "display_name": "Claude Haiku 4.5",
        "created_at": "2025-10-01T00:00:00Z",
    },
    {
        "id": "claude-sonnet-4-5-20250929",
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
        "max_input_tokens": 1000000,
    },
    {
        "id": "claude-opus-4-20250514",
        "display_name": "Claude Opus 4",
        "created_at": "2025-05-22T00:00:00Z",
    },
    {
        "id": "claude-3-5-haiku-20241022",
        "display_name": "Claude Haiku 3.5",
        "created_at": "2024-10-22T00:00:00Z",
    },
]
DEFAULT_MODELS.sort(key=lambda m: m["created_at"], reverse=True)

#: What :func:`_authenticate` returns for a valid API key.
API_KEY_SCOPE = "api_key"

_DEFAULT_LIMIT = 20
_MAX_LIMIT = 1000


def _authenticate(
    state: EmulatorState, req: Request, *, need_beta: bool, api_key: bool = False
) -> str | Response:
    """The login's scope for a valid Bearer token, else the 401 the API would send.

    With ``api_key`` (routes that take API keys) a request without a Bearer token is
    authenticated by its ``x-api-key``: the scope is then ``"api_key"``.
    """
    authorization = req.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if state.api_keys.is_key(token.strip()):
        # An API key is not an OAuth token, whatever the route.
        return anthropic_error(401, "authentication_error", "Invalid bearer token")
    if scheme.lower() != "bearer" or not token.strip():
        if api_key and state.api_keys.valid(req.headers.get("x-api-key", "").strip()):
            return API_KEY_SCOPE
        # Without a Bearer token the API falls back to API-key authentication.
        message = (
            "invalid x-api-key" if "x-api-key" in req.headers else "x-api-key header is required"
        )
        return anthropic_error(401, "authentication_error", message)
    if need_beta:
        betas = {b.strip() for b in req.headers.get("anthropic-beta", "").split(",")}
        if OAUTH_BETA not in betas:
            return anthropic_error(
                401, "authentication_error", "OAuth authentication is currently not supported."
            )
    scope = state.scope_of(token.strip())
    if scope is None:
        if state.access_revoked(token.strip()):
            # A revoked login's token (logout, a replay): Claude says so with a 403.
            return anthropic_error(403, "permission_error", REVOKED_MESSAGE)
        return anthropic_error(401, "authentication_error", "Invalid bearer token")
    return scope


def _model_item(model: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "model",
        "id": model["id"],
        "display_name": model.get("display_name", model["id"]),
        "created_at": model.get("created_at", "2025-01-01T00:00:00Z"),
    }
    if model.get("max_input_tokens") is not None:
        item["max_input_tokens"] = model["max_input_tokens"]
    return item


def list_models(state: EmulatorState, req: Request) -> Response:
    """GET /v1/models with Anthropic's cursor pagination (``limit``, ``after_id``)."""
    auth = _authenticate(state, req, need_beta=True, api_key=True)
    if isinstance(auth, Response):
        return auth
    raw_limit = req.first("limit")
    try:
        limit = _DEFAULT_LIMIT if raw_limit is None else int(raw_limit)
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_LIMIT:
        return anthropic_error(
            400, "invalid_request_error", f"limit: must be between 1 and {_MAX_LIMIT}"
        )
    models = [_model_item(m) for m in state.models()]
    start = 0
    after_id = req.first("after_id")
    if after_id is not None:
        ids = [m["id"] for m in models]
        if after_id not in ids:
            return anthropic_error(400, "invalid_request_error", "after_id: unknown model id")
        start = ids.index(after_id) + 1
    page = models[start : start + limit]
    return json_response(
        200,
        {
            "data": page,
            "has_more": start + limit < len(models),
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
        },
    )


def profile(state: EmulatorState, req: Request) -> Response:
    """GET /api/oauth/profile: needs a Bearer token with the user:profile scope. The
    organization carries the plan (:meth:`.usage.UsageBook.plan_fields`: type, tier,
    ``plan_display_name``, ``has_extra_usage_enabled``)."""
    auth = _authenticate(state, req, need_beta=False)
    if isinstance(auth, Response):
        return auth
    if "user:profile" not in auth.split():
        return anthropic_error(403, "permission_error", "This token lacks the user:profile scope")
    # The account whose login issued the token (the first account for older callers).
    identity = state.identity_of_token(_bearer(req)) or {
        "account": state.account,
        "organization": state.organization,
    }
    account_plan, organization_plan = state.usage.plan_fields(account_of(state, _bearer(req)))
    account = identity["account"]
    return json_response(
        200,
        {
            # The profile names the address `email` (the token answer `email_address`).
            "account": {**account, "email": account["email_address"], **account_plan},
            "organization": {**identity["organization"], **organization_plan},
        },
    )


def _bearer(req: Request) -> str:
    return req.headers.get("authorization", "").partition(" ")[2].strip()


def oauth_usage(state: EmulatorState, req: Request) -> Response:
    """GET /api/oauth/usage: the account's windows (see :mod:`.usage`); needs the
    OAuth beta and the user:profile scope, and rate-limits when asked too often."""
    auth = _authenticate(state, req, need_beta=True)
    if isinstance(auth, Response):
        return auth
    if "user:profile" not in auth.split():
        return anthropic_error(403, "permission_error", "This token lacks the user:profile scope")
    status, body, headers = state.usage.endpoint(account_of(state, _bearer(req)))
    return json_response(status, body, headers)


def _estimate_input_tokens(body: dict[str, Any]) -> int:
    # Roughly four characters a token: enough for plausible usage numbers.
    text = json.dumps(body.get("messages", [])) + json.dumps(body.get("system", ""))
    return max(1, len(text) // 4)


def _validate_message_body(body: Any) -> str | None:
    """Why ``body`` is not a valid Messages request, or ``None``."""
    if not isinstance(body, dict):
        return "Invalid request format"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required (a positive integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (a non-empty list)"
    return None


def messages(state: EmulatorState, req: Request) -> Response:
    """POST /v1/messages: a fixed reply, as JSON or as an SSE stream; the input window,
    the long-context beta and ``speed`` are checked as Claude does (see
    :mod:`.capabilities`)."""
    auth = _authenticate(state, req, need_beta=True, api_key=True)
    if isinstance(auth, Response):
        return auth
    if not req.headers.get("anthropic-version"):
        return anthropic_error(
            400, "invalid_request_error", "anthropic-version: header is required"
        )
    if auth == API_KEY_SCOPE:
        return _api_key_message(state, req)
    if "user:inference" not in auth.split():
        return anthropic_error(
            403,
            "permission_error",
            "This token lacks the user:inference scope",
            details={"error_code": "oauth_scope_insufficient"},
        )
    account = account_of(state, _bearer(req))
    body = req.json_body() if req.content_type == "application/json" else None
    problem = _validate_message_body(body)
    if problem is not None:
        return anthropic_error(400, "invalid_request_error", problem, state.usage.peek(account))
    assert isinstance(body, dict)
    model = body["model"]
    known = _model(state, model)
    if known is None:
        return anthropic_error(404, "not_found_error", f"model: {model}", state.usage.peek(account))
    refused = capabilities.refusal(
        known,
        body,
        capabilities.betas_of(req.headers),
        _estimate_input_tokens(body),
        long_context_denied=state.long_context_denied(account),
        headers=state.usage.peek(account),
    )
    if refused is not None:
        return refused
    status, limits = state.usage.charge(account, model)
    if status == 429:
        return anthropic_error(
            429,
            "rate_limit_error",
            "This request would exceed your account's usage limit. Please try again later.",
            limits,
        )
    return _reply(body, limits)


def _api_key_message(state: EmulatorState, req: Request) -> Response:
    """/v1/messages with an API key: billed per token by the Console, so no plan
    windows — the ordinary rate-limit headers instead."""
    key = state.api_keys.valid(req.headers.get("x-api-key", "").strip())
    assert key is not None  # authenticated
    made = state.api_keys.count_request(key)
    body = req.json_body() if req.content_type == "application/json" else None
    headers = rate_limit_headers(made, now=state.wall_clock())
    problem = _validate_message_body(body)
    if problem is not None:
        return anthropic_error(400, "invalid_request_error", problem, headers)
    assert isinstance(body, dict)
    known = _model(state, body["model"])
    if known is None:
        return anthropic_error(404, "not_found_error", f"model: {body['model']}", headers)
    betas = capabilities.betas_of(req.headers)
    tokens = _estimate_input_tokens(body)
    refused = capabilities.refusal(
        known, body, betas, tokens, long_context_denied=False, headers=headers
    )
    if refused is not None:
        return refused
    return _reply(body, rate_limit_headers(made, tokens, now=state.wall_clock()))


def _model(state: EmulatorState, model_id: str) -> dict[str, Any] | None:
    """The listed model ``model_id``, or ``None``."""
    return next((m for m in state.models() if m["id"] == model_id), None)


def _reply(body: dict[str, Any], headers: dict[str, str]) -> Response:
    """The fixed answer to a valid request, as JSON or as a stream."""
    model = body["model"]
    message_id = "msg_" + secrets.token_hex(12)
    input_tokens = _estimate_input_tokens(body)
    output_tokens = len(REPLY_TEXT.split()) + 2
    usage: dict[str, Any] = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    if "speed" in body:
        usage["speed"] = body["speed"]  # the speed that served it (checked before)
    if body.get("stream") is True:
        return _stream(message_id, model, usage, headers)
    return json_response(
        200,
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": REPLY_TEXT}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        },
        headers,
    )


def _stream(
    message_id: str, model: str, usage: dict[str, Any], headers: dict[str, str]
) -> Response:
    """The standard Messages streaming sequence, including the ``ping`` the API interleaves."""
    half = len(REPLY_TEXT) // 2
    events = stream_opening(message_id, model, usage["input_tokens"])
    for piece in (REPLY_TEXT[:half], REPLY_TEXT[half:]):
        delta = {"type": "text_delta", "text": piece}
        events.append(
            sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        sse("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {k: v for k, v in usage.items() if k != "input_tokens"},
            },
        ),
        sse("message_stop", {"type": "message_stop"}),
    ]
    return Response(
        200,
        "".join(events).encode(),
        "text/event-stream; charset=utf-8",
        {"Cache-Control": "no-cache", **headers},
    )
