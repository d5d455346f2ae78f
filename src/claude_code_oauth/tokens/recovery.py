"""New tokens that could not be saved: kept beside the token file, found, adopted.

When a save fails after the server already rotated the refresh token (or after a
code exchange), the new sign-in is not thrown away: it stays in the private 0600
temporary file it was being written to (see :mod:`..storage.reservation`),
named ``.<token file>.<host>-<pid>-<start>.<random>.tmp``, holding exactly the
bytes the token file would hold — including ``replaces``, the fingerprint of the
sign-in the write was replacing (:mod:`.stored_form`).

What a caller may rely on:

* :func:`adopt` (under the token lock, before any refresh) returns the kept
  sign-in that follows what the token file holds now — its ``replaces`` names the
  file's current sign-in, and it is not older — after moving it over the token
  file; if it cannot be moved (the disk is still full), it is returned all the
  same, for this call to use, and stays kept. A kept copy of anything else (the
  file moved on: a new sign-in, a logout) is never adopted and is removed.
* :func:`sweep` is what every command runs at its start: one ``scandir`` of the
  data directory, and nothing more when it holds none of our temporary files.
  Temporary files whose writer is gone are removed — a complete sign-in among
  them is first adopted as above (under the token lock, if it is free; else the
  next refresh adopts it). Files whose writer cannot be told (another machine or
  PID namespace, an older version) are removed once stale (60 s for the older
  naming, an hour otherwise). Files of a running writer are left alone.
"""

from __future__ import annotations

import contextlib
import os

from ..errors import RecordKept
from ..storage import temp_files
from .api_key import ApiKeyRecord
from .record import TokenRecord
from .stored_form import REPLACES, decode, encode, identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from ..errors import SecretStoreError
    from ..storage.reservation import Reservation

#: How long a temporary file whose writer cannot be told is left alone.
UNKNOWN_WRITER_SECONDS = 3600.0
#: The same for files named by older versions (their writers saved within seconds).
OLD_NAMING_SECONDS = 60.0
#: A kept copy is a token file: the same size limit applies.
_MAX_BYTES = 1 << 20

Record = TokenRecord | ApiKeyRecord


def _kept(path: str) -> tuple[Record, str] | None:
    """The sign-in in the temporary file ``path`` and what it replaces, if it holds a
    complete one (a reservation not yet written holds zeros)."""
    from ..errors import ClaudeOAuthError
    from ..storage.secure_file import read_bytes

    try:
        raw = read_bytes(path, max_bytes=_MAX_BYTES)
        if not raw or raw[:1] != b"{":
            return None
        import json

        replaces = json.loads(raw).get(REPLACES)
        if not isinstance(replaces, str):
            return None
        return decode(raw), replaces
    except (ClaudeOAuthError, ValueError, RecursionError, AttributeError):
        return None


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def adopt(path: str, current: Record | None) -> Record | None:
    """The kept sign-in that follows ``current`` (the token file's sign-in), moved over
    ``path`` when possible; ``None`` when there is none. Hold the token lock."""
    directory, name = os.path.split(os.path.abspath(path))
    here = identity(current)
    best: tuple[Record, str] | None = None
    for temp in temp_files.scan(directory):
        if temp.target_name != name:
            continue
        kept = _kept(temp.path)
        if kept is None:
            # A reservation (or a write a killed writer left half done).
            if temp_files.writer_gone(temp):
                _unlink(temp.path)
            continue
        record, replaces = kept
        follows = replaces == here and (
            current is None or record.obtained_at >= current.obtained_at
        )
        if not follows:
            _unlink(temp.path)  # the file moved on: never adopted
        elif best is None or record.obtained_at > best[0].obtained_at:
            if best is not None:
                _unlink(best[1])
            best = (record, temp.path)
        else:
            _unlink(temp.path)
    if best is None:
        return None
    record, kept_path = best
    # If it still cannot be written there, this call uses the kept copy, which stays.
    with contextlib.suppress(OSError):
        os.replace(kept_path, path)
    return record


def sweep(directory: str) -> None:
    """Remove (or adopt, see :func:`adopt`) what killed writers left in ``directory``."""
    temps = temp_files.scan(directory)
    if not temps:
        return
    import time

    now = time.time()
    for temp in temps:
        gone = temp_files.writer_gone(temp)
        if gone is False:
            continue
        if gone is None:
            wait = OLD_NAMING_SECONDS if not temp.host else UNKNOWN_WRITER_SECONDS
            try:
                if os.lstat(temp.path).st_mtime > now - wait:
                    continue
            except OSError:
                continue
        if _kept(temp.path) is not None:
            _adopt_unlocked_target(os.path.join(directory, temp.target_name))
        else:
            _unlink(temp.path)


def _adopt_unlocked_target(path: str) -> None:
    """:func:`adopt` for ``path`` if its lock is free right now (else a later refresh
    adopts it, under the lock)."""
    from filelock import Timeout

    from ..errors import ClaudeOAuthError
    from ..storage.file_lock import acquire, file_lock
    from ..storage.secure_file import read_bytes

    lock = file_lock(path + ".lock", 0)
    try:
        acquire(lock, 0)
    except (Timeout, ClaudeOAuthError):
        return
    try:
        raw = read_bytes(path, max_bytes=_MAX_BYTES)
        current = None if raw is None else decode(raw)
        adopt(path, current)
    except (ClaudeOAuthError, ValueError, RecursionError):
        pass  # a damaged token file: the next sign-in sets it aside
    finally:
        lock.release()


def keep_refused(
    record: TokenRecord | ApiKeyRecord,
    reservation: Reservation,
    replaces: str,
    failed: SecretStoreError,
) -> NoReturn:
    """Raise :class:`RecordKept` for new tokens the keyring refused after they were
    spent for (``failed``): ``record`` is kept whole, secrets included, in the reserved
    file (0600, beside the token file) for :func:`adopt` to take over, and the message
    says so — the announced recovery path, never a silent plaintext fall-back."""
    from ..storage.reservation import CommitFailed

    try:
        kept: str | None = reservation.keep(encode(record, replaces))
    except CommitFailed:
        kept = None
    where = (
        f"they are kept in {kept} (secrets included), and the next claude-code-oauth run "
        "takes them over into the token file"
        if kept is not None
        else "only this process holds them, until it ends"
    )
    raise RecordKept(
        f"Could not save the new tokens to the keyring ({failed.reason.rstrip('.')}); the "
        f"login is not lost: {where}.",
        hint=failed.hint,
        kept=kept,
        record=record,
    )
