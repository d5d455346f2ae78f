"""A save into the space claimed before new tokens were asked for, and what is said when
even that fails: the new sign-in is never lost, and the message says where it is — kept
beside the file, only in this process, or (with the secrets in the keyring) in its item,
the file behind."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.errors import RecordKept, StorageError
from claude_code_oauth.storage import reservation as reservation_module
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.reserved_save import RESERVE_BYTES, reserve
from helpers.machine_faults import full_at_the_space_claim
from helpers.memory_keyring import STORE, MemoryKeyring, memory_keyring
from helpers.tokens import assert_same_secret, login_record

_real_replace = os.replace
_real_write_all = reservation_module.write_all


def _login(n: int = 1, notes: str = "") -> TokenRecord:
    organization = {"uuid": "org-1", "name": "Org", **({"notes": notes} if notes else {})}
    return login_record(n, "reserved-save", organization=organization)


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


def _no_rename_over(token_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renames over the token file fail, as in a directory turned read-only mid-call."""

    def failing(src: str, dst: str) -> None:
        if os.fspath(dst) == str(token_path):
            raise PermissionError(errno.EACCES, "Permission denied")
        _real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)


def _disk_full(monkeypatch: pytest.MonkeyPatch, *, room: int = 0) -> None:
    """The disk is full: a write into the claimed space of more than ``room`` bytes fails."""

    def write_all(fd: int, data: bytes, offset: int) -> None:
        if len(data) > room:
            raise OSError(errno.ENOSPC, "No space left on device")
        _real_write_all(fd, data, offset)

    monkeypatch.setattr(reservation_module, "write_all", write_all)


def _save(path: str, record: TokenRecord, **kwargs: object) -> RecordKept:
    with reserve(path) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(path, record, reservation=reservation, **kwargs)
    assert caught.value.record is record
    return caught.value


def test_new_tokens_the_file_could_not_take_are_kept_beside_it(
    token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    _no_rename_over(token_path, monkeypatch)
    kept = _save(path, _login())
    assert kept.kept is not None and Path(kept.kept).parent == data_dir
    assert kept.reason == (
        f"Could not save the new tokens to {path} (Cannot write {path}: Permission denied); "
        f"the login is not lost: they are kept in {kept.kept}, and the next "
        "claude-code-oauth run that can write there takes them over."
    )
    assert kept.hint == f"Make {data_dir} writable for you (chmod u+rwx {data_dir})."


def test_new_tokens_that_cannot_even_be_kept_are_said_to_live_in_this_process_only(
    token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    _disk_full(monkeypatch)
    kept = _save(path, _login())
    assert kept.kept is None
    assert kept.reason == (
        f"Could not save the new tokens to {path} (Cannot write {path}: No space left on "
        "device); the login is not lost: only this process holds them, until it ends."
    )
    assert kept.hint == f"Free some space on the filesystem of {data_dir}."
    assert not token_path.exists()


def test_a_record_larger_than_the_claimed_space_on_a_full_disk_is_saved_trimmed(
    token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    record = _login(notes="x" * (2 * RESERVE_BYTES))
    _disk_full(monkeypatch, room=RESERVE_BYTES)
    with reserve(path) as reservation:
        token_store.save(path, record, reservation=reservation)
    monkeypatch.undo()
    loaded = token_store.load(path)
    assert loaded is not None and loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert_same_secret(loaded.refresh_token, record.refresh_token, "the refresh token")


def test_a_trimmed_save_still_keeps_the_secrets_in_the_keyring(
    memory: MemoryKeyring, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    record = _login(notes="x" * (2 * RESERVE_BYTES))
    _disk_full(monkeypatch, room=RESERVE_BYTES)
    with reserve(path) as reservation:
        token_store.save(
            path, record, secrets=KeyringTarget(STORE, "work"), reservation=reservation
        )
    monkeypatch.undo()
    text = token_path.read_text()
    assert record.refresh_token not in text and record.access_token not in text
    assert json.loads(text)["secrets"] == {"store": STORE, "item": "work", "generation": 1}
    loaded = token_store.load(path)
    assert loaded is not None and loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert_same_secret(loaded.refresh_token, record.refresh_token, "the refresh token")


def test_a_file_form_that_could_not_follow_its_item_is_kept_and_said_so(
    memory: MemoryKeyring, token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    _no_rename_over(token_path, monkeypatch)
    kept = _save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    assert kept.kept is not None
    assert kept.reason == (
        f"The new tokens are saved in the keyring item of profile work, but {path} could "
        f"not be written (Cannot write {path}: Permission denied); the file's new form (no "
        f"secret in it) is kept in {kept.kept}, and the next claude-code-oauth run that can "
        "write there takes it over."
    )
    assert kept.hint == f"Make {data_dir} writable for you (chmod u+rwx {data_dir})."


def test_a_refresh_whose_file_could_not_follow_its_item_says_the_item_is_read_first(
    memory: MemoryKeyring, token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    token_store.save(path, _login(1), secrets=KeyringTarget(STORE, "work"))
    newer = _login(2)
    _disk_full(monkeypatch)
    kept = _save(path, newer)
    assert kept.kept is None
    assert kept.reason == (
        f"The new tokens are saved in the keyring item of profile work, but {path} could "
        f"not be written (Cannot write {path}: No space left on device); the keyring item "
        "is the newer and is read first; the next save updates the file."
    )
    assert kept.hint == f"Free some space on the filesystem of {data_dir}."
    monkeypatch.undo()
    loaded = token_store.load(path)  # the item is the newer: it wins
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, newer.refresh_token, "the refresh token")


def test_a_first_sign_in_without_its_file_says_it_cannot_be_found_again(
    memory: MemoryKeyring, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(token_path)
    _disk_full(monkeypatch)
    kept = _save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    assert kept.kept is None
    assert kept.reason.endswith(
        f"(Cannot write {path}: No space left on device); without the file they cannot be "
        "found again once this process ends."
    )


def test_reserve_names_the_directory_and_the_cause_before_anything_is_spent(
    token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full_at_the_space_claim(monkeypatch)
    with pytest.raises(StorageError) as caught:
        reserve(str(token_path))
    assert caught.value.reason == f"Cannot write in {data_dir}: No space left on device."
    assert caught.value.hint == f"Free some space on the filesystem of {data_dir}."
    assert os.listdir(data_dir) == []


def test_reserve_creates_the_private_data_directory(tmp_path: Path) -> None:
    directory = tmp_path / "new-data"
    with reserve(str(directory / "claude_code_oauth.json")) as reservation:
        assert reservation.size == RESERVE_BYTES
        assert os.path.getsize(reservation.path) == RESERVE_BYTES
    assert (directory.stat().st_mode & 0o777) == 0o700


def test_a_large_record_the_file_could_not_take_is_kept_whole(
    token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept beside the file, nothing is tried again: the trimmed retry is for a full disk."""
    path = str(token_path)
    record = _login(notes="x" * (2 * RESERVE_BYTES))
    _no_rename_over(token_path, monkeypatch)
    kept = _save(path, record)
    assert kept.kept is not None
    assert json.loads(Path(kept.kept).read_bytes())["organization"]["notes"] == "x" * (
        2 * RESERVE_BYTES
    )


def test_a_trimmed_save_the_file_could_not_take_is_kept_for_the_next_run(
    token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk, then no rename either: the trimmed tokens are kept, and adoptable."""
    path = str(token_path)
    record = _login(notes="x" * (2 * RESERVE_BYTES))
    _disk_full(monkeypatch, room=RESERVE_BYTES)
    _no_rename_over(token_path, monkeypatch)
    kept = _save(path, record)
    assert kept.kept is not None
    monkeypatch.undo()
    adopted = token_store.adopt_kept(path, None)
    assert adopted is not None
    assert_same_secret(adopted.refresh_token, record.refresh_token, "the refresh token")
    assert not Path(kept.kept).exists()
    loaded = token_store.load(path)
    assert loaded is not None and loaded.organization == {"uuid": "org-1", "name": "Org"}


def test_reserve_in_a_directory_others_may_write_is_a_storage_error(data_dir: Path) -> None:
    """What a refresh catches to say it is not refreshing: a storage error, like a full disk."""
    data_dir.chmod(0o777)
    with pytest.raises(StorageError) as caught:
        reserve(str(data_dir / "claude_code_oauth.json"))
    assert caught.value.reason == (
        f"The directory {data_dir} is writable by other users, so files in it cannot be kept safe."
    )
