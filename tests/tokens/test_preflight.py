"""The check a login runs before the browser opens: what would make the save fail later
is one line now, and the check leaves nothing behind."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import StorageError, TokenFileError
from claude_code_oauth.tokens.preflight import preflight
from claude_code_oauth.tokens.token_lock import token_lock
from helpers.machine_faults import full_at_the_space_claim


def _settings(data_dir: Path) -> Settings:
    return Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)})


def test_a_missing_data_directory_is_created_private_and_left_with_only_the_lock(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "new-data"
    settings = _settings(data_dir)
    preflight(settings)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert os.listdir(data_dir) == [Path(settings.token_path).name + ".lock"]


def test_the_lock_is_free_again_after_the_check(data_dir: Path) -> None:
    settings = _settings(data_dir)
    preflight(settings)
    lock = token_lock(settings, timeout=0)
    lock.acquire()  # raises filelock's Timeout if the check kept it
    lock.release()


def test_a_symlink_at_the_token_path_is_refused(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir)
    Path(settings.token_path).symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(TokenFileError) as caught:
        preflight(settings)
    assert caught.value.reason == f"Refusing to use {settings.token_path}: it is a symbolic link."


def test_a_data_directory_others_may_write_is_refused(data_dir: Path) -> None:
    data_dir.chmod(0o777)
    with pytest.raises(TokenFileError) as caught:
        preflight(_settings(data_dir))
    assert caught.value.hint == f"Run: chmod go-w {data_dir}"


def test_a_save_that_could_not_claim_its_space_is_refused_before_the_login(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_at_the_space_claim(monkeypatch)
    with pytest.raises(StorageError) as caught:
        preflight(_settings(data_dir))
    assert caught.value.reason == f"Cannot write in {data_dir}: No space left on device."
    assert os.listdir(data_dir) == []


def test_an_existing_token_file_passes(data_dir: Path) -> None:
    settings = _settings(data_dir)
    Path(settings.token_path).write_text("{}")
    Path(settings.token_path).chmod(0o600)
    preflight(settings)
    assert Path(settings.token_path).read_text() == "{}"


def test_a_lock_held_elsewhere_passes_at_once_whatever_the_lock_timeout(data_dir: Path) -> None:
    settings = Settings(
        environ={
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_LOCK_TIMEOUT": "300",
        }
    )
    holder = token_lock(settings)
    holder.acquire()
    try:
        preflight(settings)  # held: the lock works (waiting 300 s would hit the test timeout)
    finally:
        holder.release()
