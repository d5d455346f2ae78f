"""A save into space claimed before new tokens were asked for, and what is said when
even that fails.

What a caller may rely on:

* :func:`reserve` claims a save's space (:data:`RESERVE_BYTES`) in the token
  file's directory before a refresh or a code exchange, or raises
  :class:`~claude_code_oauth.errors.StorageError` (one line: the directory, the
  cause, what to free) before anything was spent.
* :func:`commit` writes the file's bytes into that space and moves them over the
  token file. If it cannot, it raises :class:`~claude_code_oauth.errors.RecordKept`
  carrying the record for the caller to use now, and saying where the new sign-in
  is kept for :mod:`.recovery` to adopt — or, with the secrets already in their
  keyring item, that only the file is behind (the item is read first).
"""

from __future__ import annotations

import os

from ..errors import RecordKept, StorageError
from ..storage.secure_file import ensure_private_dir
from .stored_form import encode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from ..storage.reservation import CommitFailed, Reservation
    from .api_key import ApiKeyRecord
    from .keyring_item import Location
    from .record import TokenRecord


def commit(
    path: str,
    record: TokenRecord | ApiKeyRecord,
    reservation: Reservation,
    data: bytes,
    replaces: str,
    location: Location | None,
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
            reservation.commit(encode(record, replaces, trimmed=True, location=location))
            return
        except CommitFailed as exc:
            failed = exc
    cause = failed.cause
    if location is not None:
        _raise_file_behind_item(path, record, failed, location)
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


def _raise_file_behind_item(
    path: str, record: TokenRecord | ApiKeyRecord, failed: CommitFailed, location: Location
) -> NoReturn:
    """The keyring item holds the new secrets; only the file could not follow."""
    if failed.kept is not None:
        where = (
            f"the file's new form (no secret in it) is kept in {failed.kept}, and the next "
            "claude-code-oauth run that can write there takes it over"
        )
    elif os.path.exists(path):
        where = "the keyring item is the newer and is read first; the next save updates the file"
    else:
        where = "without the file they cannot be found again once this process ends"
    raise RecordKept(
        f"The new tokens are saved in the keyring item of profile {location.item}, but "
        f"{path} could not be written ({failed.cause.reason.rstrip('.')}); {where}.",
        hint=failed.cause.hint,
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
