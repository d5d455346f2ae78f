"""secure_file: private directories, atomic private writes, refusing links and odd files."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from claude_code_oauth.errors import ModelsFileError, TokenFileError
from claude_code_oauth.storage import secure_file


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

    def spying_open(path, flags, mode=0o777, *args, **kwargs):  # type: ignore[no-untyped-def]
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
        secure_file.atomic_write(str(target), "not bytes")  # type: ignore[arg-type]
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
