"""The token file read without its secrets (:mod:`claude_code_oauth.tokens.file_form`):
damage in one line, word for word, with the advice to sign in again; whether a file
holds a sign-in and where its secrets live; whose account it is. None of it asks a
keyring anything (no store is given, and none could be opened here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from claude_code_oauth.errors import TokenFileError
from claude_code_oauth.tokens import file_form
from claude_code_oauth.tokens.keyring_item import Location

RESIGN = (
    "Run `claude-code-oauth login` (or /claude-code-auth) to sign in again; "
    "the damaged file will be kept beside it as a .corrupt copy."
)
SECRETS = {"store": "secret-service", "item": "work", "generation": 3}


def _file_form(**members: object) -> bytes:
    data: dict[str, object] = {"expires_at": 2.0, "obtained_at": 1.0, "scope": "user:inference"}
    data.update(members)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b'{"access_token": "x",\n  ', "not valid JSON (line 2, column 3)"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[" * 100_000 + b"]" * 100_000, "not a usable token file (nested too deeply)"),
        (
            _file_form(secrets=["secret-service"]),
            "not a usable token file (secrets is not a JSON object)",
        ),
    ],
)
def test_damage_is_one_line_naming_the_file_and_what_is_wrong(
    token_path: Path, content: bytes, why: str
) -> None:
    token_path.write_bytes(content)
    for read in (file_form.load_file_form, file_form.stored_location, file_form.account_in_file):
        with pytest.raises(TokenFileError) as caught:
            read(str(token_path))
        assert caught.value.reason == f"The token file {token_path} is {why}."
        assert caught.value.hint == RESIGN
    assert token_path.read_bytes() == content  # read only: left where it is


def test_where_the_secrets_live_is_read_from_the_file_alone(token_path: Path) -> None:
    assert file_form.stored_location(str(token_path)) == (False, None)  # no file
    assert file_form.secrets_location(str(token_path)) is None
    token_path.write_bytes(_file_form(access_token="a", refresh_token="r"))
    assert file_form.stored_location(str(token_path)) == (True, None)  # in the file
    assert file_form.secrets_location(str(token_path)) is None
    token_path.write_bytes(_file_form(secrets=SECRETS))
    where = Location("secret-service", "work", 3)
    assert file_form.stored_location(str(token_path)) == (True, where)
    assert file_form.secrets_location(str(token_path)) == where


@pytest.mark.parametrize(
    ("content", "account"),
    [
        (_file_form(secrets=SECRETS, account={"uuid": "acc-1", "email": "a@b"}), "acc-1"),
        (_file_form(account={"uuid": 7}), None),
        (_file_form(account="acc-1"), None),
        (_file_form(), None),
        (b"[]", None),
    ],
)
def test_the_account_is_its_uuid_string_from_the_file_alone(
    token_path: Path, content: bytes, account: str | None
) -> None:
    token_path.write_bytes(content)
    assert file_form.account_in_file(str(token_path)) == account


def test_no_file_has_no_account(token_path: Path) -> None:
    assert file_form.account_in_file(str(token_path)) is None
    assert file_form.load_file_form(str(token_path)) is None


def test_a_file_over_1_mib_is_refused_by_its_size_unread(token_path: Path) -> None:
    token_path.write_bytes(b" " * (file_form.MAX_FILE_BYTES + 1))
    with pytest.raises(TokenFileError) as caught:
        file_form.load_file_form(str(token_path))
    assert caught.value.reason == (
        f"Refusing to read {token_path}: it is larger (1,048,577 bytes) than the 1 MiB such a file "
        "can hold; it was not read."
    )
    assert caught.value.hint == RESIGN
