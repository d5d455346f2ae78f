"""The token provider on a sign-in whose secrets are in a real gnome-keyring (private
bus): a refresh writes the item, then the file, and the file never holds a token; a
keyring that fails after the server rotated the refresh token loses nothing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import SecretStoreUnavailable
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.storage import file_lock
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from claude_code_oauth.tokens.provider import TokenProvider
from claude_code_oauth.tokens.record import TokenRecord
from helpers.tokens import assert_same_secret, files_containing


def _settings(emulator: ClaudeEmulator, data_dir: Path, profile: str, bus: str) -> Settings:
    return Settings(
        environ={
            "HOME": str(data_dir.parent / "home"),
            **emulator.env(),
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_PROFILE": profile,
            "DBUS_SESSION_BUS_ADDRESS": bus,
        }
    )


def _seed_expired(emulator: ClaudeEmulator, settings: Settings) -> TokenRecord:
    """A login the emulator knows, its access token expired locally, in the keyring."""
    record = TokenRecord.from_token_response(emulator.issue_login(), now=time.time())
    record.expires_at = time.time() - 10
    record.obtained_at = record.expires_at - 3600
    token_store.save(
        settings.token_path,
        record,
        secrets=KeyringTarget("secret-service", settings.profile),
        stores=StoreOpener(settings=settings),
    )
    return record


def test_a_refresh_writes_the_item_then_a_file_without_tokens(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    settings = _settings(emulator, data_dir, profile, keyring_env["DBUS_SESSION_BUS_ADDRESS"])
    old = _seed_expired(emulator, settings)
    provider = TokenProvider(settings, on_warning=pytest.fail)
    token = provider.get_access_token()
    assert emulator.grants["refresh_token"] == 1
    new = provider.current()
    assert new is not None
    assert_same_secret(token, new.access_token, "the access token")
    assert new.refresh_token != old.refresh_token, "the emulator rotates refresh tokens"
    for secret in (old.access_token, old.refresh_token, new.access_token, new.refresh_token):
        assert secret and files_containing([data_dir], secret, skip=set()) == []
    in_file = json.loads(Path(settings.token_path).read_text())["secrets"]["generation"]
    raw = secret_service.get(profile)
    assert raw is not None
    assert (in_file, json.loads(raw)["generation"]) == (2, 2)
    assert json.loads(raw)["expires_at"] == round(new.expires_at, 3) > time.time()


def test_a_keyring_gone_after_the_rotation_keeps_the_new_tokens(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The keyring answers the read, then refuses the write of the rotated tokens (a
    stand-in for a daemon that went away in between, in addition to the real-failure
    tests of the store): the new tokens are used now and kept for the next run, with
    one warning that says where."""
    settings = _settings(emulator, data_dir, profile, keyring_env["DBUS_SESSION_BUS_ADDRESS"])
    _seed_expired(emulator, settings)
    warnings: list[str] = []
    provider = TokenProvider(settings, on_warning=warnings.append)
    store = provider._stores("secret-service")

    def refuse(*args: object, **kwargs: object) -> None:
        raise SecretStoreUnavailable("The Secret Service is not on the session bus.")

    monkeypatch.setattr(store, "set", refuse)
    token = provider.get_access_token()
    assert emulator.grants["refresh_token"] == 1
    (warning,) = warnings
    assert "keyring" in warning and "not lost" in warning and "\n" not in warning
    kept = [p for p in data_dir.iterdir() if p.name.endswith(".tmp")]
    assert len(kept) == 1 and str(kept[0]) in warning
    assert kept[0].stat().st_mode & 0o777 == 0o600
    assert_same_secret(json.loads(kept[0].read_text())["access_token"], token, "the kept token")
    assert "secrets" in json.loads(Path(settings.token_path).read_text()), "file untouched"


def test_a_waiter_reads_the_item_only_when_the_file_was_replaced(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While another process holds the lock, a waiting provider polls the file; it reads
    the keyring item again only when the file changed, not at every poll."""
    settings = _settings(emulator, data_dir, profile, keyring_env["DBUS_SESSION_BUS_ADDRESS"])
    old = _seed_expired(emulator, settings)
    provider = TokenProvider(settings, on_warning=pytest.fail)
    store = provider._stores("secret-service")
    reads: list[str] = []
    real_get = store.get

    def counted_get(item: str) -> bytes | None:
        reads.append(item)
        return real_get(item)

    monkeypatch.setattr(store, "get", counted_get)
    polls = threading.Semaphore(0)
    real_acquire = file_lock.acquire

    def counted_acquire(*args: object, **kwargs: object) -> None:
        try:
            real_acquire(*args, **kwargs)  # type: ignore[arg-type]  # passed through as received
        finally:
            polls.release()

    monkeypatch.setattr(file_lock, "acquire", counted_acquire)
    result: list[str] = []
    with token_store.held(token_store.token_lock(settings)):  # "another process"
        waiter = threading.Thread(target=lambda: result.append(provider.get_access_token()))
        waiter.start()
        for _ in range(10):  # ten polls that found the lock held
            assert polls.acquire(timeout=30), "the waiter stopped polling"
        assert len(reads) == 3  # the first load, the flight's, and the first poll's
        newer = TokenRecord.from_token_response(emulator.issue_login(), now=time.time())
        token_store.save(settings.token_path, newer, stores=StoreOpener(settings=settings))
        waiter.join(30)
    assert not waiter.is_alive()
    assert_same_secret(result, [newer.access_token], "the adopted token")
    assert len(reads) == 4  # and one once the file was replaced (the save reads its own)
    assert emulator.grants["refresh_token"] == 0 and old.refresh_token


def test_requests_read_the_item_once_per_save_and_survive_a_keyring_gone_quiet(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    private_keyring: PrivateKeyring,
) -> None:
    """Before every request a long-lived provider reads the sign-in; with the secrets in
    the keyring that costs a keyring call only when the token file changed, so a
    keyring that stops answering does not stop a token that is still good."""
    settings = Settings(
        environ={
            **_settings(
                emulator, data_dir, profile, keyring_env["DBUS_SESSION_BUS_ADDRESS"]
            ).environ,
            "CLAUDE_CODE_OAUTH_KEYRING_TIMEOUT": "0.5",  # how long a wrong read would wait
        }
    )
    record = TokenRecord.from_token_response(emulator.issue_login(), now=time.time())
    target = KeyringTarget("secret-service", profile)
    calm = StoreOpener(timeout=30, environ=keyring_env)
    token_store.save(settings.token_path, record, secrets=target, stores=calm)
    provider = TokenProvider(settings, on_warning=pytest.fail)
    first = provider.get_credential()
    assert_same_secret(first.secret, record.access_token, "the token")
    with private_keyring.paused():  # a keyring call now would run out of time
        again = provider.get_credential()
    assert_same_secret(again.secret, record.access_token, "the token, from memory")

    newer = TokenRecord.from_token_response(emulator.issue_login(), now=time.time())
    token_store.save(settings.token_path, newer, stores=calm)  # "another process" refreshed
    assert_same_secret(provider.get_credential().secret, newer.access_token, "the new token")
