"""Claude's error codes as the lines a user reads (``net/error_codes.py``): each through
:func:`~claude_code_oauth.net.claude_answers.error_for_answer`, the clock injected."""

from __future__ import annotations

from typing import Any

import pytest

from claude_code_oauth.account.unified_limits import until
from claude_code_oauth.errors import CreditsRequired, SignInRejected
from claude_code_oauth.net.claude_answers import error_for_answer

#: Far from the real clock: a reset read against the wall clock would be refused as
#: implausible (more than 400 days away), so only the injected ``now`` makes it count.
NOW = 1_000_000_000.0
CREDITS_HINT = (
    "Nothing clears it by itself: add funds or raise the extra-usage limit at "
    "https://claude.ai/settings/usage"
)


def coded(
    code: str, message: str, *, kind: str = "rate_limit_error", user_facing: bool = True
) -> Any:
    details: dict[str, str] = {"error_code": code}
    if user_facing:
        details["error_visibility"] = "user_facing"
    return {"type": "error", "error": {"type": kind, "message": message, "details": details}}


def test_out_of_extra_usage_says_when_the_binding_window_resets() -> None:
    reset = NOW + 72 * 60
    headers = {
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-reset": str(int(reset)),
    }
    body = coded("credits_required", "You're out of extra usage.")
    error = error_for_answer(429, headers, body, host="h", now=NOW)
    assert isinstance(error, CreditsRequired) and error.resets_at == reset
    assert error.hint == (
        f"{CREDITS_HINT}, or wait for your plan's 5-hour limit to reset at {until(reset, NOW)}."
    )
    assert error.hint.endswith("(in 1 h 12 min).")
    assert str(error) == (
        "Claude's API (h) says you are out of extra usage (HTTP 429, credits_required): "
        f'"You\'re out of extra usage." {error.hint}'
    )


def test_out_of_extra_usage_without_a_window_names_none() -> None:
    reset = NOW + 30 * 60
    headers = {"anthropic-ratelimit-unified-reset": str(int(reset))}
    error = error_for_answer(429, headers, coded("credits_required", "Out."), host="h", now=NOW)
    assert isinstance(error, CreditsRequired) and error.resets_at == reset
    assert error.hint == (
        f"{CREDITS_HINT}, or wait for your plan's limit to reset at {until(reset, NOW)}."
    )


def test_out_of_extra_usage_without_a_reset_says_nothing_clears_it() -> None:
    error = error_for_answer(429, {}, coded("credits_required", "Out."), host="h", now=NOW)
    assert isinstance(error, CreditsRequired) and error.resets_at is None
    assert error.hint == CREDITS_HINT + "."


@pytest.mark.parametrize(
    ("retried", "line"),
    [
        (
            False,
            "Claude's API (h) rejected the sign-in as expired "
            "(HTTP 401 authentication_error, token_expired: OAuth token has expired.).",
        ),
        (
            True,
            "Claude's API (h) rejected the sign-in as expired even after a refresh "
            "(HTTP 401 authentication_error, token_expired: OAuth token has expired.).",
        ),
    ],
    ids=["first_answer", "after_the_retry"],
)
def test_an_expired_token_says_even_after_a_refresh_only_after_the_retry(
    retried: bool, line: str
) -> None:
    body = coded(
        "token_expired", "OAuth token has expired.", kind="authentication_error", user_facing=False
    )
    error = error_for_answer(401, {}, body, host="h", retried=retried)
    assert isinstance(error, SignInRejected) and error.reason == line


@pytest.mark.parametrize(
    ("message", "quoted"),
    [
        ("Add funds to continue.", '"Add funds to continue."'),
        ("Add funds to continue!", '"Add funds to continue!"'),
        ("Want to add funds?", '"Want to add funds?"'),
        ("Add funds to continue", '"Add funds to continue".'),
    ],
    ids=["period", "exclamation", "question", "unended"],
)
def test_a_user_facing_message_ends_the_line_once(message: str, quoted: str) -> None:
    error = error_for_answer(429, {}, coded("credits_required", message), host="h", now=NOW)
    assert error is not None and error.reason == (
        f"Claude's API (h) says you are out of extra usage (HTTP 429, credits_required): {quoted}"
    )


def test_a_message_without_details_is_shortened_like_any_server_text() -> None:
    """Only a message Claude marked ``user_facing`` is shown up to 300 characters; one
    without ``details`` is cut at 160, as any server text."""
    words = "The request was refused for a reason this long message explains. " * 4
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": words}}
    error = error_for_answer(400, {}, body, host="h")
    assert error is not None and words[:150] in str(error) and words[:170] not in str(error)


def _with_code(code: str) -> Any:
    details = {"error_code": code}
    return {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "m", "details": details},
    }


def test_a_long_error_code_is_shortened_to_160_characters() -> None:
    error = error_for_answer(400, {}, _with_code("c" * 200), host="h")
    shown = "c" * 159 + "…"
    assert error is not None and error.reason == (
        f"Claude's API (h) refused the request (HTTP 400 invalid_request_error, {shown}: m)."
    )


def test_an_error_code_that_is_not_printable_is_not_shown() -> None:
    """A code holding a control character (here an escape, which could drive a terminal)
    is no code: the line shows the rest of the answer without it."""
    error = error_for_answer(400, {}, _with_code("bad\x1b[2Jcode"), host="h")
    assert error is not None and error.reason == (
        "Claude's API (h) refused the request (HTTP 400 invalid_request_error: m)."
    )
