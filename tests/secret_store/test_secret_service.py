"""The Secret Service store against a real gnome-keyring on a private bus: what it
stores, how it fails (no bus, no service, locked, a hung daemon, items it did not write)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from claude_code_oauth.errors import (
    SecretStoreError,
    SecretStoreLocked,
    SecretStorePromptDismissed,
    SecretStoreTimeout,
    SecretStoreUnavailable,
    SecretTooLarge,
)
from claude_code_oauth.secret_store import dbus_connection
from claude_code_oauth.secret_store.interface import MAX_SECRET_BYTES
from claude_code_oauth.secret_store.secret_service import SecretServiceStore, attributes, label
from claude_code_oauth.testing.private_keyring import PrivateKeyring, bare_bus

VALUE = b'{"access_token": "test-access", "refresh_token": "test-refresh"}'


def _every_call(store: SecretServiceStore, profile: str) -> dict[str, Callable[[], object]]:
    return {
        "get": lambda: store.get(profile),
        "set": lambda: store.set(profile, VALUE),
        "delete": lambda: store.delete(profile),
        "probe": store.probe,
    }


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text.strip() == text and text
    return text


# -- what it stores ------------------------------------------------------------------------


def test_set_get_delete(secret_service: SecretServiceStore, profile: str) -> None:
    assert secret_service.get(profile) is None
    secret_service.set(profile, VALUE)
    assert secret_service.get(profile) == VALUE
    assert secret_service.delete(profile) is True
    assert secret_service.get(profile) is None
    assert secret_service.delete(profile) is False


def test_set_replaces_the_one_item(
    secret_service: SecretServiceStore, private_keyring: PrivateKeyring, profile: str
) -> None:
    secret_service.set(profile, b"first")
    secret_service.set(profile, b"second")
    assert secret_service.get(profile) == b"second"
    with _standard_client(private_keyring) as connection:
        import secretstorage

        assert len(list(secretstorage.search_items(connection, attributes(profile)))) == 1


def test_profiles_have_items_of_their_own(secret_service: SecretServiceStore) -> None:
    secret_service.set("test-work", b"work secrets")
    secret_service.set("test-home", b"home secrets")
    assert secret_service.delete("test-work")
    assert secret_service.get("test-work") is None
    assert secret_service.get("test-home") == b"home secrets"
    secret_service.delete("test-home")


@pytest.mark.parametrize("value", [b"", b"\x00\xff not UTF-8 \xfe", bytes(range(256)) * 64])
def test_values_come_back_byte_for_byte(
    secret_service: SecretServiceStore, profile: str, value: bytes
) -> None:
    assert len(value) <= MAX_SECRET_BYTES
    secret_service.set(profile, value)
    assert secret_service.get(profile) == value


def test_a_value_over_the_limit_is_refused_and_the_old_one_kept(
    secret_service: SecretServiceStore, profile: str
) -> None:
    secret_service.set(profile, VALUE)
    with pytest.raises(SecretTooLarge):
        secret_service.set(profile, b"x" * (MAX_SECRET_BYTES + 1))
    assert secret_service.get(profile) == VALUE


def test_probe_describes_the_store(secret_service: SecretServiceStore) -> None:
    assert _one_line_text(secret_service.probe()).startswith("the Secret Service")


def _one_line_text(text: str) -> str:
    assert "\n" not in text
    return text


# -- other programs see what we store, and we read what they store -------------------------


@contextmanager
def _standard_client(private_keyring: PrivateKeyring) -> Iterator[object]:
    """secretstorage (jeepney) on the private bus: the library `keyring` uses on Linux."""
    import secretstorage
    from jeepney.io.blocking import open_dbus_connection

    connection = open_dbus_connection(private_keyring.env["DBUS_SESSION_BUS_ADDRESS"])
    with closing(connection):
        assert secretstorage.check_service_availability(connection)
        yield connection


def test_a_standard_client_reads_our_item_and_we_read_its_item(
    secret_service: SecretServiceStore, private_keyring: PrivateKeyring, profile: str
) -> None:
    import secretstorage

    secret_service.set(profile, VALUE)
    with _standard_client(private_keyring) as connection:
        (item,) = secretstorage.search_items(connection, attributes(profile))
        assert item.get_secret() == VALUE
        assert item.get_label() == label(profile)
        assert item.get_secret_content_type() == "text/plain"
        collection = secretstorage.get_default_collection(connection)
        collection.create_item("by another program", attributes(profile), b"theirs", replace=True)
    assert secret_service.get(profile) == b"theirs"


def test_an_oversized_item_is_refused_on_read(
    secret_service: SecretServiceStore, private_keyring: PrivateKeyring, profile: str
) -> None:
    """Items with our attributes that we would never write: larger than any value we
    store (read whole, then refused), and larger than any answer we read (refused from
    its first bytes)."""
    import secretstorage

    with _standard_client(private_keyring) as connection:
        collection = secretstorage.get_default_collection(connection)
        collection.create_item("odd", attributes(profile), b"y" * (MAX_SECRET_BYTES + 1))
        with pytest.raises(SecretTooLarge) as caught:
            secret_service.get(profile)
        _one_line(caught.value)
        collection.create_item("odd", attributes(profile), b"z" * (2 << 20), replace=True)
        with pytest.raises(SecretTooLarge) as caught:
            secret_service.get(profile)
        _one_line(caught.value)
    assert secret_service.delete(profile)


# -- no bus, no Secret Service ----------------------------------------------------------------


def test_without_a_bus_nothing_is_tried(monkeypatch: pytest.MonkeyPatch, profile: str) -> None:
    def no_socket(*args: object) -> None:
        raise AssertionError("a socket was opened although there is no bus")

    monkeypatch.setattr(dbus_connection._socket, "socket", no_socket)
    store = SecretServiceStore(environ={"HOME": "/nonexistent"})
    for name, call in _every_call(store, profile).items():
        with pytest.raises(SecretStoreUnavailable, match="no session bus") as caught:
            call()
        assert "DBUS_SESSION_BUS_ADDRESS" in _one_line(caught.value), name


def test_a_bus_that_is_gone_is_named_as_the_keyring(tmp_path: Path, profile: str) -> None:
    """The bus's socket no longer exists (the session ended): the line says which store
    and what it was doing before the bus's own words."""
    gone = f"unix:path={tmp_path / 'bus'}"
    store = SecretServiceStore(environ={"DBUS_SESSION_BUS_ADDRESS": gone})
    for name, call in _every_call(store, profile).items():
        with pytest.raises(SecretStoreUnavailable) as caught:
            call()
        line = _one_line(caught.value)
        assert line.startswith("The Secret Service (the keyring) is out of reach ("), name
        assert "cannot reach the session bus (" in line and str(tmp_path) in line, name
    with pytest.raises(SecretStoreUnavailable, match=f"reading profile {profile}'s item"):
        store.get(profile)


@pytest.mark.keyring
def test_a_bus_without_a_secret_service_is_unavailable(profile: str) -> None:
    with bare_bus() as bus:
        store = SecretServiceStore(environ={"DBUS_SESSION_BUS_ADDRESS": bus.address})
        for name, call in _every_call(store, profile).items():
            with pytest.raises(SecretStoreUnavailable, match="No Secret Service") as caught:
                call()
            _one_line(caught.value)
            assert name


# -- a locked collection ------------------------------------------------------------------------


@contextmanager
def _locked(private_keyring: PrivateKeyring) -> Iterator[None]:
    private_keyring.lock()
    try:
        yield
    finally:
        private_keyring.unlock()


def test_a_locked_collection_is_named_and_never_prompted_for(
    secret_service: SecretServiceStore, private_keyring: PrivateKeyring, profile: str
) -> None:
    secret_service.set(profile, VALUE)
    with _locked(private_keyring):
        for name, call in _every_call(secret_service, profile).items():
            with pytest.raises(SecretStoreLocked, match="locked") as caught:
                call()
            assert name and _one_line(caught.value)
    assert secret_service.get(profile) == VALUE  # neither replaced nor deleted


def test_an_unlock_prompt_nobody_can_answer_is_dismissed_in_one_line(
    secret_service: SecretServiceStore, private_keyring: PrivateKeyring, profile: str
) -> None:
    """A write that may prompt asks the service to unlock; with no desktop (no prompter on
    the private bus) gnome-keyring dismisses the prompt, and nothing is written."""
    secret_service.set(profile, VALUE)
    with _locked(private_keyring):
        with pytest.raises(SecretStorePromptDismissed, match="dismissed") as caught:
            secret_service.set(profile, b"new", allow_prompt=True)
        _one_line(caught.value)
        with pytest.raises(SecretStorePromptDismissed):
            secret_service.delete(profile, allow_prompt=True)
    assert secret_service.get(profile) == VALUE


# -- a daemon that hangs ------------------------------------------------------------------------


def test_a_hung_daemon_cannot_hold_a_call_past_its_deadline(
    private_keyring: PrivateKeyring, keyring_env: dict[str, str], profile: str
) -> None:
    calm = SecretServiceStore(environ=keyring_env, timeout=30)
    calm.set(profile, VALUE)
    hasty = SecretServiceStore(environ=keyring_env, timeout=0.3)
    with private_keyring.paused():
        for name, call in _every_call(hasty, profile).items():
            with pytest.raises(SecretStoreTimeout, match=r"within 0\.3 s") as caught:
                call()
            assert name and _one_line(caught.value)
    # Once it runs again it answers; an abandoned write may or may not have landed.
    assert calm.get(profile) in (VALUE, None)


def test_every_failure_is_a_secret_store_error(profile: str) -> None:
    """A bus address that names a socket that is not there: one line, the base class."""
    store = SecretServiceStore(environ={"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/bus"})
    for call in _every_call(store, profile).values():
        with pytest.raises(SecretStoreError) as caught:
            call()
        _one_line(caught.value)
    assert not os.path.exists("/nonexistent/bus")
