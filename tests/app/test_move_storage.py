""":func:`claude_code_oauth.app.move_storage.move_storage` with a keyring that fails at
one step: the real gnome-keyring (private bus) behind a store that refuses one call.
Copy, then switch, then delete: a failure before the switch leaves the old place
working; an old item that cannot be removed after it is a warning naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_code_oauth.app.move_storage import move_storage
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import MoveFailed, SecretStoreTimeout
from claude_code_oauth.secret_store.interface import SecretStore
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import StoreOpener
from helpers.tokens import assert_same_secret, seed

CALM_TIMEOUT = 30.0


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, text: str) -> None:
        self.lines.append(("info", text))

    def success(self, text: str) -> None:
        self.lines.append(("success", text))

    def warning(self, text: str) -> None:
        self.lines.append(("warning", text))


class Refusing(SecretStore):
    """The real store, but ``refuse`` (``delete`` or ``get-back``) fails: a delete times
    out; a read after a write gives back other bytes."""

    def __init__(self, real: SecretStore, refuse: str) -> None:
        self.real = real
        self.refuse = refuse
        self.name = real.name
        self.written = False

    def get(self, profile: str) -> bytes | None:
        value = self.real.get(profile)
        if self.refuse == "get-back" and self.written and value is not None:
            return value[:-1] + b" "
        return value

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        self.real.set(profile, secret, allow_prompt=allow_prompt)
        self.written = True

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        if self.refuse == "delete":
            raise SecretStoreTimeout("The Secret Service did not answer within 2 s (deleting).")
        return self.real.delete(profile, allow_prompt=allow_prompt)

    def probe(self) -> str:
        return self.real.probe()


class Opener(StoreOpener):
    def __init__(self, store: SecretStore) -> None:
        super().__init__()
        self.store = store

    def __call__(self, backend: str) -> SecretStore:
        return self.store


@pytest.fixture
def config(settings: Settings, profile: str, keyring_env: dict[str, str]) -> Settings:
    env = {**settings.environ, **keyring_env, "CLAUDE_CODE_OAUTH_PROFILE": profile}
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = settings.data_dir
    return Settings(environ=env)


def test_a_write_that_does_not_read_back_changes_nothing_and_leaves_no_item(
    emulator: ClaudeEmulator, config: Settings, secret_service: SecretServiceStore
) -> None:
    path = Path(config.token_path)
    record = seed(emulator, path, expires_in=3600)
    before = path.read_bytes()
    lines = Lines()
    with pytest.raises(MoveFailed) as info:
        move_storage(config, "keyring", lines, stores=Opener(Refusing(secret_service, "get-back")))
    message = str(info.value)
    assert "did not give back what was written" in message
    assert "nothing was changed or lost: it still signs in from its token file" in message
    assert path.read_bytes() == before
    assert secret_service.get(config.profile) is None  # the bad copy is not left behind
    loaded = token_store.load(str(path))
    assert loaded is not None
    assert_same_secret(loaded.to_json(), record.to_json(), "the sign-in")


def test_an_old_item_that_cannot_be_removed_after_the_switch_is_a_warning(
    emulator: ClaudeEmulator,
    config: Settings,
    keyring_env: dict[str, str],
    secret_service: SecretServiceStore,
) -> None:
    path = Path(config.token_path)
    record = seed(emulator, path, expires_in=3600)
    calm = StoreOpener(timeout=CALM_TIMEOUT, environ=keyring_env)
    move_storage(config, "keyring", Lines(), stores=calm)
    lines = Lines()
    move_storage(config, "file", lines, stores=Opener(Refusing(secret_service, "delete")))
    name = config.profile
    moved = f"Moved profile {name}'s credentials to its token file {path} (mode 0600)."
    assert ("success", moved) in lines.lines
    warnings = [text for level, text in lines.lines if level == "warning"]
    assert warnings == [
        f"Profile {name} now signs in from its new place, but its old item {name} in the "
        "Secret Service could not be removed (The Secret Service did not answer within 2 s "
        "(deleting)); it still holds the credentials: remove it yourself (`secret-tool clear "
        f"service claude-code-oauth profile {name}`)."
    ]
    loaded = token_store.load(str(path))  # the file alone: no keyring needed
    assert loaded is not None
    assert_same_secret(loaded.to_json(), record.to_json(), "the sign-in")
    assert secret_service.get(name) is not None  # the leftover the warning names
    assert secret_service.delete(name)
