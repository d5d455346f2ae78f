"""The token file read without its secrets: never a keyring call.

What a caller may rely on: every function here reads the file alone — the size limit
(:data:`MAX_FILE_BYTES`), symlinks refused, damage described in one line
(:class:`~claude_code_oauth.errors.TokenFileError` with the advice to sign in again) —
and none asks the OS keyring anything, so they are what runs on every API answer or
listing: where a sign-in's secrets live (:func:`stored_location`,
:func:`secrets_location`) and whose account it is (:func:`account_in_file`).
:func:`load_file_form` is what :mod:`.store` merges with the keyring item.
On the ``token`` fast path: ``json`` and the standard library only.
"""

from __future__ import annotations

import json

from ..errors import TokenFileError
from ..storage.secure_file import read_bytes
from .keyring_item import location_of
from .stored_form import parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .keyring_item import Location

#: A token file is a few KiB; a larger one is refused unread (by its size) and
#: never written (the server's account details are trimmed to fit first).
MAX_FILE_BYTES = 1 << 20


def _describe_damage(path: str, exc: Exception) -> TokenFileError:
    if isinstance(exc, json.JSONDecodeError):
        where = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
    elif isinstance(exc, UnicodeDecodeError):
        where = "not UTF-8 text"
    else:
        where = f"not a usable token file ({exc})"
    return TokenFileError(f"The token file {path} is {where}.", hint=RESIGN_HINT)


#: What to do about a damaged token file.
RESIGN_HINT = (
    "Run `claude-code-oauth login` (or /claude-code-auth) to sign in again; "
    "the damaged file will be kept beside it as a .corrupt copy."
)

#: What to do about a token file whose keyring item is missing or damaged. The file
#: holds no secret, so the next sign-in replaces it (and writes a new item) instead of
#: setting it aside.
ITEM_RESIGN_HINT = "Run `claude-code-oauth login` (or /claude-code-auth) to sign in again."


def load_file_form(path: str) -> tuple[object, Location | None] | None:
    """The parsed file and where its secrets live (``None``: in it); ``None`` if no file."""
    raw = read_bytes(path, max_bytes=MAX_FILE_BYTES, oversize_hint=RESIGN_HINT)
    if raw is None:
        return None
    try:
        data = parse(raw)
        return data, location_of(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _describe_damage(path, exc) from None
    except RecursionError:
        raise _describe_damage(path, ValueError("nested too deeply")) from None


def stored_location(path: str) -> tuple[bool, Location | None]:
    """Whether ``path`` holds a sign-in, and where its secrets live (``None``: in the
    file). Reads the file only, never the keyring; damage raises :class:`TokenFileError`."""
    found = load_file_form(path)
    return (False, None) if found is None else (True, found[1])


def secrets_location(path: str) -> Location | None:
    """Where the sign-in at ``path`` keeps its secrets, from the file alone (no keyring
    call): its ``secrets`` member, or ``None`` for a file that holds them (or no file).
    Damage raises :class:`TokenFileError` as :func:`load_sign_in` does."""
    return stored_location(path)[1]


def account_in_file(path: str) -> str | None:
    """The uuid of the account the sign-in at ``path`` belongs to, from the file alone
    (no keyring call: what is read on every API answer must not cost one); ``None``
    when unknown or there is no file. Damage raises :class:`TokenFileError`."""
    found = load_file_form(path)
    account = found[0].get("account") if found and isinstance(found[0], dict) else None
    uuid = account.get("uuid") if isinstance(account, dict) else None
    return uuid if isinstance(uuid, str) else None
