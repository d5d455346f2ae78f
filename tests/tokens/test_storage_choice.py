"""``storage = auto``: the keyring when one answers in time, else the file, told once
(tokens/storage_choice.py), against the real private Secret Service."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import SecretStoreUnavailable
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens.keyring_item import IN_FILE, KeyringTarget
from claude_code_oauth.tokens.storage_choice import choose


def _settings(data_dir: Path, tmp_path: Path, **env: str) -> Settings:
    runtime = tmp_path / "runtime"  # an XDG_RUNTIME_DIR without a bus socket
    runtime.mkdir(exist_ok=True)
    return Settings(
        environ={
            "HOME": str(tmp_path / "home"),
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "XDG_RUNTIME_DIR": str(runtime),
            **env,
        }
    )


def test_auto_without_a_session_bus_keeps_the_file_and_says_so_once(
    data_dir: Path, tmp_path: Path
) -> None:
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    first = choose(settings)
    assert first.target == IN_FILE and first.label is None
    assert first.notice is not None and "\n" not in first.notice
    assert f"kept in the file {settings.token_path} (mode 0600)" in first.notice
    assert "there is no session bus here" in first.notice
    first.told()
    again = choose(settings)
    assert again.target == IN_FILE and again.notice is None
    # Another profile in the same data directory: the same choice, already told.
    assert choose(settings.with_profile("work")).notice is None


def test_auto_with_a_keyring_that_answers_chooses_it_and_says_so_once(
    data_dir: Path, tmp_path: Path, keyring_env: dict[str, str], profile: str
) -> None:
    settings = _settings(
        data_dir,
        tmp_path,
        CLAUDE_CODE_OAUTH_STORAGE="auto",
        CLAUDE_CODE_OAUTH_PROFILE=profile,
        DBUS_SESSION_BUS_ADDRESS=keyring_env["DBUS_SESSION_BUS_ADDRESS"],
    )
    first = choose(settings)
    assert isinstance(first.target, KeyringTarget)
    assert (first.target.store, first.target.item) == ("secret-service", profile)
    assert first.label == "OS keyring (Secret Service)"
    assert first.notice is not None and "kept in the OS keyring (Secret Service)" in first.notice
    first.told()
    assert choose(settings).notice is None


def test_auto_tells_again_when_its_choice_changes(
    data_dir: Path, tmp_path: Path, keyring_env: dict[str, str]
) -> None:
    """Told "keyring" once; the next sign-in without a bus goes to the file, and says so:
    credentials never move to the file unannounced."""
    bus = {"DBUS_SESSION_BUS_ADDRESS": keyring_env["DBUS_SESSION_BUS_ADDRESS"]}
    with_bus = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto", **bus)
    choose(with_bus).told()
    without = choose(_settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto"))
    assert without.target == IN_FILE and without.notice is not None
    without.told()
    back = choose(with_bus)
    assert isinstance(back.target, KeyringTarget) and back.notice is not None


def test_auto_with_a_locked_keyring_keeps_the_file(
    data_dir: Path, tmp_path: Path, private_keyring: PrivateKeyring
) -> None:
    settings = _settings(
        data_dir,
        tmp_path,
        CLAUDE_CODE_OAUTH_STORAGE="auto",
        DBUS_SESSION_BUS_ADDRESS=private_keyring.env["DBUS_SESSION_BUS_ADDRESS"],
    )
    private_keyring.lock()
    try:
        chosen = choose(settings)
    finally:
        private_keyring.unlock()
    assert chosen.target == IN_FILE
    assert chosen.notice is not None and "is locked" in chosen.notice


@pytest.mark.keyring
def test_auto_with_a_bus_but_no_secret_service_keeps_the_file(
    data_dir: Path, tmp_path: Path
) -> None:
    from claude_code_oauth.testing.private_keyring import bare_bus

    with bare_bus() as bus:
        settings = _settings(
            data_dir,
            tmp_path,
            CLAUDE_CODE_OAUTH_STORAGE="auto",
            DBUS_SESSION_BUS_ADDRESS=bus.address,
        )
        chosen = choose(settings)
    assert chosen.target == IN_FILE
    assert chosen.notice is not None and "No Secret Service is running" in chosen.notice


@pytest.mark.parametrize("mode", ["file", "keyring"])
def test_file_and_keyring_say_nothing(data_dir: Path, tmp_path: Path, mode: str) -> None:
    """``file`` never asks the keyring; ``keyring`` without a bus is its one-line error."""
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE=mode)
    if mode == "keyring":
        with pytest.raises(SecretStoreUnavailable):
            choose(settings)
        return
    chosen = choose(settings)
    assert chosen.target == IN_FILE and chosen.notice is None
    chosen.told()
    assert not any(p.name.endswith(".storage-auto.json") for p in data_dir.iterdir())
