"""A sign-in as its token file's bytes (:mod:`claude_code_oauth.tokens.stored_form`):
the exact bytes written, the trimmed form that always fits, the fingerprint of the
sign-in a write replaced (never the credential), and the JSON read back with the
numbers no save may write made unknown."""

from __future__ import annotations

import hashlib
import json

import pytest

from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.keyring_item import Location
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.stored_form import NOTHING, encode, from_data, identity, parse

KEY = "sk-ant-api03-" + "stored-form-key-" + "k" * 40


def _login(refresh: str | None = "refresh-token") -> TokenRecord:
    return TokenRecord(
        access_token="access-token", refresh_token=refresh, expires_at=2.0, obtained_at=1.0
    )


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_the_fingerprint_is_of_the_refresh_token_else_the_access_token_or_key() -> None:
    assert identity(_login()) == _sha("refresh-token")
    assert identity(_login(refresh=None)) == _sha("access-token")
    assert identity(ApiKeyRecord(api_key=KEY, obtained_at=1.0)) == _sha(KEY)
    assert identity(None) == NOTHING == "none"


def test_the_file_is_the_stored_form_indented_with_what_it_replaced_and_a_newline() -> None:
    record = _login()
    expected = {**record.to_json(), "replaces": "0123456789abcdef"}
    assert encode(record, "0123456789abcdef") == (json.dumps(expected, indent=2) + "\n").encode()


def test_a_trimmed_file_keeps_the_tokens_and_who_the_account_is() -> None:
    record = _login()
    record.account = {
        "uuid": "acc-1",
        "email_address": "e" * 300,
        "email": "old@example.com",
        "name": "Name",
        "display_name": "dropped",
        "tags": ["dropped"],
    }
    record.organization = {"uuid": 5, "name": "Org", "settings": {"dropped": True}}
    record.extra = {"from_a_newer_version": "dropped"}
    data = json.loads(encode(record, "f" * 16, trimmed=True))
    assert data == {
        **_login().to_json(),
        "account": {
            "uuid": "acc-1",
            "email_address": "e" * 200,
            "email": "old@example.com",
            "name": "Name",
        },
        "organization": {"uuid": 5, "name": "Org"},
        "replaces": "f" * 16,
    }


def test_a_trimmed_console_sign_in_keeps_its_key_and_what_names_it() -> None:
    record = ApiKeyRecord(
        api_key=KEY,
        obtained_at=1.0,
        key_id="key-1",
        key_name="laptop",
        extra={"from_a_newer_version": "dropped"},
    )
    assert json.loads(encode(record, NOTHING, trimmed=True)) == {
        "version": 1,
        "kind": "console_api_key",
        "api_key": KEY,
        "key_id": "key-1",
        "key_name": "laptop",
        "created_at": None,
        "obtained_at": 1.0,
        "account": None,
        "organization": None,
        "replaces": "none",
    }


def test_a_trimmed_file_whose_secrets_are_in_the_keyring_still_names_its_item() -> None:
    data = json.loads(
        encode(_login(), NOTHING, trimmed=True, location=Location("secret-service", "work", 4))
    )
    assert data["secrets"] == {"store": "secret-service", "item": "work", "generation": 4}
    assert "access_token" not in data and "refresh_token" not in data


def test_numbers_no_save_may_write_are_read_as_unknown() -> None:
    raw = b'{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e999, "e": 1.5, "f": 2}'
    assert parse(raw) == {"a": None, "b": None, "c": None, "d": None, "e": 1.5, "f": 2}


@pytest.mark.parametrize("raw", [b"\xff{}", b"{", b"[" * 100_000])
def test_bytes_that_are_no_json_raise_what_the_file_reader_names(raw: bytes) -> None:
    with pytest.raises((ValueError, UnicodeDecodeError, RecursionError)):
        parse(raw)


def test_the_sign_in_is_read_without_the_bookkeeping_of_the_write() -> None:
    login = from_data({**_login().to_json(), "replaces": "f" * 16})
    assert isinstance(login, TokenRecord) and login.extra == {}
    key = from_data({**ApiKeyRecord(api_key=KEY, obtained_at=1.0).to_json(), "replaces": "none"})
    assert isinstance(key, ApiKeyRecord) and key.extra == {}
