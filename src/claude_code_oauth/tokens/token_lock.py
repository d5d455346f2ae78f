"""The cross-process lock every writer of a profile's token file takes.

What a caller may rely on: :func:`token_lock` is a filelock beside the token file
(``<token file>.lock``, mode 0600, in the private data directory), and taking it
with :func:`held` is bounded by its timeout — :class:`~claude_code_oauth.errors.LockTimeout`,
never a hang. filelock is imported when a lock is first made, not before.
"""

from __future__ import annotations

import os

from ..errors import LockTimeout
from ..storage.file_lock import file_lock
from ..storage.file_lock import held as _held
from ..storage.file_lock import lock_timeout_error as _lock_timeout_error
from ..storage.secure_file import ensure_private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from filelock import BaseFileLock

    from ..config import Settings


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
