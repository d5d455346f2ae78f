"""Reservations: space for a save claimed before anything single-use is spent; what a
failure says, and that data a failed rename could not place is kept, not lost.

The system calls fail on purpose here (root ignores modes; a full disk needs a mount,
which the machine tests do for real), so every line is checked exactly anywhere."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest

from claude_code_oauth.errors import ModelsFileError, TokenFileError
from claude_code_oauth.storage import reservation
from claude_code_oauth.storage.reservation import CommitFailed, Reservation


def _entries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_reservation_is_a_private_file_of_its_size_beside_the_target(tmp_path: Path) -> None:
    target = tmp_path / "claude_code_oauth.json"
    old = os.umask(0)
    try:
        claimed = Reservation(str(target), 8192)
    finally:
        os.umask(old)
    info = os.lstat(claimed.path)
    assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_size == 8192
    assert os.path.dirname(claimed.path) == str(tmp_path)
    assert claimed.size == 8192 and claimed.target == str(target)
    claimed.commit(b'{"new": true}')
    assert target.read_bytes() == b'{"new": true}'  # only the data, not the claimed space
    assert stat.S_IMODE(os.lstat(target).st_mode) == 0o600
    assert _entries(tmp_path) == [target.name]
    with pytest.raises(RuntimeError, match=r"^this reservation was already used$"):
        claimed.commit(b"again")
    claimed.release()  # after a commit: nothing to give back
    assert target.read_bytes() == b'{"new": true}'


def test_without_posix_fallocate_the_space_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(fd: int, offset: int, size: int) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(reservation.os, "posix_fallocate", unsupported)
    with Reservation(str(tmp_path / "t.json"), 4096) as claimed:
        assert Path(claimed.path).read_bytes() == bytes(4096)
    monkeypatch.delattr(reservation.os, "posix_fallocate")
    with Reservation(str(tmp_path / "t.json"), 100) as claimed:
        assert Path(claimed.path).read_bytes() == bytes(100)
    assert _entries(tmp_path) == []


@pytest.mark.parametrize("call", ["open", "posix_fallocate"])
def test_no_room_is_one_line_before_anything_is_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: str
) -> None:
    real = getattr(os, call)

    def no_space(*args: object, **kwargs: object) -> object:
        if call == "open" and not (args[1] & os.O_CREAT):
            return real(*args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(reservation.os, call, no_space)
    with pytest.raises(ModelsFileError) as caught:
        Reservation(str(tmp_path / "t.json"), 4096, ModelsFileError)
    assert caught.value.reason == f"Cannot write in {tmp_path}: No space left on device."
    assert caught.value.hint == f"Free some space on the filesystem of {tmp_path}."
    monkeypatch.undo()
    assert _entries(tmp_path) == []  # the half-made claim is gone too


def test_a_write_that_fails_inside_the_claim_keeps_nothing_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    target.write_bytes(b"old")
    claimed = Reservation(str(target), 64)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(reservation.os, "fsync", broken)
    with pytest.raises(CommitFailed) as caught:
        claimed.commit(b"new")
    monkeypatch.undo()
    assert caught.value.kept is None
    assert isinstance(caught.value.cause, TokenFileError)
    assert caught.value.cause.reason == f"Cannot write {target}: Input/output error."
    assert str(caught.value) == str(caught.value.cause)
    assert target.read_bytes() == b"old"
    claimed.release()
    assert _entries(tmp_path) == ["t.json"]


@pytest.mark.parametrize("how", ["a symlink appeared", "the rename failed"])
def test_data_a_failed_rename_could_not_place_stays_in_the_claim(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    target = tmp_path / "t.json"
    claimed = Reservation(str(target), 64, ModelsFileError)
    if how == "a symlink appeared":
        target.symlink_to(tmp_path / "elsewhere")
    else:

        def refused(src: str, dst: str) -> None:
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))

        monkeypatch.setattr(reservation.os, "replace", refused)
    with pytest.raises(CommitFailed) as caught:
        claimed.commit(b'{"rotated": 1}')
    monkeypatch.undo()
    assert caught.value.kept == claimed.path
    assert Path(claimed.path).read_bytes() == b'{"rotated": 1}'
    assert isinstance(caught.value.cause, ModelsFileError)
    if how == "a symlink appeared":
        assert caught.value.cause.reason == f"Refusing to use {target}: it is a symbolic link."
    else:
        assert caught.value.cause.reason == f"Cannot write {target}: Permission denied."
        assert caught.value.cause.hint == (
            f"Make {tmp_path} writable for you (chmod u+rwx {tmp_path})."
        )
    claimed.release()  # kept: leaving the block does not remove it
    assert os.path.exists(claimed.path)


def test_a_reservation_closes_its_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each descriptor this thread opens is closed exactly once (a second close could close
    # a descriptor another thread has just been given). Counted in this thread only: other
    # threads of the test run (a usage writer finishing) open and close files meanwhile.
    me = threading.get_ident()
    real_open, real_close = os.open, os.close
    opened: list[int] = []
    closed: list[int] = []

    def counted_open(path: str, flags: int, mode: int = 0o777, **kwargs: object) -> int:
        fd = real_open(path, flags, mode, **kwargs)  # type: ignore[arg-type]  # os.open's own keywords, passed on
        if threading.get_ident() == me:
            opened.append(fd)
        return fd

    def counted_close(fd: int) -> None:
        if threading.get_ident() == me:
            closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(os, "open", counted_open)
    monkeypatch.setattr(os, "close", counted_close)
    with Reservation(str(tmp_path / "t.json"), 64) as claimed:
        claimed.commit(b"x")
    claimed.release()
    Reservation(str(tmp_path / "u.json"), 64).release()
    monkeypatch.undo()
    assert opened and closed == opened
    assert not [
        fd
        for fd in os.listdir("/proc/self/fd")
        if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(tmp_path))
    ]


def test_keep_puts_the_data_in_the_claim_and_leaves_the_target_alone(tmp_path: Path) -> None:
    # For recovery to adopt later: the rotated tokens are on disk, exactly, in the claim.
    target = tmp_path / "t.json"
    target.write_bytes(b"old")
    claimed = Reservation(str(target), 64)
    assert claimed.keep(b'{"rotated": 1}') == claimed.path
    assert Path(claimed.path).read_bytes() == b'{"rotated": 1}'  # cut to the data
    assert target.read_bytes() == b"old"
    claimed.release()
    assert os.path.exists(claimed.path)
    for again in (claimed.keep, claimed.commit):
        with pytest.raises(RuntimeError, match=r"^this reservation was already used$"):
            again(b"x")


def test_keep_that_cannot_write_says_so_in_the_callers_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    claimed = Reservation(str(target), 64, ModelsFileError)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(reservation.os, "fsync", broken)
    with pytest.raises(CommitFailed) as caught:
        claimed.keep(b"new")
    monkeypatch.undo()
    assert caught.value.kept is None
    assert isinstance(caught.value.cause, ModelsFileError)
    assert caught.value.cause.reason == f"Cannot write {target}: Input/output error."
    claimed.release()
    assert _entries(tmp_path) == []


def test_the_claim_is_private_from_its_creation_and_not_inherited_by_programs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Code Puppy may start a program on another thread while a refresh holds a claim: the
    # descriptor is close-on-exec, and the file is 0600 before its mode is even set.
    import fcntl

    seen: list[int] = []
    real_fchmod = os.fchmod

    def looking(fd: int, mode: int) -> None:
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fchmod(fd, mode)

    monkeypatch.setattr(reservation.os, "fchmod", looking)
    old = os.umask(0)
    try:
        claimed = Reservation(str(tmp_path / "t.json"), 64)
    finally:
        os.umask(old)
    monkeypatch.undo()
    try:
        assert seen == [0o600]
        fds = [
            int(fd)
            for fd in os.listdir("/proc/self/fd")
            if os.path.realpath(f"/proc/self/fd/{fd}") == os.path.realpath(claimed.path)
        ]
        assert len(fds) == 1
        assert fcntl.fcntl(fds[0], fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    finally:
        claimed.release()


def test_a_released_claim_cannot_be_used_and_a_failed_removal_is_quiet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    claimed = Reservation(str(target), 64)
    real_unlink = os.unlink

    def read_only(path: str) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(reservation.os, "unlink", read_only)
    claimed.release()  # the filesystem went read-only: leaving says nothing
    monkeypatch.undo()
    with pytest.raises(RuntimeError, match=r"^this reservation was already used$"):
        claimed.commit(b"x")
    real_unlink(claimed.path)


def test_a_commit_that_cannot_write_says_so_in_the_callers_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "extra_models.json"
    claimed = Reservation(str(target), 64, ModelsFileError)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(reservation.os, "fsync", broken)
    with pytest.raises(CommitFailed) as caught:
        claimed.commit(b"new")
    monkeypatch.undo()
    assert isinstance(caught.value.cause, ModelsFileError)
    claimed.release()


@pytest.mark.parametrize("then", ["commit", "keep"])
def test_after_a_failed_write_a_second_try_puts_exactly_its_data_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, then: str
) -> None:
    # A commit whose sync failed leaves the space claimed "for a smaller try": the next
    # try writes from the start of the file, not after what the failed one wrote.
    target = tmp_path / "t.json"
    claimed = Reservation(str(target), 64)

    def broken(fd: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(reservation.os, "fsync", broken)
    with pytest.raises(CommitFailed):
        claimed.commit(b'{"first": "try, longer"}')
    monkeypatch.undo()
    if then == "commit":
        claimed.commit(b'{"second": 2}')
        assert target.read_bytes() == b'{"second": 2}'
    else:
        assert Path(claimed.keep(b'{"second": 2}')).read_bytes() == b'{"second": 2}'
    claimed.release()
