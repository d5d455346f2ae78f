"""The refusal table's rows at their edges (``net/refusal_table.py``).

Each row's own example, and the exact line it gets, is checked by the documentation's
copy of the table (``tests/docs/test_refusal_page.py``). Here, for each row, an answer
that almost matches it — the right words with the wrong status, the right status with
the wrong words or credential — and the row that does decide it, with its exact line.
"""

from __future__ import annotations

from typing import Any

import pytest

from claude_code_oauth.errors import (
    ApiUnavailable,
    ClaudeApiError,
    OrganizationRefused,
    PermissionRefused,
    RequestRejected,
)
from claude_code_oauth.net.claude_answers import error_for_answer


def envelope(kind: str, message: str, code: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["details"] = {"error_code": code}
    return {"type": "error", "error": error}


OVERLOADED = envelope("overloaded_error", "Overloaded")
H = "Claude's API (h)"

#: (id, status, headers, body, api_key, error class, the line without its hint)
NEAR_MISSES: list[tuple[str, int, list[tuple[str, str]], Any, bool, type, str]] = [
    # A failed stream is any 2xx; a 3xx with an envelope is not one.
    (
        "201_is_a_stream",
        201,
        [],
        OVERLOADED,
        False,
        ApiUnavailable,
        f"{H} failed after it had started answering (overloaded_error: Overloaded); "
        "try again in a moment.",
    ),
    (
        "300_is_no_stream",
        300,
        [],
        envelope("invalid_request_error", "Moved"),
        False,
        RequestRejected,
        f"{H} refused the request (HTTP 300 invalid_request_error: Moved).",
    ),
    # An HTML page is a body without Anthropic's JSON, whatever its Content-Type says.
    (
        "json_served_as_html",
        403,
        [("content-type", "text/html")],
        envelope("permission_error", "Not allowed."),
        False,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 permission_error: Not allowed.).",
    ),
    # The third-party refusal is a 400.
    (
        "third_party_words_in_a_403",
        403,
        [],
        envelope(
            "permission_error", "This credential is only authorized for use with Claude Code."
        ),
        False,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 permission_error: "
        "This credential is only authorized for use with Claude Code.).",
    ),
    # A rejected API key is a 401.
    (
        "403_to_an_api_key",
        403,
        [],
        envelope("permission_error", "Not allowed."),
        True,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 permission_error: Not allowed.).",
    ),
    # The organization's refusal is a 401 or a 403.
    (
        "organization_words_in_a_429",
        429,
        [],
        envelope(
            "rate_limit_error",
            "OAuth authentication is currently not allowed for this organization.",
        ),
        False,
        RequestRejected,
        "Claude rejected the request (HTTP 429, not a usage limit): "
        f'{H} answered rate_limit_error ("OAuth authentication is currently not allowed '
        'for this organization").',
    ),
    # ... and is one by its error code alone, whatever the words.
    (
        "organization_by_its_code",
        403,
        [],
        envelope("permission_error", "Not allowed.", "oauth_not_allowed_for_organization"),
        False,
        OrganizationRefused,
        f"{H} does not allow OAuth sign-ins for this organization "
        "(HTTP 403 permission_error, oauth_not_allowed_for_organization: Not allowed.).",
    ),
    # An error code decides from 400 on, not only with the status of the row's example.
    (
        "a_code_in_a_400",
        400,
        [],
        envelope(
            "invalid_request_error",
            "Please verify your identity to continue.",
            "verification_required",
        ),
        False,
        PermissionRefused,
        f"{H} asks you to verify your identity before this (HTTP 400 invalid_request_error, "
        "verification_required: Please verify your identity to continue.).",
    ),
    # A missing OAuth beta is a 401.
    (
        "no_beta_words_in_a_403",
        403,
        [],
        envelope("permission_error", "OAuth authentication is currently not supported."),
        False,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 permission_error: "
        "OAuth authentication is currently not supported.).",
    ),
    # A revoked login is an OAuth token's; an API key's 403 is only a refusal.
    (
        "revocation_words_to_an_api_key",
        403,
        [],
        envelope("permission_error", "OAuth token has been revoked."),
        True,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 permission_error: OAuth token has been revoked.).",
    ),
    # A model the plan lacks is a permission_error naming `model:`.
    (
        "model_in_another_error_type",
        403,
        [],
        envelope("invalid_request_error", "model: claude-x is not available"),
        False,
        PermissionRefused,
        f"{H} refused permission (HTTP 403 invalid_request_error: "
        "model: claude-x is not available).",
    ),
    # A moved endpoint: a 404 or 410, not_found_error or no JSON, not about a model.
    (
        "404_about_a_model",
        404,
        [],
        envelope("not_found_error", "Model not found"),
        False,
        RequestRejected,
        f"{H} refused the request (HTTP 404 not_found_error: Model not found).",
    ),
    (
        "404_of_another_type",
        404,
        [],
        envelope("invalid_request_error", "Not found"),
        False,
        RequestRejected,
        f"{H} refused the request (HTTP 404 invalid_request_error: Not found).",
    ),
    (
        "410",
        410,
        [],
        envelope("not_found_error", "Gone"),
        False,
        RequestRejected,
        f"{H} answered HTTP 410 not_found_error: Gone; the endpoint has probably moved.",
    ),
    (
        "404_without_json",
        404,
        [("content-type", "text/plain")],
        "Not Found",
        False,
        RequestRejected,
        f"{H} answered HTTP 404; the endpoint has probably moved.",
    ),
    # Unavailable: any 5xx; overloaded when Claude says so, whatever the status.
    (
        "503_overloaded",
        503,
        [],
        OVERLOADED,
        False,
        ApiUnavailable,
        f"{H} is overloaded (HTTP 503 overloaded_error: Overloaded); try again shortly.",
    ),
    (
        "500",
        500,
        [],
        envelope("api_error", "Internal"),
        False,
        ApiUnavailable,
        f"{H} failed (HTTP 500 api_error: Internal); try again shortly.",
    ),
    # Without Anthropic's JSON means neither an error type nor a message.
    (
        "an_oauth_envelope",
        400,
        [],
        {"error": "invalid_request"},
        False,
        RequestRejected,
        f"{H} refused the request (HTTP 400 invalid_request).",
    ),
    (
        "a_message_without_a_type",
        400,
        [],
        {"error": {"message": "Bad shape"}},
        False,
        RequestRejected,
        f"{H} refused the request (HTTP 400: Bad shape).",
    ),
]


@pytest.mark.parametrize(
    ("status", "headers", "body", "api_key", "cls", "line"),
    [case[1:] for case in NEAR_MISSES],
    ids=[case[0] for case in NEAR_MISSES],
)
def test_an_answer_next_to_a_row_gets_the_row_that_fits_it(
    status: int,
    headers: list[tuple[str, str]],
    body: Any,
    api_key: bool,
    cls: type[ClaudeApiError],
    line: str,
) -> None:
    error = error_for_answer(status, headers, body, host="h", api_key=api_key)
    assert type(error) is cls
    assert error.reason == line
