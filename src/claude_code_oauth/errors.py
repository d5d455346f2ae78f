"""Named, one-line errors.

Every error a user can meet is a subclass of :class:`ClaudeOAuthError`. Its
``str()`` is a single actionable line that never contains a token, code or
verifier: callers may print it as is. ``hint`` (optional) says what to do next.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # the token fast path imports this module: nothing more at run time
    from typing import Any


class ClaudeOAuthError(Exception):
    """Base class: ``str(err)`` is one line, safe to show, secret-free."""

    #: Process exit status the CLI uses for this error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Collapse whitespace so the message stays one line whatever was embedded.
        message = " ".join(str(message).split())
        #: The message without the hint (what happened, not what to do): for callers
        #: that word the next step themselves.
        self.reason = message
        if hint:
            message = f"{message} {' '.join(hint.split())}"
        super().__init__(message)
        self.hint = hint


class ConfigError(ClaudeOAuthError):
    """A configuration value (or its environment override) is invalid."""

    exit_code = 2


class UsageError(ClaudeOAuthError):
    """A command was given arguments it does not take; the message ends with its usage."""

    exit_code = 2


# --- login -----------------------------------------------------------------


class LoginError(ClaudeOAuthError):
    """The interactive login did not complete."""


class AuthorizationDenied(LoginError):
    """The authorization server redirected back with ``error=...``."""

    def __init__(self, error: str, description: str | None = None) -> None:
        self.error = error
        self.description = description
        text = f"Authorization failed: the server answered error={error!r}"
        if description:
            text += f" ({description})"
        super().__init__(text + ".", hint="Run the login again to retry.")


class CallbackTimeout(LoginError):
    """No callback or paste arrived within ``callback_timeout``."""


class LoginCancelled(LoginError):
    """The user interrupted the login (Ctrl-C)."""

    exit_code = 130


class PortUnavailable(LoginError):
    """No loopback port could be opened for the callback."""


class PasteError(LoginError):
    """A pasted line could not be understood or does not match this login."""


class ScopeNotGranted(LoginError):
    """The sign-in was granted without a scope it cannot work without (``user:inference``
    for a subscription sign-in, ``org:create_api_key`` for a Console one); nothing was
    saved."""


class ApiKeyCreationError(LoginError):
    """A Console sign-in could not create its API key; nothing was saved."""


class ApiKeyNotPermitted(ApiKeyCreationError):
    """The Console refused to create an API key (HTTP 403): the account's role in the
    organization does not allow it, or the sign-in is not a Console one."""


# --- token endpoint ----------------------------------------------------------


class TokenEndpointError(ClaudeOAuthError):
    """The token endpoint (or another Claude endpoint) gave an unusable answer."""


class OAuthErrorResponse(TokenEndpointError):
    """An RFC 6749 ``{"error": ...}`` or Anthropic error envelope."""

    def __init__(self, message: str, *, error: str, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.error = error
        self.status = status


class InvalidGrant(OAuthErrorResponse):
    """The code or refresh token is dead, spent or revoked."""


class SessionStale(InvalidGrant):
    """HTTP 403 ``session_stale_relogin``: the token endpoint wants a new sign-in."""


class RateLimited(TokenEndpointError):
    """HTTP 429; ``retry_after`` is in seconds (``None`` when not given)."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(TokenEndpointError):
    """HTTP 5xx."""


class UnexpectedResponse(TokenEndpointError):
    """HTML (for example a Cloudflare challenge) or a body that is not the expected JSON."""


class ResponseTooLarge(UnexpectedResponse):
    """The answer's (decoded) body was larger than the caller allows; reading stopped
    at the cap."""


class NetworkError(TokenEndpointError):
    """Timeout, refused connection, DNS failure, TLS failure."""


# --- tokens on disk ------------------------------------------------------------


class NotSignedIn(ClaudeOAuthError):
    """There is no token file."""


class LoginRequired(ClaudeOAuthError):
    """The stored login can no longer be refreshed; the user must log in again."""


class AccountOnHold(OAuthErrorResponse, LoginRequired):
    """The token endpoint says the account is on hold (``account_on_hold``): no refresh
    or sign-in helps until Anthropic lifts the hold. ``uri`` is where to read why and
    appeal (the answer's ``error_uri`` when it is Anthropic's, else the default)."""

    def __init__(
        self, message: str, *, uri: str, error: str, status: int, hint: str | None = None
    ) -> None:
        super().__init__(message, error=error, status=status, hint=hint)
        self.uri = uri


class TokenFileError(ClaudeOAuthError):
    """The token file is corrupt, a symlink, or cannot be written."""


class StorageError(ClaudeOAuthError):
    """A file, lock or directory of ours cannot be written (a read-only or full
    filesystem, no permission): the line names the path and the cause, and the hint
    what to free. Raised before a single-use credential is spent, never after."""


class RecordKept(TokenFileError):
    """New tokens (a refresh, a sign-in) could not be written over the token file.
    They are not lost: ``kept`` is the private file beside it that holds them (the
    next run that can write there adopts them), ``None`` when only this process
    holds them; ``record`` is the new sign-in, still usable now."""

    def __init__(self, message: str, *, hint: str | None, kept: str | None, record: object) -> None:
        super().__init__(message, hint=hint)
        self.kept = kept
        self.record = record


class ApiKeySignIn(ClaudeOAuthError):
    """The profile is signed in with an Anthropic API key (a Console sign-in), and the
    caller needs OAuth tokens, which such a sign-in does not keep."""


class LockTimeout(ClaudeOAuthError):
    """A cross-process lock could not be taken in the allowed time."""


# --- the OS keyring (see claude_code_oauth.secret_store) ----------------------------


class SecretStoreError(ClaudeOAuthError):
    """The OS keyring failed a call; what was stored before is unchanged unless the
    message says otherwise. The subclasses name the usual causes."""


class SecretStoreUnavailable(SecretStoreError):
    """There is no usable keyring here: no session bus, no Secret Service on it, no
    ``keyring`` library or backend."""


class SecretStoreLocked(SecretStoreError):
    """The keyring (collection) holding the item is locked, and this call may not ask
    the user to unlock it."""


class SecretStorePromptDismissed(SecretStoreError):
    """The keyring asked the user (to unlock, or to allow access) and the user, or the
    system for lack of a display, dismissed or denied the prompt."""


class SecretStoreTimeout(SecretStoreError):
    """The keyring did not answer within the call's deadline (a hung daemon, a prompt
    nobody answers); the call was abandoned."""


class SecretStoreDamaged(SecretStoreError):
    """A keyring item exists but cannot be what was stored: a missing part, a checksum
    that does not match, an answer that is not what the protocol says."""


class SecretTooLarge(SecretStoreError):
    """A value is larger than a store of credentials accepts (on write or on read)."""


class MoveFailed(ClaudeOAuthError):
    """``storage --to`` could not move a sign-in's credentials; the message says what
    happened, and that the sign-in still works from where it was (nothing was lost)."""


# --- models ------------------------------------------------------------------


class DiscoveryError(ClaudeOAuthError):
    """Model discovery failed; nothing on disk was changed."""


class ModelsFileError(ClaudeOAuthError):
    """``extra_models.json`` is unreadable or not valid JSON; it was left as is."""


# --- profiles ----------------------------------------------------------------


class ProfileError(ClaudeOAuthError):
    """A profile cannot be used as asked: not signed in, or the active-profile file is unusable."""


# --- usage -------------------------------------------------------------------


class UsageFileError(ClaudeOAuthError):
    """The usage snapshot beside the token file cannot be read or written."""


class ExtraUsageBlocked(ClaudeOAuthError):
    """``extra_usage = block``: a request was not sent because Claude would bill it
    as extra usage. ``window`` names the limit reached, ``resets_at`` (epoch
    seconds, or ``None`` when unknown) when the block ends by itself."""

    def __init__(self, message: str, *, window: str | None, resets_at: float | None) -> None:
        super().__init__(message)
        self.window = window
        self.resets_at = resets_at


# --- Claude's API (models, messages, profile) ------------------------------------


class ClaudeApiError(ClaudeOAuthError):
    """Claude's API refused or failed a request.

    ``status`` is the HTTP status (``200`` for a stream that failed after it
    started, ``None`` when no answer came), ``host`` the host that answered,
    ``error_type`` Anthropic's error type when it sent one, ``error_code`` its
    ``error.details.error_code`` (``credits_required``, …) when it sent one. See
    :func:`claude_code_oauth.net.claude_answers.error_for_answer`.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        host: str,
        error_type: str | None = None,
        error_code: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.host = host
        self.error_type = error_type
        self.error_code = error_code


class ThirdPartyRefused(ClaudeApiError):
    """HTTP 400: Claude serves this subscription sign-in only to Claude Code. No refresh or
    retry helps; a Console sign-in (``login --console``: an API key), or Claude Code does."""


class SignInRejected(ClaudeApiError):
    """HTTP 401 that a refresh did not cure: the user must sign in again."""


class ApiKeyRejected(ClaudeApiError):
    """HTTP 401 to an API key (no refresh exists for one): the key was revoked or deleted
    in the Console; a new Console sign-in creates another."""


class LoginRevoked(ClaudeApiError, LoginRequired):
    """HTTP 403 "OAuth token has been revoked" that one refresh did not cure (a refresh
    answered ``invalid_grant`` raises :class:`LoginRequired` from the provider instead)."""


class OrganizationRefused(ClaudeApiError):
    """HTTP 401/403: the organization does not allow OAuth sign-ins ("OAuth authentication
    is currently not allowed for this organization": a Pro/Max payment past due, or
    subscription access switched off), or it is disabled (``organization_disabled``).
    No refresh or new sign-in helps."""


class CreditsRequired(ClaudeApiError):
    """HTTP 429 ``credits_required``: out of extra usage; nothing clears it by itself.
    ``resets_at``: when the plan's binding window resets, if Claude said (epoch seconds)."""

    def __init__(self, message: str, *, resets_at: float | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.resets_at = resets_at


class PermissionRefused(ClaudeApiError):
    """HTTP 403 for another reason (a missing scope, an organization setting)."""


class ModelNotAvailable(PermissionRefused):
    """HTTP 403 naming a ``model:``: this plan cannot use that model, or access to it is
    suspended for the organization (``model_access_suspended``)."""


class UsageLimitReached(ClaudeApiError):
    """HTTP 429 with the unified headers of an exhausted plan window (``…-status: rejected``).

    ``window`` is the binding window (``five_hour``, ``seven_day``, …; ``None`` if not
    named), ``resets_at`` its reset in epoch seconds (``None`` if not given).
    """

    def __init__(
        self,
        message: str,
        *,
        window: str | None = None,
        resets_at: float | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(message, **fields)
        self.window = window
        self.resets_at = resets_at


class RequestRejected(ClaudeApiError):
    """A 4xx about this request (its shape, its model, a 429 that is not a usage limit)."""


class ApiUnavailable(ClaudeApiError):
    """529 overloaded, 5xx, or a stream that failed after it started: try again later."""


class ApiUnexpectedAnswer(ClaudeApiError):
    """An HTML page or a body that is not Anthropic's JSON (a proxy, Cloudflare, a moved URL)."""


class ApiUnreachable(ClaudeApiError):
    """No answer at all: DNS, refused connection, TLS, timeout."""


# --- the host ------------------------------------------------------------------


class HostStackMismatch(ClaudeOAuthError):
    """This Python's anthropic SDK and pydantic-ai cannot serve a model together
    (:mod:`claude_code_oauth.models.host_stack`); the hint is the command that fixes it."""
