"""The check a login runs before it starts: can a sign-in be saved here?

What a caller may rely on: :func:`preflight` raises (one line,
:class:`~claude_code_oauth.errors.TokenFileError` or
:class:`~claude_code_oauth.errors.StorageError`) what would otherwise make the save
fail after the user approved in the browser and the code was spent; it writes
nothing that stays (the claimed space is given back).
"""

from __future__ import annotations

import os

from ..errors import TokenFileError
from ..storage.secure_file import ensure_private_dir, refuse_symlink
from .reserved_save import reserve
from .token_lock import token_lock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings


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

    lock = token_lock(settings)
    try:
        acquire(lock, 0)  # no wait, whatever the lock's own timeout
    except Timeout:
        return  # another process holds it: the lock works
    lock.release()
