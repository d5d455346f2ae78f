"""Space for a save, claimed before anything irreversible happens.

Refreshing a login spends its single-use refresh token; a code exchange spends
its code. If the new tokens then cannot be written, the login is gone. So the
caller first takes a :class:`Reservation` for the target file: a private
temporary file (0600, ``O_EXCL``, named after this process, see
:mod:`.temp_files`) in the target's directory, with ``size`` bytes allocated
(``posix_fallocate``, else written) and synced. Creating it proves the directory
is writable and has room; its failure is one line naming the path, the cause and
what to free, raised before anything was spent.

:meth:`Reservation.commit` writes the data into the claimed space (no new
space is needed for data up to ``size``), syncs it and renames it over the
target. If that rename still fails, the data is not lost: it stays in the
reservation's file (its path is :attr:`CommitFailed.kept`), where a later run
can find it. Leaving the ``with`` block removes the file unless it was
committed or kept. While a reservation is held, SIGTERM (in the main thread)
waits for it (:mod:`.term_guard`).
"""

from __future__ import annotations

import contextlib
import os

from ..errors import ClaudeOAuthError, TokenFileError
from .secure_file import fix_for, fsync_dir, refuse_symlink, write_all, write_error
from .temp_files import temp_path
from .term_guard import deferred_sigterm

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class CommitFailed(Exception):
    """:meth:`Reservation.commit` could not replace the target. ``kept`` is the file that
    holds the data (``None``: it could not even be written there); ``cause`` is the
    one-line error (the caller's class) naming the path and what to fix."""

    def __init__(self, cause: ClaudeOAuthError, kept: str | None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.kept = kept


class Reservation:
    """Claimed space for one save of ``target``; see the module docstring."""

    def __init__(
        self, target: str, size: int, error_cls: type[ClaudeOAuthError] = TokenFileError
    ) -> None:
        self.target = target
        self.size = size
        self._error_cls = error_cls
        self._guard = deferred_sigterm().__enter__()
        self.path = temp_path(target)
        self._done = False
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        try:
            self._fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            self._guard.__exit__(None, None, None)
            raise self._cannot(exc) from None
        try:
            os.fchmod(self._fd, 0o600)
            _claim(self._fd, size)
            os.fsync(self._fd)
        except OSError as exc:
            self._discard()
            raise self._cannot(exc) from None

    def _cannot(self, exc: OSError) -> ClaudeOAuthError:
        directory = os.path.dirname(os.path.abspath(self.target))
        return self._error_cls(
            f"Cannot write in {directory}: {exc.strerror or exc}.", hint=fix_for(exc, directory)
        )

    def commit(self, data: bytes) -> None:
        """Make ``data`` the target's content, atomically; raises :class:`CommitFailed`."""
        self._write(data)
        try:
            refuse_symlink(self.target, self._error_cls)
            os.replace(self.path, self.target)
        except ClaudeOAuthError as exc:
            self._keep()
            raise CommitFailed(exc, self.path) from None
        except OSError as exc:
            self._keep()
            raise CommitFailed(write_error(self.target, exc, self._error_cls), self.path) from None
        self._done = True
        self._close()
        fsync_dir(os.path.dirname(os.path.abspath(self.target)))

    def keep(self, data: bytes) -> str:
        """Write ``data`` into the claimed space and keep it there, without touching the
        target (for :mod:`..tokens.recovery` to adopt later); returns the kept file's
        path. Raises :class:`CommitFailed` (``kept`` ``None``) when it cannot."""
        self._write(data)
        self._keep()
        return self.path

    def _write(self, data: bytes) -> None:
        """Put exactly ``data`` in the claimed space, on disk; :class:`CommitFailed`
        (``kept`` ``None``) when it cannot."""
        if self._done:
            raise RuntimeError("this reservation was already used")
        try:
            write_all(self._fd, data, 0)
            os.ftruncate(self._fd, len(data))
            os.fsync(self._fd)
        except OSError as exc:
            # Nothing usable is on disk; the space stays claimed for a smaller try.
            raise CommitFailed(write_error(self.target, exc, self._error_cls), None) from None

    def _keep(self) -> None:
        self._done = True
        self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self._guard.__exit__(None, None, None)

    def _discard(self) -> None:
        self._close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def release(self) -> None:
        """Give the space back (the file is removed) unless it was committed or kept."""
        if not self._done:
            self._done = True
            self._discard()

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _claim(fd: int, size: int) -> None:
    """Allocate ``size`` bytes to ``fd`` (raises ``OSError``, e.g. ENOSPC)."""
    import errno

    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
    write_all(fd, bytes(size), 0)
