"""The token store with its secrets in a real gnome-keyring (private bus): a save writes
the item, then a file with no secret in it; a load merges them; a keyring that fails
stops the save before the file is touched (never a silent plaintext fall-back)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.errors import SecretStoreDamaged, SecretStoreError, SecretStoreLocked
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.keyring_item import Location, StoreOpener
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.store import IN_FILE, KeyringTarget
from claude_code_oauth.tokens.stored_form import item_bytes
from helpers.tokens import assert_same_secret, login_record

CALM_TIMEOUT = 30.0


def _login(n: int = 1) -> TokenRecord:
    return login_record(n, "store-keyring", obtained_at=2_000_000_000.0)


@pytest.fixture
def opener(keyring_env: dict[str, str]) -> StoreOpener:
    return StoreOpener(timeout=CALM_TIMEOUT, environ=keyring_env)


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "claude_code_oauth.json")


def _file_holds_no_secret(path: str, *records: TokenRecord | ApiKeyRecord) -> None:
    text = Path(path).read_text()
    for record in records:
        secrets = (
            [record.api_key]
            if isinstance(record, ApiKeyRecord)
            else [record.access_token, record.refresh_token]
        )
        assert not any(s and s in text for s in secrets), "a secret is in the token file"


def _generations(path: str, secret_service: SecretServiceStore, profile: str) -> tuple[int, int]:
    in_file = json.loads(Path(path).read_text())["secrets"]["generation"]
    raw = secret_service.get(profile)
    assert raw is not None, "the keyring item is missing"
    return in_file, json.loads(raw)["generation"]


def test_a_sign_in_saved_to_the_keyring_leaves_no_secret_in_the_file(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    record = _login()
    target = KeyringTarget("secret-service", profile)
    assert token_store.save(path, record, secrets=target, stores=opener) is None
    _file_holds_no_secret(path, record)
    assert _generations(path, secret_service, profile) == (1, 1)
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.to_json(), record.to_json(), "the loaded record")


def test_a_console_key_goes_to_the_keyring_too(
    path: str, profile: str, opener: StoreOpener
) -> None:
    record = ApiKeyRecord(
        api_key="sk-ant-api03-" + "store-keyring-key-" + "k" * 40, obtained_at=2_000_000_000.0
    )
    token_store.save(path, record, secrets=KeyringTarget("secret-service", profile), stores=opener)
    _file_holds_no_secret(path, record)
    loaded = token_store.load_sign_in(path, stores=opener)
    assert isinstance(loaded, ApiKeyRecord)
    assert_same_secret(loaded.api_key, record.api_key, "the API key")


def test_a_later_save_keeps_the_secrets_where_the_file_says_one_generation_on(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    """What a refresh does: ``save`` without a target, as refresh_step calls it."""
    first, second = _login(1), _login(2)
    token_store.save(path, first, secrets=KeyringTarget("secret-service", profile), stores=opener)
    replaced = token_store.save(path, second, stores=opener)
    assert replaced is not None
    assert_same_secret(replaced.to_json(), first.to_json(), "the replaced record")
    _file_holds_no_secret(path, first, second)
    assert _generations(path, secret_service, profile) == (2, 2)
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, second.refresh_token, "the refresh token")


def test_the_item_wins_when_a_process_died_between_the_item_and_the_file(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    first, newer = _login(1), _login(2)
    token_store.save(path, first, secrets=KeyringTarget("secret-service", profile), stores=opener)
    secret_service.set(profile, item_bytes(newer, Location("secret-service", profile, 2)))
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None
    assert_same_secret(
        (loaded.access_token, loaded.refresh_token),
        (newer.access_token, newer.refresh_token),
        "the tokens",
    )
    assert loaded.expires_at == newer.expires_at
    token_store.save(path, loaded, stores=opener)  # the next save repairs the file
    assert _generations(path, secret_service, profile) == (3, 3)


@pytest.fixture
def locked(private_keyring: PrivateKeyring) -> Iterator[None]:
    private_keyring.lock()
    try:
        yield
    finally:
        private_keyring.unlock()


def test_a_locked_keyring_is_one_line_and_no_file_is_written(
    path: str, profile: str, opener: StoreOpener, locked: None
) -> None:
    with pytest.raises(SecretStoreLocked) as info:
        token_store.save(
            path, _login(), secrets=KeyringTarget("secret-service", profile), stores=opener
        )
    assert "\n" not in str(info.value)
    assert not Path(path).exists()


def test_a_locked_keyring_leaves_the_file_of_a_refresh_untouched(
    path: str, profile: str, opener: StoreOpener, private_keyring: PrivateKeyring
) -> None:
    token_store.save(
        path, _login(1), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    before = Path(path).read_bytes()
    private_keyring.lock()
    try:
        with pytest.raises(SecretStoreLocked):
            token_store.save(path, _login(2), stores=opener)
    finally:
        private_keyring.unlock()
    assert Path(path).read_bytes() == before


def test_a_missing_item_is_named_and_a_new_sign_in_replaces_it(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    token_store.save(
        path, _login(1), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    assert secret_service.delete(profile)
    with pytest.raises(SecretStoreDamaged) as info:
        token_store.load(path, stores=opener)
    message = str(info.value)
    assert f"profile {profile}" in message and path in message and "missing" in message
    assert "\n" not in message
    fresh = _login(2)
    target = KeyringTarget("secret-service", profile)
    assert token_store.save(path, fresh, secrets=target, stores=opener) is None
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, fresh.refresh_token, "the refresh token")


def test_a_damaged_item_is_named(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    token_store.save(
        path, _login(1), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    secret_service.set(profile, b'{"v": 1, "kind": "api_key", "generation": 1}')
    with pytest.raises(SecretStoreDamaged, match="is damaged: it holds 'api_key' secrets"):
        token_store.load(path, stores=opener)


def test_saving_in_the_file_puts_the_secrets_back_in_it(
    path: str, profile: str, opener: StoreOpener
) -> None:
    token_store.save(
        path, _login(1), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    back = _login(2)
    token_store.save(path, back, secrets=IN_FILE, stores=opener)
    data = json.loads(Path(path).read_text())
    assert "secrets" not in data
    assert_same_secret(data["refresh_token"], back.refresh_token, "the refresh token in the file")
    loaded = token_store.load(path)  # no keyring needed any more
    assert loaded is not None
    assert_same_secret(loaded.to_json(), back.to_json(), "the loaded record")


def test_delete_removes_the_item_then_the_file(
    path: str, profile: str, opener: StoreOpener, secret_service: SecretServiceStore
) -> None:
    token_store.save(
        path, _login(), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    assert token_store.delete(path, stores=opener)
    assert secret_service.get(profile) is None
    assert not Path(path).exists()
    assert not token_store.delete(path, stores=opener)


def test_a_locked_keyring_stops_delete_and_keeps_the_file(
    path: str, profile: str, opener: StoreOpener, private_keyring: PrivateKeyring
) -> None:
    """``delete`` may prompt to unlock; a prompt nobody can answer (no display in the
    private keyring's daemon) is dismissed: the error, and the file still names its item."""
    token_store.save(
        path, _login(), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    before = Path(path).read_bytes()
    private_keyring.lock()
    try:
        with pytest.raises(SecretStoreError) as info:
            token_store.delete(path, stores=opener)
    finally:
        private_keyring.unlock()
    assert "\n" not in str(info.value)
    assert Path(path).read_bytes() == before
    assert token_store.load(path, stores=opener) is not None


def test_the_account_is_read_from_the_file_alone(
    path: str, profile: str, opener: StoreOpener, private_keyring: PrivateKeyring
) -> None:
    # Read on every API answer (usage capture, extra-usage guard): never a keyring call.
    token_store.save(
        path, _login(), secrets=KeyringTarget("secret-service", profile), stores=opener
    )
    with private_keyring.paused():
        assert token_store.account_in_file(path) == "acc-1"
    assert token_store.account_in_file(path + ".missing") is None
