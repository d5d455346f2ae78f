"""Cross-process file locks (filelock ≥ 3.20.3) with a bounded wait and a clear error.

A lock file that cannot be opened or created (read-only or full filesystem, no
permission) is one line naming it (:class:`~claude_code_oauth.errors.StorageError`),
never a traceback.

Used for the token file and for ``extra_models.json``. filelock is imported
only when a lock is made, so read-only paths (``token``, ``status``) never pay
for it. The locks are ``flock``-based: a holder that dies releases its lock.
"""

from __future__ import annotations

from ..errors import LockTimeout, StorageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from filelock import BaseFileLock


def file_lock(lock_file: str, timeout: float) -> BaseFileLock:
    """A lock on ``lock_file`` (created 0600); one object per call, not thread-local."""
    from filelock import FileLock

    return FileLock(
        lock_file,
        timeout=timeout,
        mode=0o600,
        # Threads are serialised by the callers (the token provider's single flight).
        thread_local=False,
        is_singleton=False,
    )


def acquire(lock: BaseFileLock, timeout: float, poll_interval: float = 0.05) -> None:
    """``lock.acquire(timeout, poll_interval)``; a lock file that cannot be opened or
    created (a read-only or full filesystem, no permission) is :class:`StorageError`
    naming it, never a bare ``OSError``. A timeout raises filelock's ``Timeout``."""
    from filelock import Timeout

    try:
        lock.acquire(timeout=timeout, poll_interval=poll_interval)
    except Timeout:
        raise
    except OSError as exc:  # filelock's Timeout is an OSError too: handled above
        raise lock_unusable(lock.lock_file, exc) from None


def lock_unusable(lock_file: str, exc: OSError) -> StorageError:
    """The one-line error for a lock file that cannot be used."""
    import os

    from .secure_file import fix_for

    return StorageError(
        f"Cannot use the lock file {lock_file}: {exc.strerror or exc}.",
        hint=fix_for(exc, os.path.dirname(os.path.abspath(lock_file))),
    )


def lock_timeout_error(lock: BaseFileLock, what: str) -> LockTimeout:
    """The error for a lock not obtained within its timeout."""
    return LockTimeout(
        f"Another claude-code-oauth process has held the lock on {what} for "
        f"more than {lock.timeout:g} s ({lock.lock_file}).",
        # flock-based: a dead holder's lock is released by the kernel, so a live
        # process is holding it.
        hint="Retry in a moment; if it persists, look for a hung claude-code-oauth "
        "or Code Puppy process.",
    )


class held:
    """``with held(lock, what):`` — acquire with its timeout, raising :class:`LockTimeout`."""

    def __init__(self, lock: BaseFileLock, what: str) -> None:
        self._lock = lock
        self._what = what

    def __enter__(self) -> BaseFileLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout:
            raise lock_timeout_error(self._lock, self._what) from None
        except OSError as exc:
            raise lock_unusable(self._lock.lock_file, exc) from None
        return self._lock

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
