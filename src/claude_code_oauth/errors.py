"""Named, one-line errors.

Every error a user can meet is a subclass of :class:`ClaudeOAuthError`. Its
``str()`` is a single actionable line that never contains a token, code or
verifier: callers may print it as is. ``hint`` (optional) says what to do next.
"""

from __future__ import annotations


class ClaudeOAuthError(Exception):
    """Base class: ``str(err)`` is one line, safe to show, secret-free."""

    #: Process exit status the CLI uses for this error.
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # Collapse whitespace so the message stays one line whatever was embedded.
        message = " ".join(str(message).split())
        #: The message without its hint, for a caller that words the next step itself.
        self.summary = message
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


class RateLimited(TokenEndpointError):
    """HTTP 429; ``retry_after`` is in seconds (``None`` when not given)."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServerError(TokenEndpointError):
    """HTTP 5xx."""


class UnexpectedResponse(TokenEndpointError):
    """HTML (for example a Cloudflare challenge) or a body that is not the expected JSON."""


class NetworkError(TokenEndpointError):
    """Timeout, refused connection, DNS failure, TLS failure."""


# --- tokens on disk ------------------------------------------------------------


class NotSignedIn(ClaudeOAuthError):
    """There is no token file."""


class LoginRequired(ClaudeOAuthError):
    """The stored login can no longer be refreshed; the user must log in again."""


class TokenFileError(ClaudeOAuthError):
    """The token file is corrupt, a symlink, or cannot be written."""


class LockTimeout(ClaudeOAuthError):
    """A cross-process lock could not be taken in the allowed time."""


# --- models ------------------------------------------------------------------


class DiscoveryError(ClaudeOAuthError):
    """Model discovery failed; nothing on disk was changed."""


class ModelsFileError(ClaudeOAuthError):
    """``extra_models.json`` is unreadable or not valid JSON; it was left as is."""
