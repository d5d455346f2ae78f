"""The token store with its secrets in a keyring, in the unit tier: the in-memory Secret
Service of :mod:`helpers.memory_secret_service` behind the real store code (the same paths
run against a real gnome-keyring in ``test_store_keyring.py`` and
``test_recovery_keyring.py``). A delete removes the item; new tokens a refused keyring
could not take are kept whole and go into it once it answers, by the next refresh or
by the sweep every command starts with, through the profile's own keyring settings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import RecordKept, SecretStoreLocked
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import StoreOpener
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.recovery import KEEP_FOR
from claude_code_oauth.tokens.store import KeyringTarget
from claude_code_oauth.tokens.stored_form import identity
from helpers import memory_secret_service
from helpers.memory_secret_service import MemorySecretService
from helpers.tokens import assert_no_secret_in, assert_same_secret, login_record

ITEM = "work"
LOCKED = SecretStoreLocked("The memory keyring is locked.", hint="Unlock it.")


def _login(n: int) -> TokenRecord:
    return login_record(n, "memory-keyring")


@pytest.fixture
def keyring(monkeypatch: pytest.MonkeyPatch) -> MemorySecretService:
    return memory_secret_service.install(monkeypatch)


@pytest.fixture
def opener() -> StoreOpener:
    return StoreOpener(timeout=30.0, environ=memory_secret_service.ENV)


def _signed_in(path: Path, opener: StoreOpener) -> TokenRecord:
    token_store.save(
        str(path), _login(1), secrets=KeyringTarget("secret-service", ITEM), stores=opener
    )
    current = token_store.load(str(path), stores=opener)
    assert current is not None
    return current


def _temps(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def _refresh_the_keyring_refuses(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener, current: TokenRecord
) -> tuple[TokenRecord, RecordKept]:
    """A refresh of ``current`` whose save the (now locked) keyring refuses: the rotated
    sign-in, and the error that says where it was kept."""
    rotated = _login(2)
    keyring.failure = LOCKED
    with token_store.reserve(str(token_path)) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(
            str(token_path),
            rotated,
            reservation=reservation,
            stores=opener,
            replaces=identity(current),
        )
    return rotated, caught.value


def _refused_then_left_by_a_dead_writer(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> tuple[TokenRecord, TokenRecord]:
    """Sign in, then a refresh whose save the keyring refused, in a process since gone:
    its kept copy is named for a writer that no longer runs. The sign-in in the file,
    and the rotated one kept."""
    from claude_code_oauth.storage.temp_files import identity as writer_identity

    current = _signed_in(token_path, opener)
    rotated, refused = _refresh_the_keyring_refuses(token_path, keyring, opener, current)
    kept = refused.kept
    assert kept is not None
    dead_pid = 4_194_304 + 7  # above any PID Linux hands out: its writer is gone
    name = f".{token_path.name}.{writer_identity()[0]}-{dead_pid}-1.0000000a.tmp"
    os.rename(kept, token_path.parent / name)
    return current, rotated


def test_delete_removes_the_item_through_the_given_keyring_then_the_file(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    _signed_in(token_path, opener)
    assert list(keyring.items) == [ITEM]
    assert token_store.delete(str(token_path), stores=opener) is True
    assert keyring.items == {} and not token_path.exists()


def test_a_keyring_that_fails_stops_delete_and_keeps_the_file(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    _signed_in(token_path, opener)
    before = token_path.read_bytes()
    keyring.failure = LOCKED
    with pytest.raises(SecretStoreLocked):
        token_store.delete(str(token_path), stores=opener)
    assert token_path.read_bytes() == before and list(keyring.items) == [ITEM]


def test_new_tokens_a_silent_keyring_cannot_take_are_kept_whole_for_it(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    # The keyring stops answering between the refresh and its save (the save reads the
    # sign-in it replaces first): the new tokens, their predecessor spent, are kept.
    current = _signed_in(token_path, opener)
    before = token_path.read_bytes()
    rotated, refused = _refresh_the_keyring_refuses(token_path, keyring, opener, current)
    kept = refused.kept
    assert kept is not None and refused.record is rotated
    assert refused.reason == (
        "Could not save the new tokens to the keyring (The memory keyring is locked); the "
        f"login is not lost: they are kept in {kept} (secrets included), and the next "
        "claude-code-oauth run moves them into the keyring (or, while it still refuses, "
        "uses them from there)."
    )
    assert refused.hint == "Unlock it."
    assert token_path.read_bytes() == before
    form = json.loads(Path(kept).read_bytes())
    assert form[KEEP_FOR] == {"store": "secret-service", "item": ITEM, "generation": 2}
    assert form["replaces"] == identity(current)
    assert_same_secret(
        (form["access_token"], form["refresh_token"]),
        (rotated.access_token, rotated.refresh_token),
        "the kept tokens",
    )

    # The next refresh, under the lock, once the keyring answers: into the item.
    keyring.failure = None
    adopted = token_store.adopt_kept(str(token_path), current, stores=opener)
    assert adopted is not None
    assert_same_secret(adopted.refresh_token, rotated.refresh_token, "the adopted token")
    assert _temps(data_dir) == []
    loaded = token_store.load(str(token_path), stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, rotated.refresh_token, "the stored token")
    assert_no_secret_in(data_dir, rotated)


@pytest.mark.parametrize("spent", [False, True])
def test_without_a_reservation_or_what_it_replaces_a_silent_keyring_is_the_error(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener, spent: bool
) -> None:
    # Nothing spent for (no reservation), or no known predecessor: the error, nothing kept.
    _signed_in(token_path, opener)
    before = token_path.read_bytes()
    keyring.failure = LOCKED
    with token_store.reserve(str(token_path)) as reservation, pytest.raises(SecretStoreLocked):
        token_store.save(
            str(token_path),
            _login(2),
            reservation=reservation if spent else None,
            stores=opener,
            replaces=None if spent else identity(_login(1)),
        )
    assert token_path.read_bytes() == before
    assert _temps(token_path.parent) == []


def test_the_sweep_moves_refused_tokens_into_the_keyring_the_settings_reach(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    _, rotated = _refused_then_left_by_a_dead_writer(token_path, keyring, opener)
    assert len(_temps(data_dir)) == 1
    keyring.failure = None
    keyring.opened.clear()
    # The next command starts: its settings (not the process's environment) reach the
    # keyring, with the profile's keyring_timeout.
    settings = Settings(
        environ={
            **memory_secret_service.ENV,
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_KEYRING_TIMEOUT": "7",
        }
    )
    token_store.sweep(settings)
    assert keyring.opened == [(7.0, True)]  # one store, opened once, for the whole sweep
    assert _temps(data_dir) == []
    loaded = token_store.load(str(token_path), stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, rotated.refresh_token, "the stored token")
    assert_no_secret_in(data_dir, rotated)


def test_the_sweep_leaves_kept_tokens_while_the_keyring_still_refuses(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    _refused_then_left_by_a_dead_writer(token_path, keyring, opener)
    kept = _temps(data_dir)
    assert len(kept) == 1
    settings = Settings(
        environ={**memory_secret_service.ENV, "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)}
    )
    token_store.sweep(settings)  # never raises: the kept copy waits for a later run
    assert _temps(data_dir) == kept
    assert os.path.exists(token_path)


def test_a_first_sign_in_the_keyring_refuses_after_the_code_was_spent_is_kept(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    login = _login(1)
    keyring.failure = LOCKED
    target = KeyringTarget("secret-service", ITEM)
    with token_store.reserve(str(token_path)) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(
            str(token_path), login, secrets=target, reservation=reservation, stores=opener
        )
    kept = caught.value.kept
    assert kept is not None and caught.value.record is login
    assert not token_path.exists()
    form = json.loads(Path(kept).read_bytes())
    assert form[KEEP_FOR] == {"store": "secret-service", "item": ITEM, "generation": 1}
    assert form["replaces"] == identity(None)
    keyring.failure = None
    adopted = token_store.adopt_kept(str(token_path), None, stores=opener)
    assert adopted is not None
    assert_same_secret(adopted.refresh_token, login.refresh_token, "the adopted token")
    assert list(keyring.items) == [ITEM] and _temps(data_dir) == []
    assert_no_secret_in(data_dir, login)


def test_kept_tokens_are_used_from_where_they_are_while_the_keyring_still_refuses(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    current, rotated = _refused_then_left_by_a_dead_writer(token_path, keyring, opener)
    kept = _temps(data_dir)
    used = token_store.adopt_kept(str(token_path), current, stores=opener)
    assert used is not None
    assert_same_secret(used.refresh_token, rotated.refresh_token, "the token in use")
    assert _temps(data_dir) == kept  # still kept, for a later run


def test_a_refresh_over_a_missing_item_puts_the_new_tokens_in_the_item_not_the_file(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    _signed_in(token_path, opener)
    keyring.items.clear()  # the item went missing (removed by hand, another tool)
    fresh = _login(2)
    assert token_store.save(str(token_path), fresh, stores=opener) is None
    assert json.loads(token_path.read_bytes())["secrets"]["generation"] == 2
    assert list(keyring.items) == [ITEM]
    assert_no_secret_in(data_dir, fresh)
    loaded = token_store.load(str(token_path), stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, fresh.refresh_token, "the stored token")


def test_a_file_too_large_is_trimmed_and_still_holds_no_secret(
    token_path: Path, data_dir: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    record = _login(1)
    record.organization = {"uuid": "org-1", "name": "Org", "notes": "n" * (1 << 20)}
    target = KeyringTarget("secret-service", ITEM)
    token_store.save(str(token_path), record, secrets=target, stores=opener)
    assert token_path.stat().st_size < 4096
    assert_no_secret_in(data_dir, record)
    loaded = token_store.load(str(token_path), stores=opener)
    assert loaded is not None and loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert_same_secret(loaded.refresh_token, record.refresh_token, "the stored token")


def test_a_file_that_could_not_follow_its_item_is_put_in_place_by_the_next_run(
    token_path: Path,
    data_dir: Path,
    keyring: MemorySecretService,
    opener: StoreOpener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_replace = os.replace

    def no_rename_over_the_file(src: str, dst: str) -> None:
        if os.fspath(dst) == str(token_path):
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", no_rename_over_the_file)
    login = _login(1)
    target = KeyringTarget("secret-service", ITEM)
    with token_store.reserve(str(token_path)) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(
            str(token_path), login, secrets=target, reservation=reservation, stores=opener
        )
    kept = caught.value.kept
    assert kept is not None and not token_path.exists()
    assert caught.value.reason == (
        f"The new tokens are saved in the keyring item of profile {ITEM}, but {token_path} "
        "could not be written (Cannot write "
        f"{token_path}: Permission denied); the file's new form (no secret in it) is kept in "
        f"{kept}, and the next claude-code-oauth run that can write there takes it over."
    )
    # Still not writable: the sign-in is read from the kept form and its item.
    used = token_store.adopt_kept(str(token_path), None, stores=opener)
    assert used is not None
    assert_same_secret(used.refresh_token, login.refresh_token, "the token in use")
    assert os.path.exists(kept)
    monkeypatch.undo()
    adopted = token_store.adopt_kept(str(token_path), None, stores=opener)
    assert adopted is not None
    assert_same_secret(adopted.refresh_token, login.refresh_token, "the adopted token")
    assert token_path.exists() and not os.path.exists(kept)
    assert_no_secret_in(data_dir, login)


def test_a_record_with_a_number_that_is_not_finite_is_written_nowhere(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    from claude_code_oauth.errors import TokenFileError

    record = _login(1)
    record.expires_at = float("inf")
    target = KeyringTarget("secret-service", ITEM)
    with pytest.raises(TokenFileError, match="not finite"):
        token_store.save(str(token_path), record, secrets=target, stores=opener)
    assert keyring.items == {} and not token_path.exists()


def test_a_missing_item_is_named_with_the_file_that_names_it(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    from claude_code_oauth.errors import SecretStoreDamaged

    _signed_in(token_path, opener)
    keyring.items.clear()
    with pytest.raises(SecretStoreDamaged) as caught:
        token_store.load(str(token_path), stores=opener)
    assert caught.value.reason == (
        f"The keyring item of profile {ITEM} that {token_path} names is missing from "
        "the memory Secret Service."
    )
    # The file holds no secret: the advice is a new sign-in, which replaces the file
    # (promising no .corrupt copy, and leaving none).
    assert caught.value.hint == (
        "Run `claude-code-oauth login` (or /claude-code-auth) to sign in again."
    )
    target = KeyringTarget("secret-service", ITEM)
    token_store.save(str(token_path), _login(2), secrets=target, stores=opener)
    assert [p.name for p in token_path.parent.iterdir() if ".corrupt-" in p.name] == []
    assert token_store.load(str(token_path), stores=opener) is not None


def test_only_a_sign_in_that_allows_it_may_prompt_to_unlock_the_keyring(
    token_path: Path, keyring: MemorySecretService, opener: StoreOpener
) -> None:
    target = KeyringTarget("secret-service", ITEM, allow_prompt=True)
    token_store.save(str(token_path), _login(1), secrets=target, stores=opener)
    token_store.save(str(token_path), _login(2), stores=opener)  # a refresh: never asks
    token_store.delete(str(token_path), stores=opener)  # signing out may ask
    assert keyring.prompts == [True, False, True]
