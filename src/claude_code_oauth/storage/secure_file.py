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


def read_bytes(
    path: str,
    error_cls: type[ClaudeOAuthError] = TokenFileError,
    *,
    max_bytes: int | None = None,
    oversize_hint: str | None = None,
) -> bytes | None:
    """The file's bytes, ``None`` if it does not exist; a symlink is refused.

    Anything but a regular file (a FIFO, a device, a directory) is refused too,
    without blocking on it. With ``max_bytes``, a file larger than that is refused
    by its size (``fstat`` of the opened descriptor) before anything is read, and
    at most ``max_bytes + 1`` bytes are ever read (a file that grows meanwhile is
    refused too): a 2 GB file costs one ``fstat``, not 2 GB of memory.
    ``oversize_hint`` says what to do about such a file.
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
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error_cls(
                f"Refusing to use {path}: it is not a regular file.",
                hint="Move it away; the file must be a regular file.",
            )
        if max_bytes is not None and info.st_size > max_bytes:
            raise too_large(path, info.st_size, max_bytes, error_cls, oversize_hint)
        limit = max_bytes + 1 if max_bytes is not None else None
        chunks = []
        total = 0
        while limit is None or total < limit:
            chunk = os.read(fd, 65536 if limit is None else min(65536, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if max_bytes is not None and total > max_bytes:
            raise too_large(path, None, max_bytes, error_cls, oversize_hint)
        return b"".join(chunks)
    except OSError as exc:  # for example a directory at the path (EISDIR)
        raise error_cls(f"Cannot read {path}: {exc.strerror}.") from None
    finally:
        os.close(fd)


def too_large(
    path: str,
    size: int | None,
    max_bytes: int,
    error_cls: type[ClaudeOAuthError],
    hint: str | None = None,
) -> ClaudeOAuthError:
    """The one-line refusal of a file over ``max_bytes`` (``size``: its size, if known).
    A size that rounds to the limit is given in bytes: never "larger (1.0 MiB) than the
    1 MiB"."""
    shown = ""
    if size is not None:
        rounded = byte_size(size)
        exact = rounded.replace(".0 ", " ") == byte_size(max_bytes)
        shown = f" ({size:,} bytes)" if exact else f" ({rounded})"
    return error_cls(
        f"Refusing to read {path}: it is larger{shown} than the {byte_size(max_bytes)} "
        "such a file can hold; it was not read.",
        hint=hint or "Move it away: claude-code-oauth never writes such a file.",
    )


def byte_size(count: int) -> str:
    """``count`` bytes for a message: ``256 bytes``, ``1 MiB``, ``2.0 GiB``."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if count >= 1 << shift:
            value = count / (1 << shift)
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{count} bytes"


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

    On any failure the previous file is untouched and the temporary file removed;
    the error names the path and the cause, and says what to fix. A SIGTERM that
    arrives meanwhile (in the main thread) is held until the write is done or
    undone (:mod:`.term_guard`), so no temporary file is left by it.
    """
    from .temp_files import temp_path
    from .term_guard import deferred_sigterm

    directory = os.path.dirname(os.path.abspath(path))
    refuse_symlink(path, error_cls)
    with deferred_sigterm():
        tmp = temp_path(path)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        try:
            fd = os.open(tmp, flags, mode)
        except OSError as exc:
            raise write_error(path, exc, error_cls) from None
        try:
            try:
                # The umask may have removed bits from ``mode``; set it exactly.
                os.fchmod(fd, mode)
                write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            refuse_symlink(path, error_cls)
            os.replace(tmp, path)
        except BaseException as exc:
            import contextlib  # only on this failure path

            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise write_error(path, exc, error_cls) from None
            raise
    fsync_dir(directory)


def write_all(fd: int, data: bytes, offset: int | None = None) -> None:
    """Write all of ``data`` to ``fd`` (at ``offset`` with ``pwrite``)."""
    view = memoryview(data)
    while view:
        if offset is None:
            written = os.write(fd, view)
        else:
            written = os.pwrite(fd, view, offset)
            offset += written
        view = view[written:]


def write_error(
    path: str, exc: OSError, error_cls: type[ClaudeOAuthError] = TokenFileError
) -> ClaudeOAuthError:
    """``Cannot write PATH: CAUSE.`` with what to fix, for an ``OSError`` of a write."""
    return error_cls(
        f"Cannot write {path}: {exc.strerror or exc}.",
        hint=fix_for(exc, os.path.dirname(os.path.abspath(path))),
    )


def fix_for(exc: OSError, directory: str) -> str:
    """What frees ``directory`` of the cause of ``exc`` (one sentence)."""
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"Free some space on the filesystem of {directory}."
    if exc.errno == errno.EROFS:
        return (
            "Remount that filesystem read-write, or set CLAUDE_CODE_OAUTH_DATA_DIR to a "
            "writable directory."
        )
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"Make {directory} writable for you (chmod u+rwx {directory})."
    return f"Check {directory} and the filesystem it is on."


def remove_stale_temp_files(path: str, older_than: float) -> list[str]:
    """Delete temporaries for ``path`` that a killed writer left behind: those whose
    writer is certainly gone (see :mod:`.temp_files`), and those whose writer cannot
    be told (another machine, an older version) once older than ``older_than``
    seconds. The target itself is never affected. Returns the paths removed."""
    import time

    from . import temp_files

    directory = os.path.dirname(os.path.abspath(path))
    target = os.path.basename(path)
    limit = time.time() - older_than
    removed = []
    for temp in temp_files.scan(directory):
        if temp.target_name != target:
            continue
        try:
            gone = temp_files.writer_gone(temp)
            if gone is False:
                continue
            info = os.lstat(temp.path)
            if stat.S_ISREG(info.st_mode) and (gone or info.st_mtime < limit):
                os.unlink(temp.path)
                removed.append(temp.path)
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
        raise error_cls(
            f"Cannot remove {path}: {exc.strerror}.",
            hint=fix_for(exc, os.path.dirname(os.path.abspath(path))),
        ) from None
    fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def fsync_dir(directory: str) -> None:
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
