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
* :func:`token_lock` is the cross-process lock every writer takes (:mod:`.token_lock`;
  :func:`reserve` and the save into its space are :mod:`.reserved_save`; both are
  re-exported here).
* Secrets in the OS keyring (:mod:`.keyring_item`): ``save(…, secrets=KeyringTarget(…))``
  writes the profile's keyring item first, then the file with no secret in it; a
  later ``save`` without ``secrets`` keeps them wherever the file says; loading such
  a file reads its item once. A keyring that fails is a one-line
  :class:`~claude_code_oauth.errors.SecretStoreError` and the file is not touched.
  ``secrets=None`` on a file that holds its own secrets is today's file, unchanged.
  New tokens the keyring refuses after they were spent for are kept whole and
  announced (:class:`RecordKept`); :func:`adopt_kept` later writes them to their
  item, so the secrets leave the file.

This module is on the ``token`` fast path: only ``json``, ``os`` and ``time`` are
imported at module level; filelock is imported when a lock is first needed.
"""

from __future__ import annotations

import os
import time

from ..errors import (
    ApiKeySignIn,
    SecretStoreError,
    StorageError,
    TokenFileError,
)
from ..storage.file_lock import file_lock
from ..storage.secure_file import (
    atomic_write,
    ensure_private_dir,
    refuse_symlink,
    remove_stale_temp_files,
)

# Re-exported ("as" names): the record's names are part of this module's API.
from .api_key import ApiKeyRecord as ApiKeyRecord
from .file_form import ITEM_RESIGN_HINT, RESIGN_HINT, load_file_form
from .file_form import MAX_FILE_BYTES as MAX_FILE_BYTES
from .file_form import account_in_file as account_in_file
from .file_form import secrets_location as secrets_location
from .file_form import stored_location as stored_location
from .keyring_item import IN_FILE as IN_FILE
from .keyring_item import KeyringTarget as KeyringTarget
from .keyring_item import delete_item, next_location, with_secrets, write_item
from .record import FORMAT_VERSION as FORMAT_VERSION
from .record import LOGIN_WARNING_SECONDS as LOGIN_WARNING_SECONDS
from .record import MAX_EPOCH as MAX_EPOCH
from .record import MAX_LIFETIME as MAX_LIFETIME
from .record import MAX_RETRY_AFTER as MAX_RETRY_AFTER
from .record import TokenRecord as TokenRecord
from .record import is_token as is_token
from .stored_form import encode, from_data, identity, item_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings
    from ..storage.reservation import Reservation
    from .keyring_item import Location, StoreOpener
    from .preflight import preflight as preflight
    from .reserved_save import RESERVE_BYTES as RESERVE_BYTES
    from .reserved_save import reserve as reserve
    from .token_lock import held as held
    from .token_lock import lock_path as lock_path
    from .token_lock import lock_timeout_error as lock_timeout_error
    from .token_lock import token_lock as token_lock

#: Names this module re-exports from the module that defines them, imported on first
#: use (PEP 562) so that the ``token`` fast path, which needs none, does not pay for them.
_LAZY = {
    "preflight": "preflight",
    "RESERVE_BYTES": "reserved_save",
    "reserve": "reserved_save",
    "held": "token_lock",
    "lock_path": "token_lock",
    "lock_timeout_error": "token_lock",
    "token_lock": "token_lock",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__package__}.{module}"), name)
    globals()[name] = value
    return value


#: Temporary files of a killed writer older than this are removed by :func:`save`.
STALE_TEMP_SECONDS = 60.0


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
    found = load_file_form(path)
    if found is None:
        return None
    return _record_of(path, *found, stores)


def _record_of(
    path: str, data: object, location: Location | None, stores: StoreOpener | None
) -> TokenRecord | ApiKeyRecord:
    if location is not None:
        data = with_secrets(path, data, location, stores, ITEM_RESIGN_HINT)
    try:
        return from_data(data)
    except ValueError as exc:
        raise TokenFileError(
            f"The token file {path} is not a usable token file ({exc}).", hint=RESIGN_HINT
        ) from None


def save(
    path: str,
    record: TokenRecord | ApiKeyRecord,
    *,
    reservation: Reservation | None = None,
    secrets: KeyringTarget | str | None = None,
    stores: StoreOpener | None = None,
    replaces: str | None = None,
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

    New tokens already spent for (``reservation``) are never dropped: a keyring that
    refuses them, or that no longer answers when the sign-in being replaced is read
    again, leaves them kept whole for :func:`adopt_kept` (:class:`RecordKept`). For
    the second, ``replaces`` is the fingerprint (:func:`.stored_form.identity`) of
    the sign-in the caller read under the lock and is replacing.
    """
    ensure_private_dir(os.path.dirname(path))
    try:
        replaced, previous = _set_aside_if_damaged(path, stores)
    except _NoAnswer as silent:
        if reservation is not None and replaces is not None:  # spent for, and known
            from .recovery import keep_refused

            keep_refused(record, reservation, replaces, silent.error, silent.location.next())
        raise silent.error from None
    replaces = identity(replaced)
    location = next_location(previous, secrets)
    try:
        data = encode(record, replaces, location=location)
        if len(data) > MAX_FILE_BYTES:
            data = encode(record, replaces, trimmed=True, location=location)
    except ValueError:
        raise TokenFileError(
            f"Refusing to write {path}: the record holds a number that is not finite."
        ) from None
    if location is not None:
        try:
            # The item's numbers are the file's: encode checked them all.
            write_item(location, item_bytes(record, location), secrets, stores)
        except SecretStoreError as exc:
            if reservation is None:
                raise
            from .recovery import keep_refused

            keep_refused(record, reservation, replaces, exc, location)
    if reservation is None:
        atomic_write(path, data)  # 0600, atomic_write's mode for a file of secrets
    else:
        from .reserved_save import commit

        commit(path, record, reservation, data, replaces, location)
    # A writer killed mid-write leaves its temporary file (with tokens in it) behind.
    remove_stale_temp_files(path, STALE_TEMP_SECONDS)
    return replaced


def adopt_kept(
    path: str, current: TokenRecord | ApiKeyRecord | None, *, stores: StoreOpener | None = None
) -> TokenRecord | ApiKeyRecord | None:
    """``current`` (the token file's sign-in), or the newer one kept beside it after a
    failed save (see :mod:`.recovery`), put in place when possible. Hold
    :func:`token_lock`.

    A whole sign-in the keyring refused goes into its keyring item, then the file
    without secrets (no prompt; while the keyring still refuses, it stays kept and is
    used from there); a kept file form whose item was already written is moved over
    the file and read with its item through ``stores``."""
    import contextlib

    from . import recovery

    def place(kept: recovery.Kept) -> TokenRecord | ApiKeyRecord | None:
        if kept.record is None:  # the item holds the secrets: the form goes over the file
            with contextlib.suppress(OSError):
                os.replace(kept.path, path)
            return load_sign_in(kept.path if os.path.exists(kept.path) else path, stores=stores)
        if kept.keep_for is None:
            return recovery.move_over(path, kept)
        target = KeyringTarget(kept.keep_for.store, kept.keep_for.item)
        try:
            save(path, kept.record, secrets=target, stores=stores)
        except (SecretStoreError, StorageError, TokenFileError):
            return kept.record  # still refused: used from where it is kept
        with contextlib.suppress(OSError):
            os.unlink(kept.path)
        return kept.record

    return recovery.adopt(path, current, place) or current


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
        from .keyring_item import StoreOpener

        stores = StoreOpener(settings=settings)
        recovery.sweep(directory, lambda target: adopt_if_free(target, stores))
    except Exception:  # housekeeping must never stop a command
        import logging

        log = logging.getLogger("claude_code_oauth")  # pragma: no mutate
        log.debug("sweep failed", exc_info=True)  # pragma: no mutate


def adopt_if_free(path: str, stores: StoreOpener) -> None:
    """:func:`adopt_kept` for ``path`` if its lock is free right now (else a later
    refresh adopts, under the lock); a token file or keyring that cannot be read
    leaves the kept copy for later."""
    from filelock import Timeout

    from ..errors import ClaudeOAuthError
    from ..storage.file_lock import acquire
    from .token_lock import lock_path

    lock = file_lock(lock_path(path), 0)
    try:
        acquire(lock, 0)
    except (Timeout, ClaudeOAuthError):
        return
    try:
        adopt_kept(path, load_sign_in(path, stores=stores), stores=stores)
    except ClaudeOAuthError:
        pass  # a damaged file (the next sign-in sets it aside) or a keyring not answering
    finally:
        lock.release()


class _NoAnswer(Exception):
    """The keyring did not answer (``error``) for the sign-in a save replaces, whose
    secrets are at ``location``."""

    def __init__(self, error: SecretStoreError, location: Location) -> None:
        self.error = error
        self.location = location


def _set_aside_if_damaged(
    path: str, stores: StoreOpener | None = None
) -> tuple[TokenRecord | ApiKeyRecord | None, Location | None]:
    """The sign-in stored at ``path`` and where its secrets live; a damaged file is
    moved to ``<path>.corrupt-<time>`` instead (and ``None, None`` returned). A
    file whose keyring item is missing or damaged is replaced, not set aside (it
    holds no secret); a keyring that does not answer stops the save (:class:`_NoAnswer`)."""
    from ..errors import SecretStoreDamaged

    try:
        found = load_file_form(path)
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
        except SecretStoreError as exc:
            assert location is not None  # only a file naming an item asks a keyring
            raise _NoAnswer(exc, location) from None
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
        found = load_file_form(path)
    except TokenFileError:
        found = None
    if found is not None and found[1] is not None:
        delete_item(found[1], stores)
    return remove(path)
