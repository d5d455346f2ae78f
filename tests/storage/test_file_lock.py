"""The file lock: a timeout and an unusable lock file are one line each, never a hang or a
bare OSError."""

from __future__ import annotations

import errno
import os
import stat
import threading
from pathlib import Path

import pytest
from filelock import Timeout

from claude_code_oauth.errors import LockTimeout, StorageError
from claude_code_oauth.storage.file_lock import acquire, file_lock, held, lock_unusable


def test_a_lock_held_elsewhere_is_a_timeout_with_what_and_where(tmp_path: Path) -> None:
    path = str(tmp_path / "claude_code_oauth.json.lock")
    holder = file_lock(path, 5)
    holder.acquire()
    try:
        with pytest.raises(LockTimeout) as caught, held(file_lock(path, 0.2), "the token file"):
            pass
        assert caught.value.reason == (
            "Another claude-code-oauth process has held the lock on the token file for more "
            f"than 0.2 s ({path})."
        )
        assert caught.value.hint == (
            "Retry in a moment; if it persists, look for a hung claude-code-oauth or Code "
            "Puppy process."
        )
        with pytest.raises(Timeout):
            acquire(file_lock(path, -1), 0.2)  # its own timeout, not the lock's (for ever)
    finally:
        holder.release()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_lock_file_that_cannot_be_created_is_a_storage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "claude_code_oauth.json.lock"
    real_open = os.open

    def read_only(name: str, flags: int, *args: object, **kwargs: object) -> int:
        if name == str(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", read_only)
    for attempt in (
        lambda: acquire(file_lock(str(path), 1), 1),
        lambda: held(file_lock(str(path), 1), "the token file").__enter__(),
    ):
        with pytest.raises(StorageError) as caught:
            attempt()
        assert caught.value.reason == f"Cannot use the lock file {path}: Read-only file system."
        assert caught.value.hint is not None
        assert caught.value.hint.startswith("Remount that filesystem read-write")
    error = lock_unusable(str(path), OSError("no details"))
    assert error.reason == f"Cannot use the lock file {path}: no details."
    assert error.hint == f"Check {tmp_path} and the filesystem it is on."


class _RecordingLock:
    """Records how ``acquire`` asked filelock to wait (in addition to the real locks above)."""

    lock_file = "recorded.lock"

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def acquire(self, **kwargs: object) -> None:
        self.calls.append(kwargs)


def test_a_waiter_polls_the_lock_every_50_ms_unless_told_otherwise() -> None:
    # A process waiting for the token file gets it within 50 ms of its release, not a
    # second later: filelock's own default poll is 0.05 s too, so it must be passed on.
    lock = _RecordingLock()
    acquire(lock, 3)  # type: ignore[arg-type]  # a recorder standing in for a filelock
    acquire(lock, 1, poll_interval=0.01)  # type: ignore[arg-type]  # the same recorder
    assert lock.calls == [
        {"timeout": 3, "poll_interval": 0.05},
        {"timeout": 1, "poll_interval": 0.01},
    ]


def test_a_lock_taken_on_one_thread_is_released_from_another(tmp_path: Path) -> None:
    # Not thread-local: a lock taken on a worker thread is held for every thread and is
    # released by whichever thread finishes the work, freeing the file for the next process.
    path = str(tmp_path / "claude_code_oauth.json.lock")
    lock = file_lock(path, 0)
    worker = threading.Thread(target=lock.acquire)
    worker.start()
    worker.join()
    assert lock.is_locked
    lock.release()
    assert not lock.is_locked
    after = file_lock(path, 0)
    after.acquire()  # a Timeout here: the worker's hold was never released
    after.release()
