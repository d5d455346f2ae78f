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
