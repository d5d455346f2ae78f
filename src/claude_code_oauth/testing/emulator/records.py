"""The emulator's records: what it issues and remembers, as plain values.

Codes, logins, access and refresh tokens, pending consents, faults, the refresh
and replay logs, and :data:`ISSUED_SECRETS` — every token, code and verifier any
emulator in this process issued or received, so a test suite can check that no
output ever contains one. No locking here: :mod:`.state` guards all of it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

#: Secrets issued or received by any emulator in this process.
ISSUED_SECRETS: set[str] = set()

ACCESS_PREFIX = "sk-ant-oat01-"
REFRESH_PREFIX = "sk-ant-ort01-"
DEFAULT_SCOPE = "org:create_api_key user:profile user:inference"
#: Where Claude sends an account on hold when its answer names no ``error_uri``.
HOLD_URI = "https://claude.ai/restricted"

_MIN_REMEMBERED = 16
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _remember(secret: str) -> str:
    ISSUED_SECRETS.add(secret)
    return secret


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OAuthFailure(Exception):
    """A token-endpoint refusal: becomes ``{"error", "error_description"}`` with ``status``."""

    def __init__(
        self, error: str, description: str, status: int = 400, uri: str | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        #: ``error_uri`` (RFC 6749 §5.2): where the user can read more (an account hold).
        self.uri = uri


@dataclass(frozen=True)
class AuthorizeRequest:
    """A validated /oauth/authorize request waiting for (or past) the user's decision."""

    client_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    state: str
    #: Opened on the Console's authorize page: the login may create an API key.
    console: bool = False


@dataclass
class _Pending:
    request: AuthorizeRequest
    expires_at: float


@dataclass
class _Code:
    request: AuthorizeRequest
    expires_at: float
    used: bool = False
    login_id: str | None = None
    #: Index in ``EmulatorState.accounts`` of the account the user approved as.
    identity: int = 0


@dataclass
class _Login:
    id: str
    scope: str
    account: bool
    access_ttl: int
    deadline: float | None
    revoked: bool = False
    #: Index in ``EmulatorState.accounts``: whose login this is.
    identity: int = 0
    #: A Console login (its tokens may create an API key).
    console: bool = False


@dataclass
class _Access:
    login_id: str
    expires_at: float
    force_expired: bool = False
    #: Revoked on its own at the revoke endpoint (``token_type_hint: access_token``).
    revoked: bool = False


@dataclass
class _Refresh:
    login_id: str
    spent: bool = False


def token_digest(token: str) -> str:
    """A short, non-secret fingerprint of a token (what the logs below hold)."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RefreshGrant:
    """One successful refresh: ``spent`` was presented, ``issued`` handed out (digests)."""

    at: float
    login_id: str
    spent: str
    issued: str


@dataclass(frozen=True)
class Replay:
    """A spent refresh token presented again (``token`` is its digest); it ended the login."""

    at: float
    login_id: str
    token: str


@dataclass(frozen=True)
class Revocation:
    """One call the revoke endpoint answered 200: ``token`` is the presented token's
    digest, ``hint`` its ``token_type_hint``, ``kind`` what it turned out to be
    (``refresh_token`` — the whole login ended —, ``access_token``, or ``None``: a token
    this emulator does not know, answered 200 all the same as RFC 7009 §2.2 says)."""

    at: float
    login_id: str | None
    token: str
    hint: str | None
    kind: str | None


@dataclass
class Fault:
    """One injected fault: applies to the next ``remaining`` requests to its endpoint."""

    name: str
    remaining: int
    params: dict[str, Any] = field(default_factory=dict)
