"""A refresh whose save fails after the server rotated: the new tokens are used, kept
beside the file, and adopted — under the lock, before any refresh — by the next
provider (another process, or this one later), even while their writer still runs;
and a refresh is never even tried where its result could not be kept."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import StorageError
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import digest, seed, stored

_real_replace = os.replace


def _adopt_if_free(path: str) -> None:
    """What :func:`token_store.sweep` hands the recovery sweep (no keyring involved)."""
    from claude_code_oauth.tokens.keyring_item import StoreOpener

    token_store.adopt_if_free(path, StoreOpener())


def _temps(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def _break_renames_over(token_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renames over the token file fail as in a directory turned read-only mid-call."""

    def failing(src: str, dst: str) -> None:
        if os.fspath(dst) == str(token_path):
            raise PermissionError(errno.EACCES, "Permission denied")
        _real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)


def test_a_rotation_that_could_not_be_saved_is_used_kept_and_adopted(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    _break_renames_over(token_path, monkeypatch)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    (warning,) = warnings
    assert "Permission denied" in warning and "kept in" in warning
    assert emulator.grants["refresh_token"] == 1
    assert digest(token) != digest(before.access_token)
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    assert len(_temps(data_dir)) == 1

    # Another provider (its writer, this process, still runs) takes the kept tokens
    # instead of presenting the spent refresh token again.
    again = TokenProvider(settings).get_access_token()
    assert digest(again) == digest(token)
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0

    monkeypatch.undo()
    third = TokenProvider(settings).get_access_token()
    assert digest(third) == digest(token)
    assert digest(stored(token_path).access_token) == digest(token)
    assert _temps(data_dir) == []
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0


def test_no_refresh_is_tried_where_its_tokens_could_not_be_kept(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(emulator, token_path, expires_in=-10)

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    with pytest.raises(StorageError, match="Not refreshing the Claude login") as caught:
        TokenProvider(settings).get_access_token()
    assert "No space left on device" in str(caught.value)
    assert emulator.grants["refresh_token"] == 0


def test_a_token_still_valid_is_handed_out_when_no_refresh_can_be_kept(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Inside the refresh margin but not expired: the current token, with a warning.
    record = seed(emulator, token_path, expires_in=30, lifetime=3600)

    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert digest(token) == digest(record.access_token)
    assert any("No space left on device" in w for w in warnings)
    assert emulator.grants["refresh_token"] == 0


def test_a_record_too_large_for_the_file_is_saved_trimmed(
    emulator: ClaudeEmulator, token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    record.organization = {"uuid": "org-1", "name": "Org", "notes": "x" * (2 << 20)}
    token_store.save(str(token_path), record)
    assert token_path.stat().st_size < token_store.MAX_FILE_BYTES
    loaded = stored(token_path)
    assert loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert digest(loaded.refresh_token) == digest(record.refresh_token)


# -- what a killed writer left, swept in this process ---------------------------------


def _left_by_a_dead_writer(token_path: Path, content: bytes, suffix: str = "00ff00ff") -> Path:
    """A temporary file named after a writer of this machine that no longer runs."""
    from claude_code_oauth.storage.temp_files import identity

    host = identity()[0]
    dead_pid = 4_194_304 + 7  # above any PID Linux hands out
    path = token_path.parent / f".{token_path.name}.{host}-{dead_pid}-1.{suffix}.tmp"
    path.write_bytes(content)
    return path


def _kept_copy(record, replaces) -> bytes:
    from claude_code_oauth.tokens.stored_form import encode, identity

    return encode(record, identity(replaces))


def _rotated(emulator: ClaudeEmulator, before, seconds_later: float = 60):
    from claude_code_oauth.tokens.record import TokenRecord

    return TokenRecord.from_token_response(
        emulator.issue_login(), now=before.obtained_at + seconds_later, previous=before
    )


def test_sweep_adopts_the_newest_kept_copy_and_removes_the_rest(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    recovery.sweep(str(data_dir), _adopt_if_free)  # nothing there: nothing happens
    before = seed(emulator, token_path, expires_in=3600)
    newer = _rotated(emulator, before, 120)
    older = _rotated(emulator, before, 60)
    _left_by_a_dead_writer(token_path, _kept_copy(older, before), "0000000a")
    _left_by_a_dead_writer(token_path, _kept_copy(newer, before), "0000000b")
    half = _left_by_a_dead_writer(token_path, bytes(4096), "0000000c")  # a claim, unwritten
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert digest(stored(token_path).refresh_token) == digest(newer.refresh_token)
    assert _temps(data_dir) == [] and not half.exists()


def test_a_kept_copy_of_another_login_or_an_older_one_is_removed_not_adopted(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    other = seed(emulator, data_dir / "elsewhere.json", expires_in=3600)
    _left_by_a_dead_writer(token_path, _kept_copy(_rotated(emulator, other), other), "0000000a")
    stale = _rotated(emulator, before, -60)  # older than the file's login
    _left_by_a_dead_writer(token_path, _kept_copy(stale, before), "0000000b")
    _left_by_a_dead_writer(token_path, b'{"no": "replaces"}', "0000000c")
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    assert _temps(data_dir) == []


def test_files_of_a_running_or_an_unknown_writer_are_left_until_stale(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    import time

    from claude_code_oauth.storage.temp_files import temp_path
    from claude_code_oauth.tokens import recovery

    seed(emulator, token_path, expires_in=3600)
    mine = Path(temp_path(str(token_path)))  # this process: running
    mine.write_bytes(bytes(16))
    foreign = data_dir / f".{token_path.name}.0123abcd4026531836-12-34.00ff00ff.tmp"
    foreign.write_bytes(bytes(16))
    old_naming = data_dir / f".{token_path.name}.0123456789ab.tmp"
    old_naming.write_bytes(bytes(16))
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert mine.exists() and foreign.exists() and old_naming.exists()
    minute_ago = time.time() - 61
    os.utime(old_naming, (minute_ago, minute_ago))
    os.utime(foreign, (minute_ago, minute_ago))  # an unknown writer gets an hour
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert not old_naming.exists() and foreign.exists() and mine.exists()
    hour_ago = time.time() - 3601
    os.utime(foreign, (hour_ago, hour_ago))
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert not foreign.exists() and mine.exists()


def test_sweep_leaves_a_kept_copy_while_the_token_lock_is_held(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.storage.file_lock import file_lock
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    rotated = _rotated(emulator, before)
    kept = _left_by_a_dead_writer(token_path, _kept_copy(rotated, before))
    holder = file_lock(str(token_path) + ".lock", 5)
    holder.acquire()
    try:
        recovery.sweep(str(data_dir), _adopt_if_free)
    finally:
        holder.release()
    assert kept.exists()  # the lock holder (a refresh) adopts it, under the lock
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    token_path.write_bytes(b"{damaged")
    recovery.sweep(str(data_dir), _adopt_if_free)  # a damaged token file: nothing adopted, no error
    assert kept.exists()
