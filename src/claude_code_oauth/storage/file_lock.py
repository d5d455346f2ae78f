"""Cross-process file locks (filelock ≥ 3.20.3) with a bounded wait and a clear error.

Used for the token file and for ``extra_models.json``. filelock is imported
only when a lock is made, so read-only paths (``token``, ``status``) never pay
for it. The locks are ``flock``-based: a holder that dies releases its lock.
"""

from __future__ import annotations

from ..errors import LockTimeout

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
        return self._lock

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
