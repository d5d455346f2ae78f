"""private_keyring: it comes up for real, and says loudly when it cannot (never a skip)."""

from __future__ import annotations

import pytest

from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.private_keyring import KeyringStartError, PrivateKeyring

pytestmark = pytest.mark.keyring


def test_a_missing_program_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KeyringStartError, match="dbus-daemon is not installed"):
        PrivateKeyring()


def test_it_serves_the_secret_service_and_goes_away() -> None:
    with PrivateKeyring() as keyring:
        store = SecretServiceStore(environ=keyring.env, timeout=30)
        assert store.probe().startswith("the Secret Service")
        daemon = keyring.daemon
        assert daemon is not None
    assert daemon.poll() is not None  # stopped with its bus
    assert keyring.bus.process.poll() is not None


def test_a_daemon_that_died_is_started_again_with_its_items() -> None:
    with PrivateKeyring() as keyring:
        store = SecretServiceStore(environ=keyring.env, timeout=30)
        store.set("kept", b"before")
        assert keyring.restart_if_gone() is None  # running: left alone
        daemon = keyring.daemon
        assert daemon is not None
        daemon.kill()
        daemon.wait(10)
        assert keyring.restart_if_gone() == -9
        assert keyring.daemon is not daemon and keyring.daemon is not None
        assert keyring.daemon.poll() is None
        assert store.get("kept") == b"before"
