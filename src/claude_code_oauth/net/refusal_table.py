"""Claude's refusals as one table: which answer becomes which named error.

Each :class:`Refusal` row says, for the documentation, what Claude answers, the error
class and what the client does about it; for the code, ``matches`` (does this answer
fall under the row?) and ``error`` (the one-line error, hint included); and an
``example`` answer. :func:`~.claude_answers.error_for_answer` reads :func:`refusals`
top to bottom and the first row that matches makes the error, so the order is part of
the table. ``docs/refusals-and-usage.md`` shows the table rendered by
:func:`~.refusal_docs.markdown_table`, whose "you see" column is each row's example run
through the code (a test keeps the page and the table equal).

The rows follow the answers Claude Code 2.1.332 tells apart (CONTEXT §2c): the message
words of a revocation and of the organization's refusal, ``error.details.error_code``
for the rest (:data:`~.error_codes.ERROR_CODES`, one row each). Imports only our small
modules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import (
    ApiKeyRejected,
    ApiUnexpectedAnswer,
    ClaudeApiError,
    ModelNotAvailable,
    OrganizationRefused,
    PermissionRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
)
from .error_codes import (
    ERROR_CODES,
    NO_BETA_MARK,
    is_revocation,
    organization_hint,
    organization_refuses,
)
from .http_responses import html_shaped
from .refusal_lines import (
    THIRD_PARTY_MARK,
    Answer,
    api_key_hint,
    coded,
    failed_stream,
    html_page,
    not_a_usage_limit,
    rate_limited_key,
    reached_limits,
    revoked,
    sign_in_rejected,
    third_party_hint,
    unavailable,
    usage_limit,
)


@dataclass(frozen=True)
class Example:
    """An answer to show a row with: status, JSON body (or text), headers."""

    status: int
    body: Any
    headers: tuple[tuple[str, str], ...] = ()
    api_key: bool = False
    retried: bool = True


@dataclass(frozen=True)
class Refusal:
    """One row: ``answer``, ``errors`` and ``client_does`` are the documentation's
    columns; the first row whose ``matches`` holds makes the ``error``."""

    answer: str
    errors: str
    client_does: str
    matches: Callable[[Answer], bool]
    error: Callable[[Answer], ClaudeApiError]
    example: Example


def _envelope(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


_NO_RETRY = "no refresh, no retry"
_SDK_RETRIES = "the anthropic SDK's own retries; no second layer"
_CODE_STATUS = {
    "credits_required": 429,
    "token_expired": 401,
}
#: Error code → (what it means, what the client does, an example message, whether the
#: example is ``user_facing``).
_CODE_ANSWERS = {
    "credits_required": (
        "out of extra usage",
        "no refresh, no retry (the SDK is told `x-should-retry: false`)",
        "You're out of extra usage. Add funds or wait for your limit to reset.",
        True,
    ),
    "oauth_scope_insufficient": (
        "a scope the request needs is missing",
        "no retry",
        "OAuth token does not meet scope requirement user:inference.",
        False,
    ),
    "organization_disabled": (
        "the organization is disabled",
        _NO_RETRY,
        "This organization has been disabled.",
        False,
    ),
    "token_expired": (
        "the token expired",
        "one replacement token, one retry",
        "OAuth token has expired.",
        False,
    ),
    "verification_required": (
        "verify your identity first",
        "no retry",
        "Please verify your identity to continue.",
        False,
    ),
    "model_access_suspended": (
        "the model is suspended for the organization",
        "no retry",
        "Access to model: claude-opus-4-7 is suspended for this organization.",
        False,
    ),
}


def _carries(code: str) -> Callable[[Answer], bool]:
    """An error answer with ``error.details.error_code`` ``code``."""

    def matches(answer: Answer) -> bool:
        return answer.code == code and answer.status >= 400

    return matches


def _coded_rows() -> list[Refusal]:
    rows = []
    for code, (cls, _says, _hint) in ERROR_CODES.items():
        meaning, does, example, user_facing = _CODE_ANSWERS[code]
        status = _CODE_STATUS.get(code, 403)
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(
            status, "permission_error"
        )
        body = _envelope(kind, example)
        body["error"]["details"] = {"error_code": code}
        if user_facing:
            body["error"]["details"]["error_visibility"] = "user_facing"
        rows.append(
            Refusal(
                answer=f"{status} `error_code: {code}` ({meaning})",
                errors=f"`{cls.__name__}`",
                client_does=does,
                matches=_carries(code),
                error=coded,
                example=Example(status, body),
            )
        )
    return rows


def refusals() -> tuple[Refusal, ...]:
    """Every row, in the order they are tried; built when asked, not at import (an
    answer that needs the table is rare, and importing the module stays cheap)."""
    return (
        Refusal(
            answer="2xx, a stream that fails with `event: error`",
            errors="`ApiUnavailable` (status 200)",
            client_does="raised, for the host's own handling of broken streams",
            matches=lambda a: 200 <= a.status < 300,
            error=failed_stream,
            example=Example(
                200,
                "event: error\ndata: "
                '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
            ),
        ),
        Refusal(
            answer="an HTML page instead of JSON (a proxy, Cloudflare)",
            errors="`ApiUnexpectedAnswer` (`ApiUnavailable` for 5xx)",
            client_does="no retry",
            matches=lambda a: a.kind is None and html_shaped(a.header("content-type"), a.raw),
            error=html_page,
            example=Example(
                403,
                "<html><head><title>Just a moment...</title></head></html>",
            ),
        ),
        Refusal(
            answer='400 "only authorized for use with Claude Code"',
            errors="`ThirdPartyRefused`",
            client_does=_NO_RETRY,
            matches=lambda a: a.status == 400 and a.says(THIRD_PARTY_MARK),
            error=lambda a: ThirdPartyRefused(
                f"{a.where} refused this sign-in for use outside Claude Code ({a.detail}).",
                hint=third_party_hint(),
                **a.common,
            ),
            example=Example(
                400,
                _envelope(
                    "invalid_request_error",
                    "This credential is only authorized for use with Claude Code and cannot be "
                    "used for other API requests.",
                ),
            ),
        ),
        Refusal(
            answer="401 to a Console API key",
            errors="`ApiKeyRejected`",
            client_does="no refresh (a key has none), no retry",
            matches=lambda a: a.status == 401 and a.api_key,
            error=lambda a: ApiKeyRejected(
                f"{a.where} rejected the API key of this Console sign-in ({a.detail}).",
                hint=api_key_hint(),
                **a.common,
            ),
            example=Example(
                401, _envelope("authentication_error", "invalid x-api-key"), api_key=True
            ),
        ),
        Refusal(
            answer='401/403 "OAuth authentication is currently not allowed for this '
            'organization" (or `error_code: oauth_not_allowed_for_organization`)',
            errors="`OrganizationRefused`",
            client_does=_NO_RETRY,
            matches=lambda a: (
                organization_refuses(a.status, a.message, a.code)
                and a.code != "organization_disabled"
            ),
            error=lambda a: OrganizationRefused(
                f"{a.where} does not allow OAuth sign-ins for this organization ({a.detail}).",
                hint=organization_hint(),
                **a.common,
            ),
            example=Example(
                403,
                _envelope(
                    "permission_error",
                    "OAuth authentication is currently not allowed for this organization.",
                ),
            ),
        ),
        *_coded_rows(),
        Refusal(
            answer='401 "OAuth authentication is currently not supported" (no OAuth beta)',
            errors="`SignInRejected`",
            client_does="no retry",
            matches=lambda a: a.status == 401 and a.says(NO_BETA_MARK),
            error=lambda a: SignInRejected(
                f"{a.where} did not accept OAuth ({a.detail}).",
                hint="The OAuth beta header is missing: check CLAUDE_CODE_OAUTH_ANTHROPIC_BETA.",
                **a.common,
            ),
            example=Example(
                401,
                _envelope(
                    "authentication_error", "OAuth authentication is currently not supported."
                ),
            ),
        ),
        Refusal(
            answer='401 `authentication_error` (also "OAuth access token has been revoked")',
            errors="`SignInRejected`",
            client_does="nothing shown if one replacement token (another process's rotation, "
            "or one refresh) cures it; one retry",
            matches=lambda a: a.status == 401,
            error=sign_in_rejected,
            example=Example(401, _envelope("authentication_error", "Invalid bearer token")),
        ),
        Refusal(
            answer='403 "OAuth token has been revoked"',
            errors="`LoginRevoked`",
            client_does="nothing shown if one refresh cures it; a refresh answered "
            "`invalid_grant` ends the login (`LoginRequired`)",
            matches=lambda a: not a.api_key and is_revocation(a.status, a.message),
            error=revoked,
            example=Example(403, _envelope("permission_error", "OAuth token has been revoked.")),
        ),
        Refusal(
            answer="403 `permission_error` naming `model:`",
            errors="`ModelNotAvailable`",
            client_does="no retry",
            matches=lambda a: a.status == 403 and a.kind == "permission_error" and a.says("model:"),
            error=lambda a: ModelNotAvailable(
                f"{a.where} says this plan cannot use this model ({a.detail}).",
                hint="Choose another model.",
                **a.common,
            ),
            example=Example(
                403, _envelope("permission_error", "model: claude-opus-4-7 is not available")
            ),
        ),
        Refusal(
            answer="403, any other",
            errors="`PermissionRefused`",
            client_does="no retry",
            matches=lambda a: a.status == 403,
            error=lambda a: PermissionRefused(
                f"{a.where} refused permission ({a.detail}).", **a.common
            ),
            example=Example(403, _envelope("permission_error", "Not allowed.")),
        ),
        Refusal(
            answer="429 with `anthropic-ratelimit-unified-status: rejected`",
            errors="`UsageLimitReached` (`window`, `resets_at`)",
            client_does="no refresh, no retry (the SDK is told `x-should-retry: false`)",
            matches=lambda a: a.status == 429 and reached_limits(a) is not None,
            error=usage_limit,
            example=Example(
                429,
                {},  # the headers decide, and the line quotes no body
                (
                    ("anthropic-ratelimit-unified-status", "rejected"),
                    ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
                ),
            ),
        ),
        Refusal(
            answer="429 to a Console API key, without those headers",
            errors="`RequestRejected`",
            client_does="the anthropic SDK's own retries",
            matches=lambda a: a.status == 429 and a.api_key,
            error=rate_limited_key,
            example=Example(
                429,
                _envelope("rate_limit_error", "Rate limited"),
                (("retry-after", "30"),),
                api_key=True,
            ),
        ),
        Refusal(
            answer="429 without those headers",
            errors="`RequestRejected`",
            client_does="the anthropic SDK's own retries; never shared with other processes "
            "as a wait",
            matches=lambda a: a.status == 429,
            error=not_a_usage_limit,
            example=Example(
                429, _envelope("rate_limit_error", "Too many requests"), (("retry-after", "30"),)
            ),
        ),
        Refusal(
            answer="404/410 not about a model",
            errors="`RequestRejected`",
            client_does="no retry",
            matches=lambda a: (
                a.status in (404, 410)
                and a.kind in (None, "not_found_error")
                and not a.says("model")
            ),
            error=lambda a: RequestRejected(
                f"{a.where} answered {a.detail}; the endpoint has probably moved.",
                hint="Check CLAUDE_CODE_OAUTH_API_BASE_URL.",
                **a.common,
            ),
            example=Example(404, _envelope("not_found_error", "Not found")),
        ),
        Refusal(
            answer="529 `overloaded_error`, other 5xx",
            errors="`ApiUnavailable`",
            client_does=_SDK_RETRIES,
            matches=lambda a: a.status >= 500,
            error=unavailable,
            example=Example(529, _envelope("overloaded_error", "Overloaded")),
        ),
        Refusal(
            answer="4xx without Anthropic's error JSON",
            errors="`ApiUnexpectedAnswer`",
            client_does="no retry",
            matches=lambda a: a.kind is None and a.message is None,
            error=lambda a: ApiUnexpectedAnswer(
                f"{a.where} answered HTTP {a.status} without Anthropic's error JSON.", **a.common
            ),
            example=Example(418, None),  # an empty body
        ),
        Refusal(
            answer="other 4xx (the request's shape, its size)",
            errors="`RequestRejected`",
            client_does="no retry",
            matches=lambda a: True,
            error=lambda a: RequestRejected(
                f"{a.where} refused the request ({a.detail}).", **a.common
            ),
            example=Example(400, _envelope("invalid_request_error", "max_tokens: field required")),
        ),
    )


def error_for(answer: Answer) -> ClaudeApiError:
    """The error of the first row that matches ``answer`` (the last row matches all)."""
    return next(row.error(answer) for row in refusals() if row.matches(answer))
