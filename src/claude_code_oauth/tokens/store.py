"""The token file: ``<data dir>/claude_code_oauth.json``, mode 0600, written atomically.

What a caller may rely on:

* A profile's file holds an OAuth login (:class:`TokenRecord`) or a Console
  sign-in's API key (:class:`~.api_key.ApiKeyRecord`). :func:`load_sign_in`
  returns either (``None`` when there is no file); :func:`load`, for callers that
  need OAuth tokens, returns a :class:`TokenRecord` or ``None`` and raises
  :class:`~claude_code_oauth.errors.ApiKeySignIn` for an API key. Both raise
  :class:`~claude_code_oauth.errors.TokenFileError` for a symlink or a damaged
  file (the file itself is left where it is).
* Every number in a loaded record is finite and sane (see :mod:`.record`): a
  file holding ``NaN``, ``Infinity`` (not JSON, but an older version could write
  them), 400 digits or year 3000 still loads, with the unusable values set
  aside, and the login survives. The file is never written with a number that
  is not finite.
* :func:`save` replaces the file atomically (see :mod:`secure_file`); a damaged
  file it replaces is first moved aside to ``<name>.corrupt-<time>``, never deleted;
  temporary files a killed writer left behind are removed once they are stale.
* :func:`token_lock` is the cross-process lock every writer takes.

This module is on the ``token`` fast path: only ``json``, ``os`` and ``time`` are
imported at module level; filelock is imported when a lock is first needed.
"""

from __future__ import annotations

import json
import os
import time

from ..errors import ApiKeySignIn, LockTimeout, TokenFileError
from ..storage.file_lock import file_lock
from ..storage.file_lock import held as _held
from ..storage.file_lock import lock_timeout_error as _lock_timeout_error
from ..storage.secure_file import (
    atomic_write,
    ensure_private_dir,
    read_bytes,
    refuse_symlink,
    remove_stale_temp_files,
)
from .api_key import KIND as API_KEY_KIND
from .api_key import ApiKeyRecord
from .record import (  # noqa: F401 - the record's names are part of this module's API
    FORMAT_VERSION,
    LOGIN_WARNING_SECONDS,
    MAX_EPOCH,
    MAX_LIFETIME,
    MAX_RETRY_AFTER,
    TokenRecord,
    is_token,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ..config import Settings

#: Temporary files of a killed writer older than this are removed by :func:`save`.
STALE_TEMP_SECONDS = 60.0


def _describe_damage(path: str, raw: bytes, exc: Exception) -> TokenFileError:
    if isinstance(exc, json.JSONDecodeError):
        where = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
    elif isinstance(exc, UnicodeDecodeError):
        where = "not UTF-8 text"
    else:
        where = f"not a usable token file ({exc})"
    return TokenFileError(
        f"The token file {path} is {where}.",
        hint="Run `claude-code-oauth login` (or /claude-code-auth) to sign in again; "
        "the damaged file will be kept beside it as a .corrupt copy.",
    )


#: Why an OAuth-only caller cannot use a Console sign-in.
API_KEY_HINT = (
    "`claude-code-oauth token` prints its API key; to use a Claude subscription here "
    "instead, sign in with `claude-code-oauth login`."
)


def load(path: str) -> TokenRecord | None:
    """The stored OAuth login, ``None`` if there is no file. Symlinks and damage raise
    :class:`TokenFileError`; a Console sign-in (an API key) raises :class:`ApiKeySignIn`."""
    record = load_sign_in(path)
    if isinstance(record, ApiKeyRecord):
        raise ApiKeySignIn(
            f"This profile is signed in with an Anthropic API key (Console), which has no "
            f"OAuth token ({path}).",
            hint=API_KEY_HINT,
        )
    return record


def load_sign_in(path: str) -> TokenRecord | ApiKeyRecord | None:
    """The stored sign-in, whichever kind (``None`` if there is no file). Symlinks and
    damage raise :class:`TokenFileError`."""
    raw = read_bytes(path)
    if raw is None:
        return None
    try:
        data = json.loads(
            raw.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite_float
        )
        if isinstance(data, dict) and data.get("kind") == API_KEY_KIND:
            return ApiKeyRecord.from_json(data)
        return TokenRecord.from_json(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _describe_damage(path, raw, exc) from None
    except RecursionError:
        raise _describe_damage(path, raw, ValueError("nested too deeply")) from None


def _not_a_number(name: str) -> None:
    """``NaN``/``Infinity`` are not JSON (an older version could write them): unknown."""
    return None


def _finite_float(text: str) -> float | None:
    """A float literal; ``1e999`` (infinite) counts as unknown."""
    value = float(text)
    return value if value - value == 0 else None


def save(path: str, record: TokenRecord | ApiKeyRecord) -> TokenRecord | ApiKeyRecord | None:
    """Write ``record`` (either kind of sign-in) atomically with mode 0600 and return
    the sign-in it replaced (``None``: none, or a damaged file, which is set aside).
    Hold :func:`token_lock` while calling."""
    ensure_private_dir(os.path.dirname(path))
    replaced = _set_aside_if_damaged(path)
    try:
        # allow_nan=False: NaN and Infinity are not JSON, and a later read would choke.
        data = json.dumps(record.to_json(), indent=2, sort_keys=False, allow_nan=False) + "\n"
    except ValueError:
        raise TokenFileError(
            f"Refusing to write {path}: the record holds a number that is not finite."
        ) from None
    atomic_write(path, data.encode("utf-8"), mode=0o600)
    # A writer killed mid-write leaves its temporary file (with tokens in it) behind.
    remove_stale_temp_files(path, STALE_TEMP_SECONDS)
    return replaced


def _set_aside_if_damaged(path: str) -> TokenRecord | ApiKeyRecord | None:
    """The sign-in stored at ``path``; a damaged file is moved to
    ``<path>.corrupt-<time>`` instead (and ``None`` returned)."""
    try:
        return load_sign_in(path)
    except TokenFileError:
        if os.path.islink(path):
            raise
    aside = f"{path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    try:
        os.rename(path, aside)
    except OSError as exc:
        raise TokenFileError(f"Cannot move the damaged {path} aside: {exc.strerror}.") from None
    return None


def delete(path: str) -> bool:
    """Remove the token file; ``True`` if there was one. Hold :func:`token_lock`."""
    from ..storage.secure_file import remove

    refuse_symlink(path)
    return remove(path)


def preflight(settings: Settings) -> None:
    """Raise now what would make saving tokens fail later (before a login starts).

    The data directory is created (0700) or must not be writable by others; the
    token path must not be a symlink or anything but a regular file; the
    directory must be writable; the lock beside the file must be usable (held by
    another process is fine). Raises :class:`TokenFileError` with one line.
    """
    import stat

    path = settings.token_path
    directory = os.path.dirname(path)
    ensure_private_dir(directory)
    refuse_symlink(path)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise TokenFileError(f"Cannot use {path}: {exc.strerror}.") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise TokenFileError(
            f"Refusing to use {path}: it is not a regular file.",
            hint="Move it away; the token file must be a regular file.",
        )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise TokenFileError(f"Cannot write in {directory}: permission denied.")
    from filelock import Timeout

    lock = token_lock(settings, timeout=0)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return  # another process holds it: the lock works
    except OSError as exc:
        raise TokenFileError(
            f"Cannot use the lock file {lock_path(path)}: {exc.strerror or exc}."
        ) from None
    lock.release()


def lock_path(token_path: str) -> str:
    return token_path + ".lock"


def token_lock(settings: Settings, timeout: float | None = None) -> BaseFileLock:
    """The cross-process lock beside the token file (mode 0600).

    Take it with :func:`held`: a timeout raises :class:`LockTimeout`, never hangs.
    """
    path = settings.token_path
    ensure_private_dir(os.path.dirname(path))
    return file_lock(lock_path(path), settings.lock_timeout if timeout is None else timeout)


def lock_timeout_error(lock: BaseFileLock, what: str = "the token file") -> LockTimeout:
    """The error for the token lock not obtained within its timeout."""
    return _lock_timeout_error(lock, what)


def held(lock: BaseFileLock, what: str = "the token file") -> _held:
    """``with held(token_lock(settings)):`` — bounded, raising :class:`LockTimeout`."""
    return _held(lock, what)
