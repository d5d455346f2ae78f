"""A sign-in split between its token file and one keyring item, and merged back: what
the file keeps (nothing secret), what the item keeps, and which wins when they differ."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.keyring_item import (
    SECRETS,
    Location,
    item_generation,
    location_of,
    merge,
    split,
)
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.stored_form import from_data
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
        ("secret-service", "not a JSON object"),
        ({"store": "plaintext", "item": "work", "generation": 1}, "no known keyring"),
        ({"store": "secret-service", "item": "Work/..", "generation": 1}, "not a profile name"),
        ({"store": "secret-service", "item": "work", "generation": 0}, "generation"),
        ({"store": "secret-service", "item": "work", "generation": True}, "generation"),
        ({"store": "secret-service", "item": "work"}, "generation"),
    ],
)
def test_a_malformed_member_is_named(member: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        location_of({SECRETS: member})


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\xff", "not JSON"),
        (b"[1]", "not a version 1 item"),
        (b'{"v": 2, "kind": "oauth", "generation": 1}', "not a version 1 item"),
        (b'{"v": 1, "kind": "api_key", "generation": 1}', "'api_key' secrets, the file 'oauth'"),
        (b'{"v": 1, "kind": "oauth", "generation": -3}', "generation"),
    ],
)
def test_an_item_that_is_not_what_split_writes_is_named(raw: bytes, why: str) -> None:
    file_form, _ = split(_login().to_json(), HERE)
    with pytest.raises(ValueError, match=why):
        merge(file_form, raw)
