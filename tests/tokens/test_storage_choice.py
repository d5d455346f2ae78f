"""``storage = auto``: the keyring when one answers in time, else the file, told once
(tokens/storage_choice.py), against the real private Secret Service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import SecretStoreUnavailable
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens.keyring_item import IN_FILE, KeyringTarget
from claude_code_oauth.tokens.storage_choice import choose
from helpers.memory_keyring import STORE, MemoryKeyring, memory_keyring, unlocking_store


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


# -- in-process, on "macOS": the keyring library on an in-memory backend ---------------------


@pytest.fixture
def on_macos(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """This system is macOS (``auto`` means the Keychain, through the keyring library),
    and the keyring library's backend is an in-memory one."""
    monkeypatch.setattr(sys, "platform", "darwin")
    with memory_keyring() as backend:
        yield backend


def test_auto_chooses_a_keychain_that_answers_and_says_so_once(
    data_dir: Path, tmp_path: Path, on_macos: MemoryKeyring
) -> None:
    settings = _settings(
        data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto", CLAUDE_CODE_OAUTH_PROFILE="work"
    )
    first = choose(settings)
    assert isinstance(first.target, KeyringTarget)
    target = first.target
    assert (target.store, target.item, target.allow_prompt) == (STORE, "work", True)
    assert first.label == "OS keyring (macOS Keychain)"
    assert first.notice == (
        "storage = auto: this sign-in's credentials are kept in the OS keyring (macOS "
        "Keychain), which answered; `status` shows where each profile's are (said once)."
    )
    assert choose(settings).notice == first.notice  # not told yet
    first.told()
    memo = data_dir / "claude_code_oauth.default.storage-auto.json"
    assert memo.read_text() == '{"told": "keyring:keyring-library"}\n'
    assert (memo.stat().st_mode & 0o777) == 0o600
    assert choose(settings).notice is None


def test_auto_keeps_the_file_when_the_keychain_is_locked_and_says_why(
    data_dir: Path, tmp_path: Path, on_macos: MemoryKeyring
) -> None:
    on_macos.locked = True
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    chosen = choose(settings)
    assert chosen.target == IN_FILE and chosen.label is None
    assert chosen.notice == (
        f"storage = auto: this sign-in's credentials are kept in the file "
        f"{settings.token_path} (mode 0600), not the OS keyring (macOS Keychain): the macOS "
        "Keychain is locked (answering whether it works). (said once; `doctor` checks the "
        "keyring, `storage = keyring` insists on it)."
    )
    chosen.told()
    memo = data_dir / "claude_code_oauth.default.storage-auto.json"
    assert memo.read_text() == '{"told": "file"}\n'


def test_storage_keyring_passes_a_locked_keychain_the_save_will_unlock(
    data_dir: Path, tmp_path: Path, on_macos: MemoryKeyring
) -> None:
    on_macos.locked = True
    settings = _settings(
        data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="keyring", CLAUDE_CODE_OAUTH_PROFILE="work"
    )
    chosen = choose(settings)
    assert isinstance(chosen.target, KeyringTarget)
    assert (chosen.target.store, chosen.target.item) == (STORE, "work")
    assert chosen.label == "OS keyring (macOS Keychain)" and chosen.notice is None


def test_auto_without_a_session_bus_says_exactly_why(data_dir: Path, tmp_path: Path) -> None:
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    assert choose(settings).notice == (
        f"storage = auto: this sign-in's credentials are kept in the file "
        f"{settings.token_path} (mode 0600), not the OS keyring (Secret Service): there is "
        "no session bus here. (said once; `doctor` checks the keyring, `storage = keyring` "
        "insists on it)."
    )


def test_auto_asks_the_bus_of_the_settings_environment(data_dir: Path, tmp_path: Path) -> None:
    nowhere = tmp_path / "no-bus"
    settings = _settings(
        data_dir,
        tmp_path,
        CLAUDE_CODE_OAUTH_STORAGE="auto",
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={nowhere}",
    )
    chosen = choose(settings)
    assert chosen.target == IN_FILE and chosen.notice is not None
    assert (
        "not the OS keyring (Secret Service): The Secret Service (the keyring) is out of "
        "reach (answering whether it works): cannot reach the session bus "
        f"({nowhere}: No such file or directory)."
    ) in chosen.notice


@pytest.mark.parametrize(
    "memo",
    ["not json", '["file"]', '{"told": 5}', '{"said": "file"}'],
    ids=["not JSON", "a list", "not a string", "no choice"],
)
def test_a_memo_that_says_no_choice_is_told_again(
    data_dir: Path, tmp_path: Path, memo: str
) -> None:
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    (data_dir / "claude_code_oauth.default.storage-auto.json").write_text(memo)
    assert choose(settings).notice is not None


def test_a_memo_over_4_kib_is_not_read(data_dir: Path, tmp_path: Path) -> None:
    """4 KiB of bytes, not of characters (the padding is two bytes a character)."""
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    memo = data_dir / "claude_code_oauth.default.storage-auto.json"
    head, tail = '{"told": "file", "pad": "', '"}'
    memo.write_text(head + "é" * ((4097 - len(head) - len(tail)) // 2) + tail, encoding="utf-8")
    assert memo.stat().st_size == 4097
    assert choose(settings).notice is not None
    memo.write_text(head + "x" + "é" * 2034 + tail, encoding="utf-8")
    assert memo.stat().st_size == 4096
    assert choose(settings).notice is None


def test_a_memo_that_cannot_be_written_only_means_the_line_is_said_again(
    data_dir: Path, tmp_path: Path
) -> None:
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    chosen = choose(settings)
    (data_dir / "claude_code_oauth.default.storage-auto.json").mkdir()  # in the way
    chosen.told()
    assert choose(settings).notice == chosen.notice


def test_storage_keyring_on_linux_is_the_secret_service_locked_or_not(
    data_dir: Path, tmp_path: Path
) -> None:
    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="keyring")
    with unlocking_store():  # locked: the save will ask to unlock it
        chosen = choose(settings)
    assert isinstance(chosen.target, KeyringTarget)
    assert chosen.target.store == "secret-service"
    assert chosen.label == "OS keyring (Secret Service)" and chosen.notice is None


def test_the_memo_is_one_per_data_directory_whichever_profile_is_active(
    data_dir: Path, tmp_path: Path
) -> None:
    from claude_code_oauth.profiles.active import write_active_profile

    settings = _settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")
    write_active_profile(settings, "work")
    choose(_settings(data_dir, tmp_path, CLAUDE_CODE_OAUTH_STORAGE="auto")).told()
    memo = data_dir / "claude_code_oauth.default.storage-auto.json"
    assert memo.read_text() == '{"told": "file"}\n'
