"""The token file: ``<data dir>/claude_code_oauth.json``, mode 0600, written atomically.

What a caller may rely on:

* A profile's file holds an OAuth login (:class:`TokenRecord`) or a Console
  sign-in's API key (:class:`~.api_key.ApiKeyRecord`). :func:`load_sign_in`
  returns either (``None`` when there is no file); :func:`load`, for callers that
  need OAuth tokens, returns a :class:`TokenRecord` or ``None`` and raises
  :class:`~claude_code_oauth.errors.ApiKeySignIn` for an API key. Both raise
  :class:`~claude_code_oauth.errors.TokenFileError` for a symlink, a damaged
  file, or one over :data:`MAX_FILE_BYTES` (1 MiB; refused by its size, unread —
  the file itself is left where it is).
* Every number in a loaded record is finite and sane (see :mod:`.record`): a
  file holding ``NaN``, ``Infinity`` (not JSON, but an older version could write
  them), 400 digits or year 3000 still loads, with the unusable values set
  aside, and the login survives. The file is never written with a number that
  is not finite.
* :func:`save` replaces the file atomically (see :mod:`secure_file`); a damaged
  file it replaces is first moved aside to ``<name>.corrupt-<time>``, never deleted.
* Never spend what cannot be saved: :func:`reserve` claims a save's space before
  a refresh or a code exchange (or raises :class:`StorageError`, one line naming
  the directory, the cause and what to free); ``save(…, reservation=…)`` writes
  into it, and if the file still cannot be replaced the new tokens are kept
  beside it (:class:`RecordKept`) for :func:`adopt_kept` — the next refresh, or
  the :func:`sweep` every command starts with — to take over.
* Temporary files a killed writer left behind are removed by the next command
  that starts (:func:`sweep`), or at the next save.
* :func:`token_lock` is the cross-process lock every writer takes.
* Secrets in the OS keyring (:mod:`.keyring_item`): ``save(…, secrets=KeyringTarget(…))``
  writes the profile's keyring item first, then the file with no secret in it; a
  later ``save`` without ``secrets`` keeps them wherever the file says; loading such
  a file reads its item once. A keyring that fails is a one-line
  :class:`~claude_code_oauth.errors.SecretStoreError` and the file is not touched.
  ``secrets=None`` on a file that holds its own secrets is today's file, unchanged.

This module is on the ``token`` fast path: only ``json``, ``os`` and ``time`` are
imported at module level; filelock is imported when a lock is first needed.
"""

from __future__ import annotations

import json
import os
import time

from ..errors import (
    ApiKeySignIn,
    LockTimeout,
    RecordKept,
    SecretStoreError,
    StorageError,
    TokenFileError,
)
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

# Re-exported ("as" names): the record's names are part of this module's API.
from .api_key import ApiKeyRecord as ApiKeyRecord
from .keyring_item import IN_FILE as IN_FILE
from .keyring_item import KeyringTarget as KeyringTarget
from .keyring_item import delete_item, location_of, next_location, with_secrets, write_item
from .record import FORMAT_VERSION as FORMAT_VERSION
from .record import LOGIN_WARNING_SECONDS as LOGIN_WARNING_SECONDS
from .record import MAX_EPOCH as MAX_EPOCH
from .record import MAX_LIFETIME as MAX_LIFETIME
from .record import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from .record import TokenRecord as TokenRecord
from .record import is_token as is_token
from .stored_form import encode, from_data, identity, item_bytes, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ..config import Settings
    from ..storage.reservation import Reservation
    from .keyring_item import Location, StoreOpener

#: Temporary files of a killed writer older than this are removed by :func:`save`.
STALE_TEMP_SECONDS = 60.0
#: A token file is a few KiB; a larger one is refused unread (by its size) and
#: never written (the server's account details are trimmed to fit first).
MAX_FILE_BYTES = 1 << 20


def _describe_damage(path: str, raw: bytes, exc: Exception) -> TokenFileError:
    if isinstance(exc, json.JSONDecodeError):
        where = f"not valid JSON (line {exc.lineno}, column {exc.colno})"
    elif isinstance(exc, UnicodeDecodeError):
        where = "not UTF-8 text"
    else:
        where = f"not a usable token file ({exc})"
    return TokenFileError(f"The token file {path} is {where}.", hint=_RESIGN_HINT)


_RESIGN_HINT = (
    "Run `claude-code-oauth login` (or /claude-code-auth) to sign in again; "
    "the damaged file will be kept beside it as a .corrupt copy."
)


#: Why an OAuth-only caller cannot use a Console sign-in.
API_KEY_HINT = (
    "`claude-code-oauth token` prints its API key; to use a Claude subscription here "
    "instead, sign in with `claude-code-oauth login`."
)


def load(path: str, *, stores: StoreOpener | None = None) -> TokenRecord | None:
    """The stored OAuth login, ``None`` if there is no file. Symlinks and damage raise
    :class:`TokenFileError`; a Console sign-in (an API key) raises :class:`ApiKeySignIn`.
    Secrets in the keyring are read as :func:`load_sign_in` reads them."""
    record = load_sign_in(path, stores=stores)
    if isinstance(record, ApiKeyRecord):
        raise ApiKeySignIn(
            f"This profile is signed in with an Anthropic API key (Console), which has no "
            f"OAuth token ({path}).",
            hint=API_KEY_HINT,
        )
    return record


def load_sign_in(
    path: str, *, stores: StoreOpener | None = None
) -> TokenRecord | ApiKeyRecord | None:
    """The stored sign-in, whichever kind (``None`` if there is no file). Symlinks,
    damage and a file over :data:`MAX_FILE_BYTES` raise :class:`TokenFileError`.

    A file whose secrets live in the keyring (:mod:`.keyring_item`) costs one read of
    its item, through ``stores`` (the default deadline and environment when ``None``);
    a missing or damaged item is :class:`SecretStoreDamaged`, and a keyring that
    fails is its :class:`~claude_code_oauth.errors.SecretStoreError`, each one line."""
    found = _load_file_form(path)
    if found is None:
        return None
    return _record_of(path, *found, stores)


def stored_location(path: str) -> tuple[bool, Location | None]:
    """Whether ``path`` holds a sign-in, and where its secrets live (``None``: in the
    file). Reads the file only, never the keyring; damage raises :class:`TokenFileError`."""
    found = _load_file_form(path)
    return (False, None) if found is None else (True, found[1])


def _record_of(
    path: str, data: object, location: Location | None, stores: StoreOpener | None
) -> TokenRecord | ApiKeyRecord:
    if location is not None:
        data = with_secrets(path, data, location, stores, _RESIGN_HINT)
    try:
        return from_data(data)
    except ValueError as exc:
        raise TokenFileError(
            f"The token file {path} is not a usable token file ({exc}).", hint=_RESIGN_HINT
        ) from None


def _load_file_form(path: str) -> tuple[object, Location | None] | None:
    """The parsed file and where its secrets live (``None``: in it); ``None`` if no file."""
    raw = read_bytes(path, max_bytes=MAX_FILE_BYTES, oversize_hint=_RESIGN_HINT)
    if raw is None:
        return None
    try:
        data = parse(raw)
        return data, location_of(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _describe_damage(path, raw, exc) from None
    except RecursionError:
        raise _describe_damage(path, raw, ValueError("nested too deeply")) from None


def save(
    path: str,
    record: TokenRecord | ApiKeyRecord,
    *,
    reservation: Reservation | None = None,
    secrets: KeyringTarget | str | None = None,
    stores: StoreOpener | None = None,
) -> TokenRecord | ApiKeyRecord | None:
    """Write ``record`` (either kind of sign-in) atomically with mode 0600 and return
    the sign-in it replaced (``None``: none, or a damaged file, which is set aside).
    Hold :func:`token_lock` while calling.

    With ``reservation`` (from :func:`reserve`, taken before the new tokens were
    asked for) the record is written into the space claimed then. If it still
    cannot replace the file, :class:`RecordKept` says where it is kept (see
    :mod:`.recovery`) and carries the record for the caller to use now.

    Where the secrets go: ``secrets=None`` keeps them where the file being replaced
    keeps them (in it, or in its keyring item: a refresh changes nothing about
    where); :data:`IN_FILE` puts them in the file; a :class:`KeyringTarget` in that
    keyring item. With a keyring, the item is written first (its generation one
    more than the file's), then the file without any secret. A keyring that fails
    raises its one-line :class:`~claude_code_oauth.errors.SecretStoreError` and
    nothing is written to the file: never a silent fall-back to plaintext.
    """
    ensure_private_dir(os.path.dirname(path))
    replaced, previous = _set_aside_if_damaged(path, stores)
    replaces = identity(replaced)
    location = next_location(previous, secrets)
    try:
        data = encode(record, replaces, location=location)
        if len(data) > MAX_FILE_BYTES:
            data = encode(record, replaces, trimmed=True, location=location)
        item = None if location is None else item_bytes(record, location)
    except ValueError:
        raise TokenFileError(
            f"Refusing to write {path}: the record holds a number that is not finite."
        ) from None
    if location is not None and item is not None:
        try:
            write_item(location, item, secrets, stores)
        except SecretStoreError as exc:
            if reservation is None:
                raise
            from .recovery import keep_refused

            keep_refused(record, reservation, replaces, exc)
    if reservation is None:
        atomic_write(path, data, mode=0o600)
    else:
        _commit(path, record, reservation, data, replaces)
    # A writer killed mid-write leaves its temporary file (with tokens in it) behind.
    remove_stale_temp_files(path, STALE_TEMP_SECONDS)
    return replaced


def _commit(
    path: str,
    record: TokenRecord | ApiKeyRecord,
    reservation: Reservation,
    data: bytes,
    replaces: str,
) -> None:
    from ..storage.reservation import CommitFailed

    try:
        reservation.commit(data)
        return
    except CommitFailed as exc:
        failed = exc
    if failed.kept is None and len(data) > reservation.size:
        # Larger than the claimed space on a full disk: the tokens alone fit in it.
        try:
            reservation.commit(encode(record, replaces, trimmed=True))
            return
        except CommitFailed as exc:
            failed = exc
    cause = failed.cause
    if failed.kept is not None:
        where = (
            f"they are kept in {failed.kept}, and the next claude-code-oauth run that can "
            "write there takes them over"
        )
    else:
        where = "only this process holds them, until it ends"
    raise RecordKept(
        f"Could not save the new tokens to {path} ({cause.reason.rstrip('.')}); the login is "
        f"not lost: {where}.",
        hint=cause.hint,
        kept=failed.kept,
        record=record,
    )


#: Space claimed for one save: a token file is 1–3 KiB; two 8 KiB tokens always fit.
RESERVE_BYTES = 64 << 10


def reserve(path: str) -> Reservation:
    """Claim the space of a save of ``path`` before asking for new tokens (use it as a
    context manager, and pass it to :func:`save`). Raises :class:`StorageError`
    (the directory, the cause, what to free) when the directory cannot be written or
    is full — before anything was spent."""
    from ..storage.reservation import Reservation

    ensure_private_dir(os.path.dirname(path), StorageError)
    return Reservation(path, RESERVE_BYTES, StorageError)


def adopt_kept(
    path: str, current: TokenRecord | ApiKeyRecord | None
) -> TokenRecord | ApiKeyRecord | None:
    """``current`` (the token file's sign-in), or the newer one kept beside it after a
    failed save (moved over the file when possible; see :mod:`.recovery`). Hold
    :func:`token_lock`."""
    from . import recovery

    return recovery.adopt(path, current) or current


def sweep(settings: Settings) -> None:
    """What every command does at its start: remove the temporary files killed writers
    left in the data directory, adopting tokens kept there (see :mod:`.recovery`).
    One ``scandir`` when there are none; never raises."""
    from ..storage.temp_files import scan

    try:
        directory = settings.data_dir
        if not scan(directory):
            return  # the normal case: nothing was left behind
        from . import recovery

        recovery.sweep(directory)
    except Exception:  # housekeeping must never stop a command
        import logging

        log = logging.getLogger("claude_code_oauth")  # pragma: no mutate
        log.debug("sweep failed", exc_info=True)  # pragma: no mutate


def _set_aside_if_damaged(
    path: str, stores: StoreOpener | None = None
) -> tuple[TokenRecord | ApiKeyRecord | None, Location | None]:
    """The sign-in stored at ``path`` and where its secrets live; a damaged file is
    moved to ``<path>.corrupt-<time>`` instead (and ``None, None`` returned). A
    file whose keyring item is missing or damaged is replaced, not set aside (it
    holds no secret); a keyring that does not answer stops the save."""
    from ..errors import SecretStoreDamaged

    try:
        found = _load_file_form(path)
    except TokenFileError:
        if os.path.islink(path):
            raise
    else:
        if found is None:
            return None, None
        data, location = found
        try:
            return _record_of(path, data, location, stores), location
        except SecretStoreDamaged:
            return None, location
        except TokenFileError:
            pass  # a stored form that is no sign-in: damaged
    aside = f"{path}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    try:
        os.rename(path, aside)
    except OSError as exc:
        raise TokenFileError(f"Cannot move the damaged {path} aside: {exc.strerror}.") from None
    return None, None


def delete(path: str, *, stores: StoreOpener | None = None) -> bool:
    """Remove the token file; ``True`` if there was one. Hold :func:`token_lock`.

    A file whose secrets are in the keyring has its item removed first (the user may
    be asked to unlock the keyring); a keyring that fails raises its one-line
    :class:`~claude_code_oauth.errors.SecretStoreError` and the file is kept, still
    naming its item. A damaged file is removed (what it named cannot be read)."""
    from ..storage.secure_file import remove

    refuse_symlink(path)
    try:
        found = _load_file_form(path)
    except TokenFileError:
        found = None
    if found is not None and found[1] is not None:
        delete_item(found[1], stores)
    return remove(path)


def preflight(settings: Settings) -> None:
    """Raise now what would make saving tokens fail later (before a login starts).

    The data directory is created (0700) or must not be writable by others; the
    token path must not be a symlink or anything but a regular file; a save's
    space must be claimable in the directory (:func:`reserve`); the lock beside
    the file must be usable (held by another process is fine). Raises
    :class:`TokenFileError` or :class:`StorageError` with one line.
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
    # Actually write (and claim a save's space) rather than trust the mode bits: a
    # read-only or full filesystem, or root-only permissions, show only this way.
    reserve(path).release()
    from filelock import Timeout

    from ..storage.file_lock import acquire

    lock = token_lock(settings, timeout=0)
    try:
        acquire(lock, 0)
    except Timeout:
        return  # another process holds it: the lock works
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
