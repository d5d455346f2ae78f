"""The lines of Claude's refusals: :class:`Answer` (one answer as the rows of
:func:`~.refusal_table.refusals` read it) and the functions that make a row's one-line
error, hint included. Which answer gets which line is the table's business; imports only
our small modules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..account import unified_limits
from ..errors import (
    ApiUnavailable,
    ApiUnexpectedAnswer,
    ClaudeApiError,
    LoginRevoked,
    RequestRejected,
    SignInRejected,
    UsageLimitReached,
)
from ..hints import anywhere
from .error_codes import (
    coded_error,
    sign_in_hint,
)
from .http_responses import html_title, retry_after_seconds

THIRD_PARTY_MARK = "only authorized for use with claude code"
#: The longest a server's text is quoted (a ``user_facing`` message: 300).
MAX_TEXT = 160


def third_party_hint() -> str:
    """Why no refresh helps a third-party refusal, and the sign-in that does."""
    return (
        "Anthropic's policy allows Claude subscription (Pro/Max) sign-ins only in Claude "
        "Code and claude.ai, and no refresh or retry changes that. To use Claude here, sign "
        f"in with an Anthropic Console (API-billed) account instead: "
        f"{anywhere().login(console=True)} creates an API key that Anthropic's terms allow "
        "in any client; or use Claude Code itself."
    )


def api_key_hint() -> str:
    """What a rejected API key means, and how to get another."""
    return (
        "An API key has no refresh: it was probably revoked or deleted in the Anthropic "
        f"Console. Sign in again with {anywhere().login(console=True)} to create a new one."
    )


def usage_limit_line(limits: unified_limits.UnifiedLimits, now: float | None = None) -> str:
    """``Claude usage limit reached (5-hour window); resets at 14:05 (in 1 h 12 min)``."""
    window = limits.binding_window
    line = "Claude usage limit reached"
    if window:
        line += f" ({unified_limits.display_name(window)} window)"
    resets_at = limits.binding_resets_at()
    if resets_at is not None:
        line += f"; resets at {unified_limits.until(resets_at, now)}"
    else:
        line += "; Claude did not say when it resets"
    return line


def detail_of(status: int, kind: str | None, message: str | None, code: str | None = None) -> str:
    """``HTTP 400 invalid_request_error: <message>`` (what the server said), with the error
    code when Claude sent one: ``HTTP 403 permission_error, organization_disabled: <message>``."""
    text = f"HTTP {status}"
    if kind:
        text += f" {kind}"
    if code:
        text += f", {code}" if kind else f" {code}"
    if message:
        text += f": {message}"
    return text


@dataclass(frozen=True)
class Answer:
    """One answer of Claude's API as the rows read it (built by ``error_for_answer``):
    ``kind`` and ``message`` from Anthropic's error envelope (shortened, credentials
    blanked), ``code`` its ``error.details.error_code``, ``data`` the parsed body,
    ``raw`` its bytes, ``pairs`` the headers."""

    status: int
    kind: str | None
    message: str | None
    code: str | None
    data: Any
    raw: bytes
    pairs: list[tuple[str, str]]
    host: str
    what: str
    retried: bool = False
    api_key: bool = False
    now: float | None = None
    secrets: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.what} ({self.host})"

    @property
    def detail(self) -> str:
        return detail_of(self.status, self.kind, self.message, self.code)

    @property
    def common(self) -> dict[str, Any]:
        """What every error of an answer carries."""
        return {
            "status": self.status,
            "host": self.host,
            "error_type": self.kind,
            "error_code": self.code,
        }

    def header(self, name: str) -> str:
        """The last value of header ``name`` (lower case), or ``""``."""
        found = ""
        for key, value in self.pairs:
            if key.lower() == name:
                found = value
        return found

    def says(self, words: str) -> bool:
        """Whether the message holds ``words`` (lower case), in any case."""
        return self.message is not None and words in self.message.lower()


# -- the rows' errors --------------------------------------------------------------


def failed_stream(a: Answer) -> ClaudeApiError:
    said = f"{a.kind}" + (f": {a.message}" if a.message else "")
    return ApiUnavailable(
        f"{a.where} failed after it had started answering ({said}); try again in a moment.",
        status=a.status,
        host=a.host,
        error_type=a.kind,
    )


def html_page(a: Answer) -> ClaudeApiError:
    title = html_title(a.raw, a.secrets, MAX_TEXT)
    shown = f' "{title}"' if title else ""
    cloudflare = " (a Cloudflare challenge)" if title and "moment" in title.lower() else ""
    cls = ApiUnavailable if a.status >= 500 else ApiUnexpectedAnswer
    moved = (
        " The URL has probably moved: check CLAUDE_CODE_OAUTH_API_BASE_URL."
        if a.status in (404, 410)
        else " A proxy or firewall is in the way, or CLAUDE_CODE_OAUTH_API_BASE_URL is wrong."
        if a.status < 500
        else " Try again shortly."
    )
    return cls(
        f"{a.where} answered HTTP {a.status} with an HTML page{shown}{cloudflare} instead of "
        f"JSON.{moved}",
        status=a.status,
        host=a.host,
    )


def coded(a: Answer) -> ClaudeApiError:
    assert a.code is not None  # the row matched on it
    return coded_error(
        a.code,
        a.data,
        a.pairs,
        a.where,
        a.detail,
        a.message,
        retried=a.retried,
        now=a.now,
        common=a.common,
    )


def sign_in_rejected(a: Answer) -> ClaudeApiError:
    again = " even after a refresh" if a.retried else ""
    return SignInRejected(
        f"{a.where} rejected the sign-in{again} ({a.detail}).", hint=sign_in_hint(), **a.common
    )


def revoked(a: Answer) -> ClaudeApiError:
    again = ", even with a freshly refreshed token" if a.retried else ""
    return LoginRevoked(
        f"{a.where} says this login was revoked ({a.detail}){again}.",
        hint=sign_in_hint(),
        **a.common,
    )


def reached_limits(a: Answer) -> unified_limits.UnifiedLimits | None:
    limits = unified_limits.parse(a.pairs, a.now)
    return limits if limits is not None and limits.limit_reached else None


def usage_limit(a: Answer) -> ClaudeApiError:
    limits = reached_limits(a)
    assert limits is not None  # the row matched on it
    return UsageLimitReached(
        f"{usage_limit_line(limits, a.now)} ({a.host} answered HTTP 429).",
        window=limits.binding_window,
        resets_at=limits.binding_resets_at(),
        **a.common,
    )


def retry_after(a: Answer) -> str:
    wait = retry_after_seconds(a.header("retry-after"))
    return f" Retry after {wait:.0f} s." if wait is not None else ""


def rate_limited_key(a: Answer) -> ClaudeApiError:
    return RequestRejected(
        f"{a.where} is rate limiting this API key's organization ({a.detail})." + retry_after(a),
        **a.common,
    )


def not_a_usage_limit(a: Answer) -> ClaudeApiError:
    said = f' ("{a.message.rstrip(".")}")' if a.message else ""
    return RequestRejected(
        f"Claude rejected the request (HTTP 429, not a usage limit): {a.where} "
        f"answered {a.kind or 'an error'}{said}." + retry_after(a),
        **a.common,
    )


def unavailable(a: Answer) -> ClaudeApiError:
    again = "is overloaded" if a.status == 529 or a.kind == "overloaded_error" else "failed"
    return ApiUnavailable(f"{a.where} {again} ({a.detail}); try again shortly.", **a.common)
