"""Atomic, private file writes and symlink-refusing reads.

A file written here is never half-written and never readable by others, even
for an instant: the temporary file is created with its final mode by
``O_CREAT|O_EXCL|O_NOFOLLOW`` in the destination directory, written, fsynced
and ``os.replace``-d over the target (then the directory is fsynced). A symlink
at the target path is refused rather than followed or replaced.

Errors are raised as the caller's error class (``error_cls``) with a one-line
message naming the path, so each caller keeps its own error vocabulary.
"""

from __future__ import annotations

import os
import stat

from ..errors import ClaudeOAuthError, TokenFileError

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def ensure_private_dir(path: str, error_cls: type[ClaudeOAuthError] = TokenFileError) -> None:
    """Create ``path`` (0700) if missing; refuse a directory others may write to.

    An existing directory's mode is otherwise left alone (it may be Code Puppy's
    own data directory); files in it are private by their own mode.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except FileExistsError:
        pass  # something that is not a directory: reported below
    except OSError as exc:
        raise error_cls(f"Cannot create the directory {path}: {exc.strerror}.") from None
    try:
        # Follows a symlink: a symlinked data dir is common (dotfiles); check its target.
        info = os.stat(path)
    except OSError as exc:
        raise error_cls(f"Cannot use the directory {path}: {exc.strerror}.") from None
    if not stat.S_ISDIR(info.st_mode):
        raise error_cls(f"{path} exists and is not a directory.")
    writable_by_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if writable_by_others and not info.st_mode & stat.S_ISVTX:
        raise error_cls(
            f"The directory {path} is writable by other users, so files in it cannot be kept safe.",
            hint=f"Run: chmod go-w {path}",
        )


def refuse_symlink(path: str, error_cls: type[ClaudeOAuthError] = TokenFileError) -> None:
    """Raise if ``path`` is a symlink (dangling or not)."""
    if os.path.islink(path):
        raise error_cls(
            f"Refusing to use {path}: it is a symbolic link.",
            hint="Remove the link; the file must be a regular file.",
        )


def read_bytes(path: str, error_cls: type[ClaudeOAuthError] = TokenFileError) -> bytes | None:
    """The file's bytes, ``None`` if it does not exist; a symlink is refused.

    Anything but a regular file (a FIFO, a device, a directory) is refused too,
    without blocking on it.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            refuse_symlink(path, error_cls)
        raise error_cls(f"Cannot read {path}: {exc.strerror}.") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise error_cls(
                f"Refusing to use {path}: it is not a regular file.",
                hint="Move it away; the file must be a regular file.",
            )
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:  # for example a directory at the path (EISDIR)
        raise error_cls(f"Cannot read {path}: {exc.strerror}.") from None
    finally:
        os.close(fd)


def file_mode(path: str) -> int | None:
    """Permission bits of ``path`` (not following symlinks), ``None`` if missing."""
    try:
        return stat.S_IMODE(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def atomic_write(
    path: str,
    data: bytes,
    *,
    mode: int = 0o600,
    error_cls: type[ClaudeOAuthError] = TokenFileError,
) -> None:
    """Replace ``path`` with ``data`` atomically; the new file has exactly ``mode``.

    On any failure the previous file is untouched and the temporary file removed.
    """
    import secrets  # lazily: not needed on the read-only fast path

    directory = os.path.dirname(os.path.abspath(path))
    refuse_symlink(path, error_cls)
    tmp = os.path.join(directory, f"{_temp_prefix(path)}{secrets.token_hex(6)}{_TEMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
    try:
        fd = os.open(tmp, flags, mode)
    except OSError as exc:
        raise error_cls(f"Cannot write {path}: {exc.strerror}.") from None
    try:
        try:
            # The umask may have removed bits from ``mode``; set it exactly.
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        refuse_symlink(path, error_cls)
        os.replace(tmp, path)
    except BaseException as exc:
        import contextlib  # only on this failure path

        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise error_cls(f"Cannot write {path}: {exc.strerror}.") from None
        raise
    _fsync_dir(directory)


_TEMP_SUFFIX = ".tmp"


def _temp_prefix(path: str) -> str:
    return f".{os.path.basename(path)}."


def remove_stale_temp_files(path: str, older_than: float) -> list[str]:
    """Delete :func:`atomic_write` temporaries for ``path`` older than ``older_than`` seconds.

    They are left behind only when a writer was killed mid-write; the target
    itself is never affected by them. Returns the paths removed.
    """
    import time

    directory = os.path.dirname(os.path.abspath(path))
    prefix = _temp_prefix(path)
    limit = time.time() - older_than
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        middle = name[len(prefix) : -len(_TEMP_SUFFIX)]
        if not (name.startswith(prefix) and name.endswith(_TEMP_SUFFIX) and len(middle) == 12):
            continue
        candidate = os.path.join(directory, name)
        try:
            info = os.lstat(candidate)
            if stat.S_ISREG(info.st_mode) and info.st_mtime < limit:
                os.unlink(candidate)
                removed.append(candidate)
        except OSError:
            continue
    return removed


def remove(path: str, error_cls: type[ClaudeOAuthError] = TokenFileError) -> bool:
    """Delete ``path``; ``True`` if something was removed. A symlink is removed, not followed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise error_cls(f"Cannot remove {path}: {exc.strerror}.") from None
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def _fsync_dir(directory: str) -> None:
    # Makes the rename itself durable; not all filesystems allow it, which is fine.
    try:
        fd = os.open(directory, os.O_RDONLY | _O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
