"""The lines of Claude's refusals (``net/refusal_lines.py``), word for word, through
:func:`~claude_code_oauth.net.claude_answers.error_for_answer`."""

from __future__ import annotations

import pytest

from claude_code_oauth.errors import (
    ApiUnavailable,
    ApiUnexpectedAnswer,
    LoginRevoked,
    RequestRejected,
    UsageLimitReached,
)
from claude_code_oauth.net.claude_answers import error_for_answer

HTML = [("content-type", "text/html")]
PROXY = " A proxy or firewall is in the way, or CLAUDE_CODE_OAUTH_API_BASE_URL is wrong."
MOVED = " The URL has probably moved: check CLAUDE_CODE_OAUTH_API_BASE_URL."


def test_a_failed_stream_carries_its_host_and_error_type() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    error = error_for_answer(200, {}, body, host="api.example")
    assert isinstance(error, ApiUnavailable)
    assert (error.status, error.host, error.error_type) == (200, "api.example", "overloaded_error")


@pytest.mark.parametrize(
    ("status", "page", "cls", "line"),
    [
        (
            403,
            b"<html><title>Access denied</title></html>",
            ApiUnexpectedAnswer,
            'answered HTTP 403 with an HTML page "Access denied" instead of JSON.' + PROXY,
        ),
        (
            403,
            b"<html><body>Blocked</body></html>",
            ApiUnexpectedAnswer,
            "answered HTTP 403 with an HTML page instead of JSON." + PROXY,
        ),
        (
            429,
            b"<html><title>Just a moment...</title></html>",
            ApiUnexpectedAnswer,
            'answered HTTP 429 with an HTML page "Just a moment..." (a Cloudflare challenge) '
            "instead of JSON." + PROXY,
        ),
        (
            410,
            b"<html><title>Gone</title></html>",
            ApiUnexpectedAnswer,
            'answered HTTP 410 with an HTML page "Gone" instead of JSON.' + MOVED,
        ),
        (
            411,
            b"<html><title>Length Required</title></html>",
            ApiUnexpectedAnswer,
            'answered HTTP 411 with an HTML page "Length Required" instead of JSON.' + PROXY,
        ),
        (
            499,
            b"<html><title>Client Closed</title></html>",
            ApiUnexpectedAnswer,
            'answered HTTP 499 with an HTML page "Client Closed" instead of JSON.' + PROXY,
        ),
        (
            500,
            b"<html><title>Internal Error</title></html>",
            ApiUnavailable,
            'answered HTTP 500 with an HTML page "Internal Error" instead of JSON. '
            "Try again shortly.",
        ),
    ],
    ids=["403", "403_untitled", "429_cloudflare", "410", "411", "499", "500"],
)
def test_an_html_page_is_named_with_its_title_and_what_to_check(
    status: int, page: bytes, cls: type, line: str
) -> None:
    error = error_for_answer(status, HTML, page, host="api.example")
    assert type(error) is cls
    assert str(error) == "Claude's API (api.example) " + line
    assert (error.status, error.host) == (status, "api.example")


def test_an_html_pages_long_title_is_shortened_like_any_server_text() -> None:
    title = "Service notice " + "x" * 180
    error = error_for_answer(503, HTML, f"<title>{title}</title>".encode(), host="h")
    assert error is not None and title[:140] in str(error) and title[:170] not in str(error)


def test_a_revocation_says_freshly_refreshed_only_after_the_retry() -> None:
    body = {
        "type": "error",
        "error": {"type": "permission_error", "message": "OAuth token has been revoked."},
    }
    first = error_for_answer(403, {}, body, host="h", retried=False)
    assert isinstance(first, LoginRevoked)
    assert first.reason == (
        "Claude's API (h) says this login was revoked "
        "(HTTP 403 permission_error: OAuth token has been revoked.)."
    )
    again = error_for_answer(403, {}, body, host="h", retried=True)
    assert again is not None and again.reason == (
        "Claude's API (h) says this login was revoked "
        "(HTTP 403 permission_error: OAuth token has been revoked.), "
        "even with a freshly refreshed token."
    )


@pytest.mark.parametrize(
    ("headers", "body", "said"),
    [
        (
            {"retry-after": "30"},
            {"type": "error", "error": {"type": "rate_limit_error", "message": "Slow down.."}},
            'answered rate_limit_error ("Slow down"). Retry after 30 s.',
        ),
        (
            {},
            {"error": {"type": "rate_limit_error", "message": "50 RPM for tier MAX."}},
            'answered rate_limit_error ("50 RPM for tier MAX").',
        ),
        ({}, {}, "answered an error."),
    ],
    ids=["message_and_wait", "message_only", "nothing_said"],
)
def test_a_429_that_is_no_usage_limit_quotes_what_claude_said(
    headers: dict[str, str], body: dict, said: str
) -> None:
    error = error_for_answer(429, headers, body, host="h")
    assert isinstance(error, RequestRejected)
    assert str(error) == (
        f"Claude rejected the request (HTTP 429, not a usage limit): Claude's API (h) {said}"
    )


def test_a_usage_limit_is_read_against_the_injected_clock() -> None:
    """A reset is judged plausible against ``now``, not the wall clock: at a ``now``
    years from today the 5-hour reset still counts."""
    now = 1_000_000_000.0
    headers = {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-reset": str(int(now + 72 * 60)),
    }
    error = error_for_answer(429, headers, {}, host="h", now=now)
    assert isinstance(error, UsageLimitReached) and error.resets_at == now + 72 * 60
    assert str(error).startswith("Claude usage limit reached (5-hour window); resets at ")
    assert str(error).endswith("(in 1 h 12 min) (h answered HTTP 429).")


def test_a_529_is_overloaded_whatever_its_body_says() -> None:
    body = {"type": "error", "error": {"type": "api_error", "message": "Busy"}}
    error = error_for_answer(529, {}, body, host="h")
    assert isinstance(error, ApiUnavailable)
    assert (
        str(error)
        == "Claude's API (h) is overloaded (HTTP 529 api_error: Busy); try again shortly."
    )


def test_a_code_without_an_error_type_is_named_after_the_status() -> None:
    body = {
        "error": {"message": "Verify first.", "details": {"error_code": "verification_required"}}
    }
    error = error_for_answer(403, {}, body, host="h")
    assert error is not None and error.reason == (
        "Claude's API (h) asks you to verify your identity before this "
        "(HTTP 403 verification_required: Verify first.)."
    )
