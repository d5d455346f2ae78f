"""Claude's error codes, and the refusals Claude Code names by their words (CONTEXT §2c).

An answer of Claude's API may carry ``error.details.error_code`` and
``error.details.error_visibility: "user_facing"`` (its message is written for the
user). :data:`ERROR_CODES` says what each code Claude Code names means and what the
user can do; :func:`coded_error` makes the one-line error, showing a user-facing
message in Claude's own words. :func:`organization_refuses` and :func:`is_revocation`
recognise the answers Claude Code tells apart by their text. Used by
:mod:`.claude_answers`, which makes every other line; imports only our small modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..account import unified_limits
from ..errors import (
    ClaudeApiError,
    CreditsRequired,
    ModelNotAvailable,
    OrganizationRefused,
    PermissionRefused,
    SignInRejected,
)
from ..hints import anywhere
from .http_responses import anthropic_url, one_line


def sign_in_hint() -> str:
    """How to sign in again, worded for where this process shows its messages."""
    return f"Sign in again: {anywhere().login()}."


def organization_hint() -> str:
    """Why no sign-in helps when the organization refuses OAuth, and where to look."""
    return (
        "No refresh or new sign-in helps: a Claude Pro/Max payment may be past due (see "
        "https://claude.ai/settings/billing), or the organization's admin switched off "
        "Claude subscription access."
    )


ORGANIZATION_MARK = "oauth authentication is currently not allowed for this organization"
NO_BETA_MARK = "oauth authentication is currently not supported"
#: What Claude says of a revoked token (403).
_REVOKED_MARK = "oauth token has been revoked"
#: Error codes that say no token cures the answer (the organization refuses).
ORGANIZATION_CODES = frozenset({"oauth_not_allowed_for_organization", "organization_disabled"})


def error_details(data: Any) -> tuple[str | None, bool]:
    """(``error.details.error_code``, whether ``error_visibility`` is ``user_facing``)."""
    error = data.get("error") if isinstance(data, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    if not isinstance(details, dict):
        return None, False
    code = details.get("error_code")
    shown = one_line(code, (), 160) if isinstance(code, str) and code.isprintable() else None
    return shown or None, details.get("error_visibility") == "user_facing"


def is_revocation(status: int, message: str | None) -> bool:
    """A 403 "OAuth token has been revoked", which Claude Code treats as a revoked token
    (CONTEXT §2c). Its 401 "OAuth access token has been revoked" needs no test of its
    own: every 401 gets the one replacement token, and says sign in again if it stays."""
    return status == 403 and message is not None and _REVOKED_MARK in message.lower()


def organization_refuses(status: int, message: str | None, code: str | None) -> bool:
    """A 401/403 saying the organization does not allow OAuth (Claude Code's words), or
    an error code saying it refuses; no token cures either."""
    text = (message or "").lower()
    return status in (401, 403) and (ORGANIZATION_MARK in text or code in ORGANIZATION_CODES)


def _credits_hint(resets_at: float | None, window: str | None, now: float | None) -> str:
    hint = (
        "Nothing clears it by itself: add funds or raise the extra-usage limit at "
        "https://claude.ai/settings/usage"
    )
    if resets_at is not None:
        which = f"{unified_limits.display_name(window)} " if window else ""
        hint += f", or wait for your plan's {which}limit to reset at "
        hint += unified_limits.until(resets_at, now)
    return hint + "."


def _scope_hint() -> str:
    return (
        f"Sign in again with {anywhere().login()}; if your organization withholds that "
        f"scope, sign in with {anywhere().login(console=True)} instead."
    )


#: ``error.details.error_code`` → (error class, what happened — after the host —,
#: what to do). ``{again}`` is " even after a refresh" after the one retry.
ERROR_CODES: dict[str, tuple[type[ClaudeApiError], str, Callable[[], str] | None]] = {
    "credits_required": (CreditsRequired, "says you are out of extra usage", None),
    "oauth_scope_insufficient": (
        PermissionRefused,
        "says this sign-in lacks a scope the request needs",
        _scope_hint,
    ),
    "organization_disabled": (
        OrganizationRefused,
        "says your organization is disabled",
        lambda: (
            "No refresh or new sign-in helps: ask the organization's admin or Anthropic support."
        ),
    ),
    "token_expired": (SignInRejected, "rejected the sign-in as expired{again}", sign_in_hint),
    "verification_required": (
        PermissionRefused,
        "asks you to verify your identity before this",
        None,
    ),
    "model_access_suspended": (
        ModelNotAvailable,
        "says access to this model is suspended for your organization",
        lambda: "Choose another model; the organization's admin can say why.",
    ),
}


def coded_error(
    code: str,
    data: Any,
    pairs: list[tuple[str, str]],
    where: str,
    detail: str,
    message: str | None,
    *,
    retried: bool,
    now: float | None,
    common: dict[str, Any],
) -> ClaudeApiError:
    """The error for an answer carrying a known ``error_code`` (see :data:`ERROR_CODES`).
    A ``user_facing`` message is the line's own words, our advice follows it."""
    cls, says, hint_of = ERROR_CODES[code]
    user_facing = error_details(data)[1] and message
    hint = hint_of() if hint_of is not None else None
    extra: dict[str, Any] = {}
    if cls is CreditsRequired:
        limits = unified_limits.parse(pairs, now)
        resets_at = limits.binding_resets_at() if limits is not None else None
        window = limits.binding_window if limits is not None else None
        hint = _credits_hint(resets_at, window, now)
        extra["resets_at"] = resets_at
    if code == "verification_required":
        error = data["error"]
        url = anthropic_url(error["details"].get("remediation_url"))
        hint = f"Verify at {url}, then try again." if url else "Verify as it says, then try again."
    what = says.format(again=" even after a refresh" if retried else "")
    if user_facing and message:  # (user_facing implies message; said for mypy)
        # Written for the user: Claude's own words, after what the answer was.
        end = "" if message.endswith((".", "!", "?")) else "."
        line = f'{where} {what} (HTTP {common["status"]}, {code}): "{message}"{end}'
    else:
        line = f"{where} {what} ({detail})."
    return cls(line, hint=hint, **common, **extra)
