"""A sign-in as the bytes of its token file, and back.

:func:`encode` writes a record as the file holds it, with one bookkeeping member,
``replaces``: a fingerprint (:func:`identity`) of the sign-in the write replaced.
A copy kept after a failed save is adopted only while the file still holds that
sign-in (:mod:`.recovery`), so a kept copy never resurrects a login that was
signed out of or replaced meanwhile. :func:`parse` reads the file's bytes and
:func:`from_data` the sign-in in them, either kind.

On the ``token`` fast path (:func:`parse`, :func:`from_data`): imports only ``json``.
"""

from __future__ import annotations

import json

from .api_key import KIND as API_KEY_KIND
from .api_key import ApiKeyRecord
from .record import TokenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .keyring_item import Location

#: The member naming (by fingerprint) the sign-in a write replaced.
REPLACES = "replaces"
#: The fingerprint of "no sign-in" (no file).
NOTHING = "none"


def parse(raw: bytes) -> object:
    """The JSON in ``raw``, numbers that are not finite read as unknown (``None``);
    raises ``ValueError``, ``UnicodeDecodeError`` or ``RecursionError``."""
    return json.loads(raw.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite)


def from_data(data: object) -> TokenRecord | ApiKeyRecord:
    """The sign-in in parsed stored form ``data`` (``ValueError`` for anything else)."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != REPLACES}  # bookkeeping of the write
    if isinstance(data, dict) and data.get("kind") == API_KEY_KIND:
        return ApiKeyRecord.from_json(data)
    return TokenRecord.from_json(data)


def _not_a_number(name: str) -> None:
    """``NaN``/``Infinity`` are not JSON (an older version could write them): unknown."""
    return None


def _finite(text: str) -> float | None:
    """A float literal; ``1e999`` (infinite) counts as unknown."""
    value = float(text)
    return value if value - value == 0 else None


def identity(record: TokenRecord | ApiKeyRecord | None) -> str:
    """A fingerprint of the credential that makes ``record`` this sign-in (the refresh
    token, else the key or access token): 16 hex digits of its SHA-256, never the
    credential. :data:`NOTHING` for no record."""
    if record is None:
        return NOTHING
    import hashlib

    if isinstance(record, ApiKeyRecord):
        secret = record.api_key
    else:
        secret = record.refresh_token or record.access_token
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def encode(
    record: TokenRecord | ApiKeyRecord,
    replaces: str,
    *,
    trimmed: bool = False,
    location: Location | None = None,
) -> bytes:
    """The file's bytes for ``record``. ``trimmed`` keeps only what the tokens need:
    the account's and organization's uuid, email and name, nothing unknown (a form
    a few KiB long whatever the server sent). Raises ``ValueError`` for a number
    that is not finite (NaN and Infinity are not JSON, and a later read would choke).

    With ``location`` the secrets are left out and the file names where they live
    (:mod:`.keyring_item`; :func:`item_bytes` gives the item's value)."""
    data = record.to_json()
    if location is not None:
        from .keyring_item import split

        data = split(data, location)[0]
    if trimmed:
        for key in ("account", "organization"):
            value = data.get(key)
            if isinstance(value, dict):
                data[key] = {
                    k: v[:200] if isinstance(v, str) else v
                    for k, v in value.items()
                    if k in ("uuid", "email_address", "email", "name")
                }
        known = set(type(record).__slots__) | {"version", "kind", "secrets"}
        data = {k: v for k, v in data.items() if k in known}
    data[REPLACES] = replaces
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode("utf-8")


def item_bytes(record: TokenRecord | ApiKeyRecord, location: Location) -> bytes:
    """The keyring item's value for ``record`` at ``location`` (see :mod:`.keyring_item`).
    Raises ``ValueError`` for a number that is not finite."""
    from .keyring_item import split

    return split(record.to_json(), location)[1]
