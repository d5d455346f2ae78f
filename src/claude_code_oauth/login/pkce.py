"""PKCE (RFC 7636, S256 only) and the one-time ``state``.

Both the verifier and the state are 32 random bytes from :mod:`secrets`,
base64url-encoded without padding: 43 characters from ``[A-Za-z0-9-_]``,
256 bits each. ``plain`` is never offered.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

_VERIFIER_RE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_verifier() -> str:
    """A fresh code verifier: 43 characters, 256 bits of entropy."""
    return _b64url(secrets.token_bytes(32))


def new_state() -> str:
    """A fresh ``state``: 32 random bytes, base64url (43 characters)."""
    return _b64url(secrets.token_bytes(32))


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))) without padding (RFC 7636 §4.2)."""
    if not _VERIFIER_RE.fullmatch(verifier):
        raise ValueError("a PKCE verifier is 43-128 characters of [A-Za-z0-9-._~]")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())
