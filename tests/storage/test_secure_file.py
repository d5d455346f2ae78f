"""secure_file: private directories, atomic private writes, refusing links and odd files."""

from __future__ import annotations

import errno
import os
import stat
import time
from pathlib import Path

import pytest

from claude_code_oauth.errors import ModelsFileError, TokenFileError
from claude_code_oauth.storage import secure_file, temp_files


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(os.lstat(path).st_mode))


# -- directories ------------------------------------------------------------------------


def test_ensure_private_dir_creates_0700(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    old = os.umask(0)
    try:
        secure_file.ensure_private_dir(str(target))
    finally:
        os.umask(old)
    assert _mode(target) == "0o700"


def test_existing_directory_mode_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "shared"
    target.mkdir()
    target.chmod(0o755)
    secure_file.ensure_private_dir(str(target))
    assert _mode(target) == "0o755"


def test_directory_writable_by_others_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "open"
    target.mkdir()
    target.chmod(0o777)
    with pytest.raises(TokenFileError, match="writable by other users") as caught:
        secure_file.ensure_private_dir(str(target))
    assert "chmod go-w" in str(caught.value)
    # Sticky (like /tmp) is fine: others cannot replace our files.
    target.chmod(0o1777)
    secure_file.ensure_private_dir(str(target))


def test_non_directory_is_refused_with_the_callers_error(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ModelsFileError, match="not a directory"):
        secure_file.ensure_private_dir(str(target), ModelsFileError)


def test_symlinked_directory_is_checked_through(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "link"
    link.symlink_to(real)
    secure_file.ensure_private_dir(str(link))
    real.chmod(0o777)
    with pytest.raises(TokenFileError, match="writable by other users"):
        secure_file.ensure_private_dir(str(link))


# -- reading ------------------------------------------------------------------------------


def test_read_bytes(tmp_path: Path) -> None:
    target = tmp_path / "f"
    assert secure_file.read_bytes(str(target)) is None
    target.write_bytes(b"abc" * 50000)
    assert secure_file.read_bytes(str(target)) == b"abc" * 50000


def test_read_refuses_symlinks_and_non_regular_files(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(TokenFileError, match="symbolic link"):
        secure_file.read_bytes(str(link))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(TokenFileError, match="not a regular file"):
        secure_file.read_bytes(str(fifo))
    assert time.monotonic() - started < 10  # opening a FIFO for reading would block
    with pytest.raises(TokenFileError, match="not a regular file"):
        secure_file.read_bytes(str(tmp_path))


# -- writing ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o644])
def test_atomic_write_sets_exactly_the_mode(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "f"
    old = os.umask(0o077)
    try:
        secure_file.atomic_write(str(target), b"one", mode=mode)
    finally:
        os.umask(old)
    assert _mode(target) == oct(mode)
    secure_file.atomic_write(str(target), b"two", mode=mode)
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_atomic_write_never_exposes_a_wider_mode(tmp_path: Path) -> None:
    """The temporary file is created with the final mode (no chmod-after window)."""
    seen: list[int] = []
    real_open = os.open

    def spying_open(path, flags, mode=0o777, *args, **kwargs):
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT:
            seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
            assert flags & os.O_EXCL and flags & os.O_NOFOLLOW
        return fd

    old = os.umask(0)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "open", spying_open)
            secure_file.atomic_write(str(tmp_path / "f"), b"x", mode=0o600)
    finally:
        os.umask(old)
    assert seen == [0o600]


def test_atomic_write_refuses_a_symlink_and_leaves_the_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"original")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(TokenFileError, match="symbolic link"):
        secure_file.atomic_write(str(link), b"replacement")
    assert target.read_bytes() == b"original" and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


def test_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "f"
    secure_file.atomic_write(str(target), b"old")
    with pytest.raises(TypeError):
        secure_file.atomic_write(str(target), "not bytes")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_write_error_is_the_callers_error_class(tmp_path: Path) -> None:
    with pytest.raises(ModelsFileError, match="Cannot write"):
        secure_file.atomic_write(str(tmp_path / "missing" / "f"), b"x", error_cls=ModelsFileError)


# -- other helpers ------------------------------------------------------------------------


def test_file_mode_and_remove(tmp_path: Path) -> None:
    target = tmp_path / "f"
    assert secure_file.file_mode(str(target)) is None
    secure_file.atomic_write(str(target), b"x", mode=0o640)
    assert secure_file.file_mode(str(target)) == 0o640
    assert secure_file.remove(str(target)) is True
    assert secure_file.remove(str(target)) is False


def test_remove_deletes_a_symlink_not_its_target(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    assert secure_file.remove(str(link)) is True
    assert target.read_bytes() == b"keep"


def test_remove_stale_temp_files_only_touches_old_temporaries(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    secure_file.atomic_write(str(target), b"x")
    old = time.time() - 120
    names = {
        "stale": ".tokens.json.0123456789ab.tmp",
        "fresh": ".tokens.json.aaaaaaaaaaaa.tmp",
        "other file": ".models.json.0123456789ab.tmp",
        "wrong shape": ".tokens.json.short.tmp",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    for key in ("stale", "other file", "wrong shape"):
        os.utime(tmp_path / names[key], (old, old))
    removed = secure_file.remove_stale_temp_files(str(target), older_than=60)
    assert [Path(p).name for p in removed] == [names["stale"]]
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"tokens.json", names["fresh"], names["other file"], names["wrong shape"]}


def test_dangling_directory_symlink_is_a_clear_error(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    with pytest.raises(TokenFileError, match="Cannot"):
        secure_file.ensure_private_dir(str(link))


# -- what each failure says, word for word ------------------------------------------
# Root ignores file modes, and a full or read-only filesystem needs a mount (the machine
# tests do that for real): here the system call fails on purpose, so each line and hint
# is checked exactly on any machine.


def _failing(monkeypatch: pytest.MonkeyPatch, name: str, code: int) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(secure_file.os, name, fail)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        (errno.ENOSPC, "Free some space on the filesystem of {d}."),
        (errno.EDQUOT, "Free some space on the filesystem of {d}."),
        (
            errno.EROFS,
            "Remount that filesystem read-write, or set CLAUDE_CODE_OAUTH_DATA_DIR to a "
            "writable directory.",
        ),
        (errno.EACCES, "Make {d} writable for you (chmod u+rwx {d})."),
        (errno.EPERM, "Make {d} writable for you (chmod u+rwx {d})."),
        (errno.EIO, "Check {d} and the filesystem it is on."),
    ],
)
def test_a_failed_write_says_the_cause_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, hint: str
) -> None:
    target = tmp_path / "claude_code_oauth.json"
    target.write_bytes(b"old")
    _failing(monkeypatch, "fsync", code)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.atomic_write(str(target), b"new", error_cls=ModelsFileError)
    assert caught.value.reason == f"Cannot write {target}: {os.strerror(code)}."
    assert caught.value.hint == hint.format(d=tmp_path)
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == [target.name]


def test_a_temporary_that_cannot_be_created_is_a_write_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t.json"
    real_open = os.open

    def no_space(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & os.O_CREAT:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(path, flags, mode)

    monkeypatch.setattr(secure_file.os, "open", no_space)
    with pytest.raises(TokenFileError) as caught:
        secure_file.atomic_write(str(target), b"x")
    assert caught.value.reason == f"Cannot write {target}: No space left on device."
    assert caught.value.hint == f"Free some space on the filesystem of {tmp_path}."


def test_directory_failures_are_one_line_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    where = tmp_path / "new"
    _failing(monkeypatch, "makedirs", errno.EROFS)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.ensure_private_dir(str(where), ModelsFileError)
    assert caught.value.reason == f"Cannot create the directory {where}: Read-only file system."
    monkeypatch.undo()
    _failing(monkeypatch, "stat", errno.EACCES)
    with pytest.raises(TokenFileError) as caught:
        secure_file.ensure_private_dir(str(tmp_path))
    assert caught.value.reason == f"Cannot use the directory {tmp_path}: Permission denied."
    monkeypatch.undo()
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(TokenFileError) as caught:
        secure_file.ensure_private_dir(str(shared))
    assert caught.value.reason == (
        f"The directory {shared} is writable by other users, so files in it cannot be kept safe."
    )
    assert caught.value.hint == f"Run: chmod go-w {shared}"
    shared.chmod(0o1777)  # sticky, like /tmp: others cannot replace our files
    secure_file.ensure_private_dir(str(shared))
    group = tmp_path / "group"
    group.mkdir()
    group.chmod(0o770)
    with pytest.raises(TokenFileError):
        secure_file.ensure_private_dir(str(group))


def test_refusals_of_what_is_not_a_file_word_for_word(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ModelsFileError) as caught:
        secure_file.read_bytes(str(link), ModelsFileError)
    assert caught.value.reason == f"Refusing to use {link}: it is a symbolic link."
    assert caught.value.hint == "Remove the link; the file must be a regular file."
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(fifo))
    assert caught.value.reason == f"Refusing to use {fifo}: it is not a regular file."
    assert caught.value.hint == "Move it away; the file must be a regular file."


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b"{}")
    _failing(monkeypatch, "open", errno.EACCES)
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(path))
    assert caught.value.reason == f"Cannot read {path}: Permission denied."
    monkeypatch.undo()
    _failing(monkeypatch, "read", errno.EIO)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.read_bytes(str(path), ModelsFileError)
    assert caught.value.reason == f"Cannot read {path}: Input/output error."


def test_a_file_over_its_cap_is_refused_by_its_size_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 2048)
    assert secure_file.read_bytes(str(path), max_bytes=2048) == b"x" * 2048  # the cap itself
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(path), max_bytes=1024, oversize_hint="Delete it.")
    assert caught.value.reason == (
        f"Refusing to read {path}: it is larger (2 KiB) than the 1 KiB such a file can "
        "hold; it was not read."
    )
    assert caught.value.hint == "Delete it."
    # A byte over the cap is shown in bytes, not rounded to the cap ("1.0 KiB than the 1 KiB").
    path.write_bytes(b"x" * 1025)
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(path), max_bytes=1024)
    assert "larger (1,025 bytes) than the 1 KiB such" in caught.value.reason
    error = secure_file.too_large(str(path), None, 1 << 20, ModelsFileError)
    assert error.reason == (
        f"Refusing to read {path}: it is larger than the 1 MiB such a file can hold; it was "
        "not read."
    )
    assert error.hint == "Move it away: claude-code-oauth never writes such a file."
    assert isinstance(error, ModelsFileError)
    big = tmp_path / "bigger"
    big.write_bytes(b"y" * 200_000)  # read in several chunks
    assert secure_file.read_bytes(str(big)) == b"y" * 200_000


def test_a_file_that_grows_while_it_is_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "growing.json"
    path.write_bytes(b"x" * 10)
    real_fstat = os.fstat

    def small(fd: int) -> os.stat_result:  # the size when it was opened
        info = real_fstat(fd)
        path.write_bytes(b"x" * 5000)  # then it grows
        return info

    monkeypatch.setattr(secure_file.os, "fstat", small)
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(path), max_bytes=100)
    assert "it is larger than the 100 bytes" in str(caught.value)


@pytest.mark.parametrize(
    ("count", "said"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (1 << 20, "1 MiB"),
        (3 * (1 << 20) // 2, "1.5 MiB"),
        (1 << 30, "1 GiB"),
        (2 * (1 << 30) + 1, "2.0 GiB"),
    ],
)
def test_byte_sizes_for_people(count: int, said: str) -> None:
    assert secure_file.byte_size(count) == said


def test_remove_says_why_it_could_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b"x")
    _failing(monkeypatch, "unlink", errno.EROFS)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.remove(str(path), ModelsFileError)
    assert caught.value.reason == f"Cannot remove {path}: Read-only file system."
    assert caught.value.hint.startswith("Remount that filesystem read-write")
    monkeypatch.undo()
    assert secure_file.remove(str(path)) is True and not path.exists()
    assert secure_file.remove(str(path)) is False


# -- what mutation testing found unchecked (docs/mutation.md) ---------------------------


def test_a_symlink_is_refused_in_the_callers_words(tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"original")
    link = tmp_path / "extra_models.json"
    link.symlink_to(target)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.atomic_write(str(link), b"replacement", error_cls=ModelsFileError)
    assert caught.value.reason == f"Refusing to use {link}: it is a symbolic link."
    assert target.read_bytes() == b"original"


def test_a_write_that_fails_on_a_filesystem_gone_read_only_still_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sync fails, then the temporary cannot even be removed: the error is the
    # write's, one line, not the clean-up's.
    target = tmp_path / "claude_code_oauth.json"
    target.write_bytes(b"old")
    _failing(monkeypatch, "fsync", errno.EIO)
    _failing(monkeypatch, "unlink", errno.EROFS)
    with pytest.raises(TokenFileError) as caught:
        secure_file.atomic_write(str(target), b"new")
    assert caught.value.reason == f"Cannot write {target}: Input/output error."
    monkeypatch.undo()
    assert target.read_bytes() == b"old"


def test_remove_names_the_directory_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.json"
    path.write_bytes(b"x")
    _failing(monkeypatch, "unlink", errno.EACCES)
    with pytest.raises(TokenFileError) as caught:
        secure_file.remove(str(path))
    assert caught.value.hint == f"Make {tmp_path} writable for you (chmod u+rwx {tmp_path})."


def test_a_file_growing_under_short_reads_is_refused_after_at_most_the_cap_plus_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "At most max_bytes + 1 bytes are ever read", even when each read returns less than
    # asked (a network filesystem): a file growing to 2 GB costs no memory.
    path = tmp_path / "growing.json"
    path.write_bytes(b"x" * 10)
    real_fstat, real_read = os.fstat, os.read
    read: list[int] = []

    def small(fd: int) -> os.stat_result:  # the size when it was opened
        info = real_fstat(fd)
        path.write_bytes(b"x" * 5000)  # then it grows
        return info

    def short(fd: int, count: int) -> bytes:
        chunk = real_read(fd, min(count, 7))
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(secure_file.os, "fstat", small)
    monkeypatch.setattr(secure_file.os, "read", short)
    with pytest.raises(TokenFileError) as caught:
        secure_file.read_bytes(str(path), max_bytes=100, oversize_hint="Delete it.")
    assert caught.value.reason == (
        f"Refusing to read {path}: it is larger than the 100 bytes such a file can hold; it "
        "was not read."
    )
    assert caught.value.hint == "Delete it."
    assert sum(read) == 101
    path.write_bytes(b"y" * 10)
    monkeypatch.setattr(secure_file.os, "fstat", real_fstat)
    assert secure_file.read_bytes(str(path), max_bytes=100) == b"y" * 10


@pytest.mark.parametrize("offset", [None, 0])
def test_short_writes_are_continued_until_everything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offset: int | None
) -> None:
    # A write may take fewer bytes than given (a signal, a nearly full disk): the rest
    # follows, at the right place, until the file holds all of it.
    real_write, real_pwrite = os.write, os.pwrite
    monkeypatch.setattr(secure_file.os, "write", lambda fd, data: real_write(fd, data[:3]))
    monkeypatch.setattr(
        secure_file.os, "pwrite", lambda fd, data, at: real_pwrite(fd, data[:3], at)
    )
    path = tmp_path / "t.json"
    data = b'{"refresh_token": "kept whole"}'
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        secure_file.write_all(fd, data, offset)
    finally:
        os.close(fd)
    assert path.read_bytes() == data


def test_stale_temporaries_are_judged_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each temporary on its own: one that is not ours to remove (another target, a live
    # writer, one that vanished meanwhile) never stops the sweep of those after it. The
    # scan's order and each writer's fate are injected; the clock too.
    now = 1_000_000.0
    monkeypatch.setattr(time, "time", lambda: now)
    target = tmp_path / "tokens.json"
    fates: dict[str, bool | None] = {}

    def temp(name: str, target_name: str, age: int, gone: bool | None) -> temp_files.TempFile:
        path = tmp_path / name
        if age >= 0:
            path.write_bytes(b"x")
            os.utime(path, ns=(int((now - age) * 1e9),) * 2)
        fates[str(path)] = gone
        return temp_files.TempFile(str(path), target_name, "h", "1", "1")

    temps = [
        temp("other-target", "models.json", 600, True),
        temp("live-writer", "tokens.json", 600, False),
        temp("vanished", "tokens.json", -1, True),
        temp("writer-gone-fresh", "tokens.json", 0, True),
        temp("unknown-exactly-60s", "tokens.json", 60, None),
        temp("unknown-61s", "tokens.json", 61, None),
    ]
    monkeypatch.setattr(temp_files, "scan", lambda directory: temps)
    monkeypatch.setattr(temp_files, "writer_gone", lambda t: fates[t.path])
    removed = secure_file.remove_stale_temp_files(str(target), older_than=60)
    assert [Path(p).name for p in removed] == ["writer-gone-fresh", "unknown-61s"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "live-writer",
        "other-target",
        "unknown-exactly-60s",
    ]


def test_a_symlink_planted_during_the_write_is_refused_in_the_callers_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checked again just before the rename: a link that appears while the data is being
    # written is neither followed nor replaced, and the temporary is removed.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"not ours")
    target = tmp_path / "extra_models.json"
    real_fsync = os.fsync

    def plant(fd: int) -> None:
        real_fsync(fd)
        if not target.is_symlink():
            target.symlink_to(elsewhere)

    monkeypatch.setattr(secure_file.os, "fsync", plant)
    with pytest.raises(ModelsFileError) as caught:
        secure_file.atomic_write(str(target), b"new", error_cls=ModelsFileError)
    assert caught.value.reason == f"Refusing to use {target}: it is a symbolic link."
    assert elsewhere.read_bytes() == b"not ours" and target.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "extra_models.json"]
