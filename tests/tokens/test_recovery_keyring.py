"""Recovery with the secrets in a real gnome-keyring (private bus): tokens the keyring
refused are kept (announced) and go into their item once it answers; a file that could
not follow its item is named for what it is and taken over later; in the end no secret
is in any file."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import RecordKept
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import Location, StoreOpener
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.recovery import KEEP_FOR
from claude_code_oauth.tokens.store import KeyringTarget
from claude_code_oauth.tokens.stored_form import encode, identity
from helpers.tokens import assert_no_secret_in, login_record

CALM_TIMEOUT = 30.0
#: The deadline while the keyring is paused: every call there runs out.
SILENT_TIMEOUT = 0.5
SERVICE = "secret-service"
_real_replace = os.replace


def _login(n: int) -> TokenRecord:
    return login_record(n, "recovery-keyring")


@pytest.fixture
def opener(keyring_env: dict[str, str]) -> StoreOpener:
    return StoreOpener(timeout=CALM_TIMEOUT, environ=keyring_env)


@pytest.fixture
def path(tmp_path: Path) -> str:
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    return str(directory / "claude_code_oauth.json")


def _temps(path: str) -> list[str]:
    return [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")]


def _signed_in(path: str, profile: str, opener: StoreOpener) -> TokenRecord:
    token_store.save(path, _login(1), secrets=KeyringTarget(SERVICE, profile), stores=opener)
    current = token_store.load(path, stores=opener)
    assert current is not None
    return current


def test_tokens_the_keyring_refused_go_into_it_once_it_answers(
    path: str,
    profile: str,
    opener: StoreOpener,
    keyring_env: dict[str, str],
    private_keyring: PrivateKeyring,
) -> None:
    # The keyring stops answering between the refresh and its save: the new tokens
    # (their predecessor is spent) are kept whole, then moved into the keyring.
    current = _signed_in(path, profile, opener)
    silent = StoreOpener(timeout=SILENT_TIMEOUT, environ=keyring_env)
    rotated = _login(2)
    with (
        token_store.reserve(path) as reservation,
        private_keyring.paused(),
        pytest.raises(RecordKept) as caught,
    ):
        token_store.save(
            path, rotated, reservation=reservation, stores=silent, replaces=identity(current)
        )
    kept = caught.value.kept
    assert kept is not None and os.path.exists(kept)
    assert "secrets included" in str(caught.value) and "into the keyring" in str(caught.value)

    with private_keyring.paused():  # still not answering: used from the kept copy
        used = token_store.adopt_kept(path, current, stores=silent)
    assert used is not None and used.refresh_token == rotated.refresh_token
    assert os.path.exists(kept)

    adopted = token_store.adopt_kept(path, current, stores=opener)
    assert adopted is not None and adopted.refresh_token == rotated.refresh_token
    assert not os.path.exists(kept) and _temps(path) == []
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None and loaded.refresh_token == rotated.refresh_token
    assert_no_secret_in(os.path.dirname(path), rotated)


def test_a_first_sign_in_whose_file_could_not_follow_its_item_is_taken_over(
    path: str, profile: str, opener: StoreOpener, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_rename_over_the_file(src: str, dst: str) -> None:
        if os.fspath(dst) == path:
            raise PermissionError(errno.EACCES, "Permission denied")
        _real_replace(src, dst)

    monkeypatch.setattr(os, "replace", no_rename_over_the_file)
    login = _login(1)
    with token_store.reserve(path) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(
            path,
            login,
            secrets=KeyringTarget(SERVICE, profile),
            reservation=reservation,
            stores=opener,
        )
    message = str(caught.value)
    assert f"saved in the keyring item of profile {profile}" in message
    assert "no secret in it" in message and "Permission denied" in message
    assert caught.value.record is login
    kept = caught.value.kept
    assert kept is not None
    assert_no_secret_in(os.path.dirname(path), login)

    monkeypatch.undo()
    adopted = token_store.adopt_kept(path, None, stores=opener)
    assert adopted is not None and adopted.access_token == login.access_token
    assert os.path.exists(path) and not os.path.exists(kept)
    assert_no_secret_in(os.path.dirname(path), login)


def test_the_sweep_at_a_command_start_moves_refused_tokens_into_the_keyring(
    path: str, profile: str, opener: StoreOpener, keyring_env: dict[str, str]
) -> None:
    from claude_code_oauth.storage.temp_files import identity as writer_identity

    current = _signed_in(path, profile, opener)
    rotated = _login(2)
    form = json.loads(encode(rotated, identity(current)))
    form[KEEP_FOR] = Location(SERVICE, profile, 2).to_json()
    name = os.path.basename(path)
    dead_pid = 4_194_304 + 7  # above any PID Linux hands out: its writer is gone
    left = Path(os.path.dirname(path), f".{name}.{writer_identity()[0]}-{dead_pid}-1.0000000a.tmp")
    left.write_bytes(json.dumps(form).encode())
    settings = Settings(
        environ={
            **keyring_env,
            "CLAUDE_CODE_OAUTH_DATA_DIR": os.path.dirname(path),
            "CLAUDE_CODE_OAUTH_KEYRING_TIMEOUT": str(CALM_TIMEOUT),
        }
    )
    token_store.sweep(settings)
    assert not left.exists()
    loaded = token_store.load(path, stores=opener)
    assert loaded is not None and loaded.refresh_token == rotated.refresh_token
    assert_no_secret_in(os.path.dirname(path), rotated)
