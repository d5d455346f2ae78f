"""A sign-in split between its token file and one keyring item, and merged back: what
the file keeps (nothing secret), what the item keeps, and which wins when they differ."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import SecretStoreDamaged, SecretStoreLocked, SecretStoreUnavailable
from claude_code_oauth.secret_store.choose import backend_for
from claude_code_oauth.secret_store.interface import DEFAULT_TIMEOUT
from claude_code_oauth.secret_store.keyring_library import KeyringLibraryStore
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.file_form import ITEM_RESIGN_HINT
from claude_code_oauth.tokens.keyring_item import (
    IN_FILE,
    SECRETS,
    KeyringTarget,
    Location,
    StoreOpener,
    check_keyring,
    item_generation,
    location_of,
    merge,
    split,
    target_for,
)
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.stored_form import from_data, item_bytes
from helpers.memory_keyring import STORE, MemoryKeyring, memory_keyring, unlocking_store
from helpers.tokens import assert_same_secret

ACCESS = "sk-ant-oat01-" + "keyring-item-access-" + "a" * 40
REFRESH = "sk-ant-ort01-" + "keyring-item-refresh-" + "r" * 40
API_KEY = "sk-ant-api03-" + "keyring-item-key-" + "k" * 40
HERE = Location("secret-service", "work", 7)


def _login() -> TokenRecord:
    return TokenRecord(
        access_token=ACCESS,
        refresh_token=REFRESH,
        expires_at=2_000_003_600.0,
        obtained_at=2_000_000_000.0,
        scope="user:inference user:profile",
        account={"uuid": "acc-1", "email_address": "dev@example.com"},
        refresh_token_expires_at=2_002_592_000.0,
        extra={"usage_note": "kept"},
    )


def _console() -> ApiKeyRecord:
    return ApiKeyRecord(api_key=API_KEY, obtained_at=2_000_000_000.0, key_name="dev key")


def _no_secret_in(text: str) -> None:
    for secret in (ACCESS, REFRESH, API_KEY):
        assert secret not in text, "a secret is in the file's form"


@pytest.mark.parametrize("make", [_login, _console], ids=["oauth", "api_key"])
def test_split_keeps_no_secret_in_the_file_and_merge_gives_the_record_back(
    make: Callable[[], TokenRecord | ApiKeyRecord],
) -> None:
    record = make()
    file_form, item = split(record.to_json(), HERE)
    _no_secret_in(json.dumps(file_form))
    assert file_form[SECRETS] == {"store": "secret-service", "item": "work", "generation": 7}
    assert location_of(file_form) == HERE
    back = from_data(merge(file_form, item))
    assert type(back) is type(record)
    assert_same_secret(back.to_json(), record.to_json(), "the merged record")


def test_the_item_holds_the_secrets_of_its_kind_and_the_generation() -> None:
    item = json.loads(split(_login().to_json(), HERE)[1])
    assert sorted(item) == [
        "access_token",
        "expires_at",
        "generation",
        "kind",
        "refresh_token",
        "v",
    ]
    assert (item["v"], item["kind"], item["generation"]) == (1, "oauth", 7)
    key_item = json.loads(split(_console().to_json(), HERE)[1])
    assert sorted(key_item) == ["api_key", "generation", "kind", "v"]
    assert key_item["kind"] == "api_key"
    assert item_generation(split(_login().to_json(), HERE.next())[1], _login().to_json()) == 8


def test_the_item_wins_for_tokens_and_expiry_when_the_file_is_a_save_behind() -> None:
    """A process that died between writing the item and the file: the item is newer."""
    old = _login()
    file_form, _ = split(old.to_json(), HERE)
    new = _login()
    new.access_token, new.refresh_token = ACCESS[:-1] + "b", REFRESH[:-1] + "s"
    new.expires_at = old.expires_at + 3600
    _, newer_item = split(new.to_json(), HERE.next())
    merged = from_data(merge(file_form, newer_item))
    assert isinstance(merged, TokenRecord)
    assert_same_secret(
        (merged.access_token, merged.refresh_token), (new.access_token, new.refresh_token)
    )
    assert merged.expires_at == new.expires_at


def test_a_file_without_the_member_holds_its_own_secrets() -> None:
    assert location_of(_login().to_json()) is None
    assert location_of(["not", "an", "object"]) is None


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("secret-service", "secrets is not a JSON object"),
        (
            {"store": "plaintext", "item": "work", "generation": 1},
            "secrets.store names no known keyring",
        ),
        (
            {"store": "secret-service", "item": "Work/..", "generation": 1},
            "secrets.item is not a profile name",
        ),
        (
            {"store": "secret-service", "item": "work", "generation": 0},
            "secrets.generation is not a positive whole number",
        ),
        (
            {"store": "secret-service", "item": "work", "generation": True},
            "secrets.generation is not a positive whole number",
        ),
        (
            {"store": "secret-service", "item": "work", "generation": 2**53 + 1},
            "secrets.generation is not a positive whole number",
        ),
        (
            {"store": "secret-service", "item": "work"},
            "secrets.generation is not a positive whole number",
        ),
    ],
)
def test_a_malformed_member_is_named(member: object, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        location_of({SECRETS: member})
    assert str(caught.value) == why


@pytest.mark.parametrize("generation", [1, 2**53])
def test_the_first_and_the_last_generation_are_read(generation: int) -> None:
    member = {"store": "keyring-library", "item": "work", "generation": generation}
    assert location_of({SECRETS: member}) == Location("keyring-library", "work", generation)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\xff", "it is not JSON"),
        (b"{", "it is not JSON"),
        (b"[1]", "it is not a version 1 item"),
        (b'{"v": 2, "kind": "oauth", "generation": 1}', "it is not a version 1 item"),
        (
            b'{"v": 1, "kind": "api_key", "generation": 1}',
            "it holds 'api_key' secrets, the file 'oauth'",
        ),
        (
            b'{"v": 1, "kind": "' + b"k" * 30 + b'", "generation": 1}',
            "it holds '" + "k" * 20 + "' secrets, the file 'oauth'",
        ),
        (
            b'{"v": 1, "kind": "oauth", "generation": -3}',
            "its generation is not a positive whole number",
        ),
    ],
)
def test_an_item_that_is_not_what_split_writes_is_named(raw: bytes, why: str) -> None:
    file_form, _ = split(_login().to_json(), HERE)
    with pytest.raises(ValueError) as caught:
        merge(file_form, raw)
    assert str(caught.value) == why


def test_the_item_is_compact_json_in_the_documented_form() -> None:
    """One small value (the keyring library stores up to ~750 bytes in one entry)."""
    _, item = split(_console().to_json(), HERE)
    assert item == (
        b'{"v":1,"kind":"api_key","api_key":"' + API_KEY.encode() + b'","generation":7}'
    )


def test_an_item_with_a_number_that_is_not_finite_is_refused() -> None:
    stored = _login().to_json()
    stored["expires_at"] = float("nan")
    with pytest.raises(ValueError):
        split(stored, HERE)


def test_a_location_one_save_later_is_the_same_item_one_generation_on() -> None:
    later = HERE.next()
    assert later == Location("secret-service", "work", 8)
    assert later != HERE
    assert Location("keyring-library", "work", 7) != HERE
    assert Location("secret-service", "home", 7) != HERE
    assert HERE.to_json() != HERE
    assert repr(HERE) == "<Location secret-service item=work generation=7>"


# -- in-process, through the keyring library on an in-memory backend ---------------------
# The real KeyringLibraryStore (worker thread, deadline, parts) over a dict: what the
# token store does with an item, in the fast tier. tests/tokens/test_store_keyring.py
# does the same on the private gnome-keyring.

CALM_TIMEOUT = 30.0
KEYRING_NAME = "the system keyring (keyring library)"


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "data" / "claude_code_oauth.json")


def _item(profile: str) -> dict[str, Any]:
    raw = StoreOpener(CALM_TIMEOUT)(STORE).get(profile)
    assert raw is not None, f"no item for profile {profile}"
    return json.loads(raw)


def _file(path: str) -> dict[str, Any]:
    text = Path(path).read_text()
    _no_secret_in(text)
    return json.loads(text)


def test_a_save_writes_the_item_then_a_file_without_secrets_and_a_load_merges_them(
    memory: MemoryKeyring, path: str
) -> None:
    record = _login()
    token_store.save(path, record, secrets=KeyringTarget(STORE, "work"))
    assert _file(path)[SECRETS] == {"store": STORE, "item": "work", "generation": 1}
    item = _item("work")
    assert item["generation"] == 1
    assert_same_secret(item["refresh_token"], REFRESH, "the refresh token in the item")
    for stores in (None, StoreOpener(CALM_TIMEOUT)):
        loaded = token_store.load(path, stores=stores)
        assert loaded is not None
        assert_same_secret(loaded.to_json(), record.to_json(), "the loaded record")


def test_each_later_save_counts_one_generation_on_in_the_same_item(
    memory: MemoryKeyring, path: str
) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    token_store.save(path, _login())
    token_store.save(path, _login(), stores=StoreOpener(CALM_TIMEOUT))
    assert _file(path)[SECRETS]["generation"] == 3
    assert _item("work")["generation"] == 3


def test_a_save_to_another_item_starts_it_at_the_first_generation(
    memory: MemoryKeyring, path: str
) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    token_store.save(path, _login())
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "home"))
    assert _file(path)[SECRETS] == {"store": STORE, "item": "home", "generation": 1}
    assert _item("home")["generation"] == 1


def test_saving_in_the_file_puts_the_secrets_back_in_it(memory: MemoryKeyring, path: str) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    token_store.save(path, _login(), secrets=IN_FILE)
    data = json.loads(Path(path).read_text())
    assert SECRETS not in data
    assert_same_secret(data["refresh_token"], REFRESH, "the refresh token in the file")


def test_an_item_a_save_ahead_of_its_file_wins_and_the_next_save_counts_on_from_it(
    memory: MemoryKeyring, path: str
) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    newer = _login()
    newer.access_token, newer.refresh_token = ACCESS[:-1] + "b", REFRESH[:-1] + "s"
    newer.expires_at += 3600
    StoreOpener(CALM_TIMEOUT)(STORE).set("work", item_bytes(newer, Location(STORE, "work", 3)))
    loaded = token_store.load(path)
    assert isinstance(loaded, TokenRecord)
    assert_same_secret(
        (loaded.access_token, loaded.refresh_token),
        (newer.access_token, newer.refresh_token),
        "the tokens",
    )
    assert loaded.expires_at == newer.expires_at
    token_store.save(path, loaded)
    assert _file(path)[SECRETS]["generation"] == 4
    assert _item("work")["generation"] == 4


def test_a_missing_item_is_named_with_its_profile_file_and_keyring(
    memory: MemoryKeyring, path: str
) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    memory.entries.clear()
    with pytest.raises(SecretStoreDamaged) as caught:
        token_store.load(path)
    assert caught.value.reason == (
        f"The keyring item of profile work that {path} names is missing from {KEYRING_NAME}."
    )
    assert caught.value.hint == ITEM_RESIGN_HINT


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"not json", "it is not JSON"),
        (
            b'{"v": 1, "kind": "api_key", "generation": 1}',
            "it holds 'api_key' secrets, the file 'oauth'",
        ),
    ],
)
def test_a_damaged_item_is_named_with_its_profile_keyring_and_what_is_wrong(
    memory: MemoryKeyring, path: str, raw: bytes, why: str
) -> None:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    StoreOpener(CALM_TIMEOUT)(STORE).set("work", raw)
    with pytest.raises(SecretStoreDamaged) as caught:
        token_store.load(path)
    assert caught.value.reason == (
        f"The keyring item of profile work in {KEYRING_NAME} is damaged: {why}."
    )
    assert caught.value.hint == ITEM_RESIGN_HINT


@pytest.mark.parametrize("through", ["default", "given"])
def test_delete_removes_the_item_then_the_file(
    memory: MemoryKeyring, path: str, through: str
) -> None:
    stores = None if through == "default" else StoreOpener(CALM_TIMEOUT)
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    token_store.save(path, _console(), secrets=KeyringTarget(STORE, "home"))
    assert token_store.delete(path, stores=stores)
    assert memory.item("home") is None and memory.item("work") is not None
    assert not Path(path).exists()


def test_a_load_reads_the_item_through_the_opener_it_is_given(
    memory: MemoryKeyring, path: str, tmp_path: Path
) -> None:
    """The opener's environment is the one asked (here a bus that is not there)."""
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    data = json.loads(Path(path).read_text())
    data[SECRETS]["store"] = "secret-service"
    Path(path).write_text(json.dumps(data))
    nowhere = tmp_path / "no-bus"
    stores = StoreOpener(CALM_TIMEOUT, {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={nowhere}"})
    with pytest.raises(SecretStoreUnavailable) as caught:
        token_store.load(path, stores=stores)
    assert f"cannot reach the session bus ({nowhere}: No such file" in str(caught.value)


# -- the store opener -------------------------------------------------------------------


def test_the_opener_opens_each_store_once(memory: MemoryKeyring) -> None:
    opener = StoreOpener(CALM_TIMEOUT)
    assert opener(STORE) is opener(STORE)
    assert opener("secret-service") is opener("secret-service")
    assert opener(STORE) is not opener("secret-service")
    assert isinstance(opener(STORE), KeyringLibraryStore)


def test_the_opener_gives_each_store_its_deadline() -> None:
    assert StoreOpener()("secret-service").timeout == DEFAULT_TIMEOUT
    assert StoreOpener(7.5)("secret-service").timeout == 7.5
    assert StoreOpener(7.5)(STORE).timeout == 7.5
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_KEYRING_TIMEOUT": "9"})
    assert StoreOpener(1.0, settings=settings)("secret-service").timeout == 9.0


def test_the_opener_asks_the_keyring_of_the_settings_environment(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-bus"
    env = {"DBUS_SESSION_BUS_ADDRESS": f"unix:path={nowhere}"}
    for opener in (StoreOpener(CALM_TIMEOUT, env), StoreOpener(settings=Settings(environ=env))):
        with pytest.raises(SecretStoreUnavailable) as caught:
            opener("secret-service").probe()
        assert f"cannot reach the session bus ({nowhere}: No such file" in str(caught.value)


@pytest.fixture
def saved(memory: MemoryKeyring, path: str) -> Location:
    token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
    location = location_of(json.loads(Path(path).read_text()))
    assert location is not None
    return location


def test_a_remembering_opener_reads_the_keyring_once_while_the_file_is_the_same(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    opener = StoreOpener(CALM_TIMEOUT, remember=True)
    first = opener.read_item(path, saved)
    calls = memory.calls
    assert opener.read_item(path, saved) == first
    assert memory.calls == calls, "the remembered item was read again"
    token_store.save(path, _login())  # a save replaces the file: asked again
    later = location_of(json.loads(Path(path).read_text()))
    assert later is not None
    again = opener.read_item(path, later)
    assert memory.calls > calls
    assert again is not None and json.loads(again)["generation"] == 2


def test_loads_through_a_remembering_opener_ask_the_keyring_once_per_save(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    """What Code Puppy's provider does before every model request."""
    opener = StoreOpener(CALM_TIMEOUT, remember=True)
    first = token_store.load(path, stores=opener)
    calls = memory.calls
    again = token_store.load(path, stores=opener)
    assert memory.calls == calls, "the keyring was asked again for the same file"
    assert first is not None and again is not None
    assert_same_secret(again.to_json(), first.to_json(), "the remembered record")


def test_a_plain_opener_reads_the_keyring_every_time(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    opener = StoreOpener(CALM_TIMEOUT)
    opener.read_item(path, saved)
    calls = memory.calls
    opener.read_item(path, saved)
    assert memory.calls > calls


def test_a_remembering_opener_remembers_the_item_the_location_names(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    StoreOpener(CALM_TIMEOUT)(STORE).set("home", b"the home item")
    opener = StoreOpener(CALM_TIMEOUT, remember=True)
    assert opener.read_item(path, saved) != b"the home item"
    home = Location(STORE, "home", saved.generation)
    assert opener.read_item(path, home) == b"the home item"


def test_a_remembering_opener_does_not_remember_a_missing_item(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    opener = StoreOpener(CALM_TIMEOUT, remember=True)
    home = Location(STORE, "home", saved.generation)
    assert opener.read_item(path, home) is None
    StoreOpener(CALM_TIMEOUT)(STORE).set("home", b"the home item")
    assert opener.read_item(path, home) == b"the home item"


def test_a_remembering_opener_without_the_file_asks_the_keyring(
    memory: MemoryKeyring, path: str, saved: Location
) -> None:
    opener = StoreOpener(CALM_TIMEOUT, remember=True)
    gone = path + ".moved"
    first = opener.read_item(gone, saved)
    calls = memory.calls
    assert opener.read_item(gone, saved) == first
    assert memory.calls > calls


# -- where a sign-in goes, and what may prompt --------------------------------------------


def test_storage_keyring_targets_the_profiles_item_in_this_systems_keyring() -> None:
    settings = Settings(
        environ={"CLAUDE_CODE_OAUTH_STORAGE": "keyring", "CLAUDE_CODE_OAUTH_PROFILE": "work"}
    )
    target = target_for(settings)
    assert isinstance(target, KeyringTarget)
    assert (target.store, target.item, target.allow_prompt) == (backend_for(), "work", True)
    for mode in ("file", "auto"):
        assert target_for(Settings(environ={"CLAUDE_CODE_OAUTH_STORAGE": mode})) == IN_FILE


def test_a_new_sign_in_may_prompt_to_unlock_the_keyring_a_later_save_may_not(
    path: str,
) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_STORAGE": "keyring"})
    with unlocking_store() as keyring:
        with pytest.raises(SecretStoreLocked):
            token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
        assert keyring.prompts == 0 and not Path(path).exists()
        token_store.save(path, _login(), secrets=target_for(settings))
        assert keyring.prompts == 1 and keyring.items
        keyring.locked = True
        with pytest.raises(SecretStoreLocked):
            token_store.save(path, _login())  # a refresh: reads never prompt
        assert keyring.prompts == 1


def test_delete_may_prompt_to_unlock_the_keyring(path: str) -> None:
    with unlocking_store() as keyring:
        keyring.locked = False
        token_store.save(path, _login(), secrets=KeyringTarget(STORE, "work"))
        keyring.locked = True
        assert token_store.delete(path)
        assert keyring.prompts == 1 and not keyring.items
        assert not Path(path).exists()


def test_check_keyring_passes_a_locked_keyring_and_raises_one_that_fails(
    tmp_path: Path,
) -> None:
    keyring_mode = {"CLAUDE_CODE_OAUTH_STORAGE": "keyring"}
    with unlocking_store() as keyring:
        check_keyring(Settings(environ=keyring_mode))  # locked: the save will prompt
        assert keyring.prompts == 0
    nowhere = tmp_path / "no-bus"
    env = {**keyring_mode, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={nowhere}"}
    with pytest.raises(SecretStoreUnavailable) as caught:
        check_keyring(Settings(environ=env))
    assert f"cannot reach the session bus ({nowhere}: No such file" in str(caught.value)
    check_keyring(Settings(environ={**env, "CLAUDE_CODE_OAUTH_STORAGE": "file"}))
