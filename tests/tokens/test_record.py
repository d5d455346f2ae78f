"""One login's tokens as a value (:mod:`claude_code_oauth.tokens.record`): the exact
bounds of every check on a number or a token, the one-line words of a refusal, and the
account a sign-in belongs to. (The record's round trips through the file are in
``test_store.py``.)"""

from __future__ import annotations

import pytest

from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.record import MAX_LIFETIME, TokenRecord, account_uuid


def _refusal(body: dict[str, object]) -> str:
    with pytest.raises(ValueError) as caught:
        TokenRecord.from_token_response({"access_token": "x", **body}, now=0.0)
    return str(caught.value)


# -- a refusal names the value, short ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0, "0"),
        (MAX_LIFETIME + 1, str(MAX_LIFETIME + 1)),
        (10**12 - 1, "999999999999"),  # 12 digits: shown
        (10**12, "a number of more than 12 digits"),
        (-(10**12) + 1, "-999999999999"),
        (-(10**12), "a number of more than 12 digits"),
        (10**400, "a number of more than 12 digits"),
        ("x" * 22, "'" + "x" * 22 + "'"),  # 24 characters: whole
        ("x" * 23, "'" + "x" * 22 + "…"),  # 25: cut to 23 and an ellipsis
        ([3600], "[3600]"),
    ],
)
def test_an_unusable_expires_in_is_named_in_one_short_line(value: object, shown: str) -> None:
    assert _refusal({"expires_in": value}) == (
        f"expires_in {shown} is not a number of seconds between 1 and {MAX_LIFETIME}"
    )


def test_an_unsupported_token_type_is_named() -> None:
    assert _refusal({"token_type": "mac"}) == "unsupported token_type 'mac'"
    assert _refusal({"token_type": "b" * 40}) == "unsupported token_type '" + "b" * 22 + "…"


# -- whose account ---------------------------------------------------------------------


def _login(account: dict[str, object] | None) -> TokenRecord:
    return TokenRecord(
        access_token="access", refresh_token=None, expires_at=2.0, obtained_at=1.0, account=account
    )


def test_the_account_of_a_sign_in_is_its_uuid_when_known() -> None:
    assert account_uuid(_login({"uuid": "acc-1", "email_address": "a@example.com"})) == "acc-1"
    key = ApiKeyRecord(
        api_key="sk-ant-api03-" + "k" * 40, obtained_at=1.0, account={"uuid": "acc-2"}
    )
    assert account_uuid(key) == "acc-2"


@pytest.mark.parametrize("account", [None, {}, {"uuid": 7}, {"uuid": None}])
def test_an_account_without_a_uuid_string_is_unknown(account: dict[str, object] | None) -> None:
    assert account_uuid(_login(account)) is None
