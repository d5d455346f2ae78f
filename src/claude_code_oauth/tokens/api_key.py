"""A Console sign-in as stored: one Anthropic API key, and what the Console said about it.

A profile's token file holds either an OAuth login (:class:`.record.TokenRecord`)
or, after ``login --console``, an :class:`ApiKeyRecord` (``"kind":
"console_api_key"`` in the file). The OAuth tokens of a Console login are used
only to create the key and are never stored.

What a caller may rely on: ``api_key`` is visible ASCII without spaces, at most
8 KiB (:func:`.record.is_token`); ``key_name`` and ``key_id`` are ``None`` or one
line of at most :data:`MAX_LABEL` characters (server text, shortened); times are
finite epoch seconds before 2100 (``created_at`` is ``None`` when unknown); the
repr never shows the key, and :attr:`ApiKeyRecord.last4` is the only part of it
meant for people. A damaged stored form raises ``ValueError`` naming what is wrong.

On the ``token`` fast path: imports only :mod:`.record` (``time``).
"""

from __future__ import annotations

from .record import FORMAT_VERSION, is_token, plain_json, profile_fields, stored_time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The ``kind`` of a stored Console sign-in.
KIND = "console_api_key"
#: Key names and ids from a server are cut to this many characters.
MAX_LABEL = 200
#: A shorter "key" is not one (real keys are about a hundred characters).
MIN_KEY_LENGTH = 20

_KNOWN = {
    "version",
    "kind",
    "api_key",
    "key_id",
    "key_name",
    "created_at",
    "obtained_at",
    "account",
    "organization",
}


def _label(value: object) -> str | None:
    """A name or id from a server or the file: one short line, else ``None``."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or not text.isprintable():
        return None
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _iso_time(value: object) -> float | None:
    """An ISO 8601 time from the server (``2026-11-30T03:37:12Z``) as epoch seconds."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(value.strip())  # "Z" too, since Python 3.11
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return stored_time(when.timestamp())


def is_api_key(value: object) -> bool:
    """A plausible API key: a token of at least :data:`MIN_KEY_LENGTH` characters."""
    return isinstance(value, str) and is_token(value) and len(value) >= MIN_KEY_LENGTH


class ApiKeyRecord:
    """One Console sign-in: the API key, its name and id as the Console gave them, when it
    was created, and the account and organization of the login that created it."""

    __slots__ = (
        "account",
        "api_key",
        "created_at",
        "extra",
        "key_id",
        "key_name",
        "obtained_at",
        "organization",
    )

    def __init__(
        self,
        *,
        api_key: str,
        obtained_at: float,
        key_id: str | None = None,
        key_name: str | None = None,
        created_at: float | None = None,
        account: dict[str, Any] | None = None,
        organization: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.api_key = api_key
        self.obtained_at = obtained_at
        self.key_id = key_id
        self.key_name = key_name
        self.created_at = created_at
        self.account = account
        self.organization = organization
        self.extra = extra or {}

    def __repr__(self) -> str:  # never show the key
        return f"<ApiKeyRecord name={self.key_name!r} last4={self.last4!r}>"

    @property
    def last4(self) -> str:
        """The key's last four characters: the only part of it ever shown."""
        return self.api_key[-4:]

    @property
    def label(self) -> str:
        """How messages name the key: ``'claude_code_key_you_1a2b' (…AbCd)``, as the
        Console named it (its id when it gave no name)."""
        name = self.key_name or self.key_id
        return (f"'{name}' " if name else "") + f"(…{self.last4})"

    @property
    def organization_name(self) -> str | None:
        name = (self.organization or {}).get("name")
        return name if isinstance(name, str) and name else None

    @property
    def email(self) -> str | None:
        email = (self.account or {}).get("email_address")
        return email if isinstance(email, str) and email else None

    # -- conversion -------------------------------------------------------------

    @classmethod
    def from_create_answer(
        cls, body: dict[str, Any], *, login: dict[str, Any], now: float
    ) -> ApiKeyRecord:
        """The record for create_api_key's answer ``body``; ``login`` is the token answer
        of the Console login (for its account and organization). Raises ``ValueError``
        (one short line, never the key) when the answer holds no usable key.

        The name, id and creation time are read from the answer's top level or its
        ``api_key`` object (the key as the Console lists it), whichever has them.
        """
        raw = body.get("raw_key")
        if raw is None:
            raise ValueError("the answer has no raw_key")
        if not is_api_key(raw):
            raise ValueError("its raw_key is not a plausible API key")
        listed = body.get("api_key")
        if not isinstance(listed, dict):
            listed = {}

        def member(*names: str) -> object:
            for source in (body, listed):
                for name in names:
                    if source.get(name) is not None:
                        return source[name]
            return None

        return cls(
            api_key=raw,
            obtained_at=now,
            key_id=_label(member("id", "key_id")),
            key_name=_label(member("name", "key_name")),
            created_at=_iso_time(member("created_at")) or now,
            **profile_fields(login),
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self.extra)
        data.update(
            version=FORMAT_VERSION,
            kind=KIND,
            api_key=self.api_key,
            key_id=self.key_id,
            key_name=self.key_name,
            created_at=None if self.created_at is None else round(self.created_at, 3),
            obtained_at=round(self.obtained_at, 3),
            account=self.account,
            organization=self.organization,
        )
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiKeyRecord:
        """Parse the stored form (``data["kind"] == KIND``); ValueError naming what is wrong."""
        key = data.get("api_key")
        if not isinstance(key, str) or not key:
            raise ValueError("api_key is missing")
        if not is_api_key(key):
            raise ValueError("api_key is not a plausible API key")
        obtained = stored_time(data.get("obtained_at"))
        created = stored_time(data.get("created_at"))
        return cls(
            api_key=key,
            obtained_at=obtained if obtained is not None else (created or 0.0),
            key_id=_label(data.get("key_id")),
            key_name=_label(data.get("key_name")),
            created_at=created,
            **profile_fields(data),
            extra={k: plain_json(v) for k, v in data.items() if k not in _KNOWN},
        )
