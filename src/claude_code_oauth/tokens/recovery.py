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
* With the secrets in the OS keyring a kept file is one of two things (see
  :class:`Kept`): the token file's new form without secrets, whose keyring item
  was already written (a full disk stopped only the file), or a whole sign-in the
  keyring refused, marked with the item it was meant for (:func:`keep_refused`).
  How each is put in place is the caller's ``place`` (:func:`..store.adopt_kept`
  writes the second to its item first, so the secrets leave the file).
"""

from __future__ import annotations

import contextlib
import os
import time

from ..errors import RecordKept
from ..storage import temp_files
from .api_key import ApiKeyRecord
from .keyring_item import location_of
from .record import TokenRecord
from .stored_form import REPLACES, encode, from_data, identity, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import NoReturn

    from ..errors import SecretStoreError
    from ..storage.reservation import Reservation
    from .keyring_item import Location

#: How long a temporary file whose writer cannot be told is left alone.
UNKNOWN_WRITER_SECONDS = 3600.0
#: The same for files named by older versions (their writers saved within seconds).
OLD_NAMING_SECONDS = 60.0
#: A kept copy is a token file: the same size limit applies.
_MAX_BYTES = 1 << 20

Record = TokenRecord | ApiKeyRecord
#: The member of a kept whole sign-in naming the keyring item it was meant for.
KEEP_FOR = "keep_for"


class Kept:
    """A complete save kept in the temporary file ``path``.

    ``record`` is the whole sign-in, or ``None`` for a token file's form without
    secrets (the keyring item it names is already written). ``keep_for`` is the
    keyring item a whole sign-in was meant for (``None``: the file)."""

    __slots__ = ("keep_for", "obtained_at", "path", "record", "replaces")

    def __init__(
        self,
        path: str,
        replaces: str,
        obtained_at: float,
        record: Record | None,
        keep_for: Location | None = None,
    ) -> None:
        self.path = path
        self.replaces = replaces
        self.obtained_at = obtained_at
        self.record = record
        self.keep_for = keep_for


def _kept(path: str) -> Kept | None:
    """What the temporary file ``path`` keeps, if it holds a complete save (a
    reservation not yet written holds zeros)."""
    from ..errors import ClaudeOAuthError
    from ..storage.secure_file import read_bytes

    try:
        raw = read_bytes(path, max_bytes=_MAX_BYTES)
        if not raw or raw[:1] != b"{":
            return None
        data = parse(raw)
        if not isinstance(data, dict) or not isinstance(data.get(REPLACES), str):
            return None
        replaces: str = data[REPLACES]
        if location_of(data) is not None:  # a file form (a malformed member: no save)
            obtained = data.get("obtained_at")
            if isinstance(obtained, bool) or not isinstance(obtained, (int, float)):
                return None
            return Kept(path, replaces, float(obtained), None)
        keep_for = location_of({"secrets": data[KEEP_FOR]}) if KEEP_FOR in data else None
        record = from_data({k: v for k, v in data.items() if k != KEEP_FOR})
        return Kept(path, replaces, record.obtained_at, record, keep_for=keep_for)
    except (ClaudeOAuthError, ValueError, RecursionError, AttributeError):
        return None


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def adopt(
    path: str, current: Record | None, place: Callable[[Kept], Record | None]
) -> Record | None:
    """The kept sign-in that follows ``current`` (the token file's sign-in), put in
    place by ``place`` (:func:`move_over` for a whole sign-in kept for the file) and
    returned as ``place`` returns it; ``None`` when there is none. Hold the token
    lock."""
    directory, name = os.path.split(os.path.abspath(path))
    here = identity(current)
    best: Kept | None = None
    for temp in temp_files.scan(directory):
        if temp.target_name != name:
            continue
        kept = _kept(temp.path)
        if kept is None:
            # A reservation (or a write a killed writer left half done).
            if temp_files.writer_gone(temp):
                _unlink(temp.path)
            continue
        follows = kept.replaces == here and (
            current is None or kept.obtained_at >= current.obtained_at
        )
        if not follows:
            _unlink(temp.path)  # the file moved on: never adopted
        elif best is None or kept.obtained_at > best.obtained_at:
            if best is not None:
                _unlink(best.path)
            best = kept
        else:
            _unlink(temp.path)
    if best is None:
        return None
    return place(best)


def move_over(path: str, kept: Kept) -> Record | None:
    """Move ``kept`` over ``path``; if it cannot be written there, the kept copy stays
    and its record is returned all the same for this call to use."""
    with contextlib.suppress(OSError):
        os.replace(kept.path, path)
    return kept.record


def sweep(
    directory: str, adopt_target: Callable[[str], None], clock: Callable[[], float] = time.time
) -> None:
    """Remove what killed writers left in ``directory``; for a complete save among
    them, ``adopt_target(token_path)`` adopts it (see :func:`adopt`) if that file's
    lock is free (else the next refresh does, under the lock). ``clock`` is the time
    of day the files' modification times are compared with."""
    temps = temp_files.scan(directory)
    if not temps:
        return
    now = clock()
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
            adopt_target(os.path.join(directory, temp.target_name))
        else:
            _unlink(temp.path)


def keep_refused(
    record: TokenRecord | ApiKeyRecord,
    reservation: Reservation,
    replaces: str,
    failed: SecretStoreError,
    meant_for: Location,
) -> NoReturn:
    """Raise :class:`RecordKept` for new tokens the keyring refused after they were
    spent for (``failed``): ``record`` is kept whole, secrets included, in the reserved
    file (0600, beside the token file), marked with the item it was ``meant_for``, for
    :func:`adopt` to take over — into that item when the keyring answers again — and
    the message says so: the announced recovery path, never a silent plaintext
    fall-back."""
    import json

    from ..storage.reservation import CommitFailed

    form = json.loads(encode(record, replaces))
    form[KEEP_FOR] = meant_for.to_json()
    try:
        # ``form`` was read from JSON ``encode`` wrote: nothing in it that is not JSON.
        kept: str | None = reservation.keep(json.dumps(form).encode())
    except CommitFailed:
        kept = None
    where = (
        f"they are kept in {kept} (secrets included), and the next claude-code-oauth run "
        "moves them into the keyring (or, while it still refuses, uses them from there)"
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
