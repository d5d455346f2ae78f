"""What authenticates a request: an OAuth access token or, for a Console sign-in, an API key.

A :class:`Credential` says which (:attr:`Credential.kind`), so an auth layer sends
``Authorization: Bearer`` with the OAuth beta for one and ``x-api-key`` without
any OAuth header for the other. Its repr never shows the secret.
"""

from __future__ import annotations

#: An OAuth access token (``Authorization: Bearer`` + the OAuth beta).
OAUTH = "oauth"
#: An Anthropic API key (``x-api-key``, no OAuth header).
API_KEY = "api_key"


class Credential:
    """``kind`` (:data:`OAUTH` or :data:`API_KEY`), the ``secret`` itself, and the
    ``profile`` whose sign-in it is (``None`` when not known)."""

    __slots__ = ("kind", "profile", "secret")

    def __init__(self, kind: str, secret: str, profile: str | None = None) -> None:
        self.kind = kind
        self.secret = secret
        self.profile = profile

    @property
    def is_api_key(self) -> bool:
        return self.kind == API_KEY

    def __repr__(self) -> str:  # never the secret
        return f"<Credential {self.kind} profile={self.profile!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Credential) and (self.kind, self.secret, self.profile) == (
            other.kind,
            other.secret,
            other.profile,
        )

    # Unhashable: defining __eq__ without __hash__ sets __hash__ to None (Python does it;
    # assigning None here would be a type error to silence).
