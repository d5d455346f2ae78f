"""The cross-process lock beside the token file: where it is, its mode, its deadline, and
the one line a timeout is."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import LockTimeout
from claude_code_oauth.tokens.token_lock import held, lock_path, lock_timeout_error, token_lock


def _settings(data_dir: Path, **env: str) -> Settings:
    return Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir), **env})


def test_the_lock_is_beside_the_token_file_in_a_private_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "new-data"
    settings = _settings(data_dir)
    lock = token_lock(settings)
    assert lock.lock_file == lock_path(settings.token_path) == settings.token_path + ".lock"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    with held(lock):
        assert stat.S_IMODE(Path(lock.lock_file).stat().st_mode) == 0o600


def test_the_lock_waits_the_configured_time_unless_told_otherwise(data_dir: Path) -> None:
    settings = _settings(data_dir, CLAUDE_CODE_OAUTH_LOCK_TIMEOUT="2.5")
    assert lock_timeout_error(token_lock(settings)).reason == (
        "Another claude-code-oauth process has held the lock on the token file for more "
        f"than 2.5 s ({settings.token_path}.lock)."
    )
    assert "more than 0.25 s" in lock_timeout_error(token_lock(settings, timeout=0.25)).reason


def test_a_lock_held_elsewhere_is_one_line_naming_what_it_guards(data_dir: Path) -> None:
    settings = _settings(data_dir)
    holder = token_lock(settings)
    holder.acquire()
    try:
        with pytest.raises(LockTimeout) as caught, held(token_lock(settings, timeout=0)):
            pass
        assert caught.value.reason == (
            "Another claude-code-oauth process has held the lock on the token file for "
            f"more than 0 s ({settings.token_path}.lock)."
        )
        with pytest.raises(LockTimeout) as caught, held(token_lock(settings, 0), "the usage"):
            pass
        assert "held the lock on the usage for more than 0 s" in caught.value.reason
    finally:
        holder.release()
