"""A machine that fails under the client: small tmpfs mounts, read-only remounts, full
disks, and a user without root's override of file modes.

Tests run as root (CI too), which may mount: each fixture mounts its own tmpfs and
unmounts it afterwards, and fails loudly — never skips — when it cannot. Root
ignores file modes, so a probe of "a directory the user may not write" runs the
command as ``nobody`` (:data:`AS_NOBODY`), on a mount under a directory nobody can
reach.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

NOBODY = 65534
#: Prefix a command with this to run it as nobody (no supplementary groups).
AS_NOBODY = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _run(*argv: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} failed (these tests need root): {done.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(size: str = "4m", owner: int | None = None) -> Iterator[Path]:
    """A fresh tmpfs of ``size`` mounted on a new directory under ``/tmp`` (reachable by
    every user); owned by ``owner`` when given. Unmounted (and removed) afterwards."""
    mount_point = Path(tempfile.mkdtemp(prefix="cco-machine-", dir="/tmp"))
    mount_point.chmod(0o755)
    options = f"size={size},mode=0755"
    if owner is not None:
        options += f",uid={owner},gid={owner}"
    _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point))
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)
        shutil.rmtree(mount_point, ignore_errors=True)


def remount(mount_point: Path, *, read_only: bool) -> None:
    _run("mount", "-o", f"remount,{'ro' if read_only else 'rw'}", str(mount_point))


def fill(mount_point: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free space)."""
    filler = mount_point / "filler"
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as out:
        while True:
            try:
                out.write(chunk)
            except OSError:
                break
    # Small writes can still fit in a partly used page; take those too.
    with open(filler, "ab", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0")
    return filler


def chown_tree(path: Path, uid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, uid)
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


#: The distributions the command needs at run time (their own requirements follow).
_RUNTIME = ("httpx", "filelock")


def _requirements(name: str, seen: set[str]) -> None:
    """``name`` and every distribution it requires (no extras), into ``seen``."""
    from importlib import metadata

    from packaging.requirements import Requirement

    key = name.lower().replace("_", "-")
    if key in seen:
        return
    seen.add(key)
    for text in metadata.requires(name) or ():
        requirement = Requirement(text)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            _requirements(requirement.name, seen)


@contextlib.contextmanager
def nobodys_python() -> Iterator[tuple[list[str], dict[str, str]]]:
    """A Python that ``nobody`` can run with this package importable, wherever the
    checkout is (a clean clone under ``mktemp -d`` is 0700: nobody can read its venv):
    this interpreter, with a world-readable copy of the package and of the libraries it
    needs at run time on ``PYTHONPATH``. Yields (argv prefix, environment additions);
    the copy is removed afterwards."""
    import sys
    from importlib import metadata

    import claude_code_oauth

    copy = Path(tempfile.mkdtemp(prefix="cco-nobody-python-", dir="/tmp"))
    try:
        copy.chmod(0o755)
        shutil.copytree(Path(claude_code_oauth.__file__).parent, copy / "claude_code_oauth")
        needed: set[str] = set()
        for name in _RUNTIME:
            _requirements(name, needed)
        for name in sorted(needed):
            dist = metadata.distribution(name)
            for file in dist.files or ():
                source = Path(str(dist.locate_file(file)))
                if ".." in file.parts or not source.is_file():
                    continue
                target = copy / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        for root, dirs, files in os.walk(copy):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
            for name in files:
                os.chmod(os.path.join(root, name), 0o644)
        yield [sys.executable, "-s"], {"PYTHONPATH": str(copy)}
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def full_at_the_space_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``posix_fallocate`` fails with ENOSPC, as on a full disk: the in-process
    stand-in for :func:`fill` where a test needs no mount (the unit tier)."""

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
