"""One login's tokens as a value (:mod:`claude_code_oauth.tokens.record`): the exact
bounds of every check on a number or a token, the one-line words of a refusal, and the
account a sign-in belongs to. (The record's round trips through the file are in
``test_store.py``.)"""

from __future__ import annotations

import pytest

from claude_code_oauth.tokens.api_key import ApiKeyRecord
from claude_code_oauth.tokens.record import (
    MAX_EPOCH,
    MAX_LIFETIME,
    MAX_RETRY_AFTER,
    MAX_TOKEN_LENGTH,
    TokenRecord,
    account_uuid,
    finite_number,
    is_token,
    plain_json,
    stored_time,
)


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


# -- numbers: the exact bounds -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (2**53, 9007199254740992.0),  # the integers a float holds exactly
        (-(2**53), -9007199254740992.0),
        (2**53 + 1, None),
        (-(2**53) - 1, None),
        (0.5, 0.5),
        (float("inf"), None),
        (float("nan"), None),
        (True, None),
        ("1", None),
    ],
)
def test_a_finite_number_is_a_json_number_a_float_holds(value: object, number: object) -> None:
    assert finite_number(value) == number


def _nested(levels: int, leaf: object, *, kind: type = dict) -> object:
    value = leaf
    for _ in range(levels):
        value = {"a": value} if kind is dict else [value]
    return value


@pytest.mark.parametrize("kind", [dict, list])
def test_what_a_server_sends_about_the_account_is_kept_eight_levels_deep(kind: type) -> None:
    # The account object itself is level 0; containers up to level 7 are kept.
    kept = {"a": _nested(7, "leaf", kind=kind)}
    assert plain_json(kept) == kept
    assert plain_json({"a": _nested(8, "leaf", kind=kind)}) == {"a": _nested(7, None, kind=kind)}


def test_numbers_a_later_save_would_refuse_are_made_unknown_the_rest_kept() -> None:
    sent = {"n": 3, "f": 0.25, "yes": True, "s": "x", "none": None}
    assert plain_json({**sent, "big": 10**400, "nan": float("nan"), "inf": float("-inf")}) == {
        **sent,
        "big": None,
        "nan": None,
        "inf": None,
    }


def test_a_token_is_one_character_to_8_kib() -> None:
    assert is_token("t") and is_token("t" * MAX_TOKEN_LENGTH)
    assert not is_token("") and not is_token("t" * (MAX_TOKEN_LENGTH + 1))


@pytest.mark.parametrize(
    ("value", "kept"),
    [(0, 0.0), (0.5, 0.5), (MAX_EPOCH - 0.5, MAX_EPOCH - 0.5), (MAX_EPOCH, None), (-0.5, None)],
)
def test_a_stored_time_is_from_1970_to_before_2100(value: float, kept: float | None) -> None:
    assert stored_time(value) == kept


def test_a_login_the_server_says_ends_now_ends_now() -> None:
    record = TokenRecord.from_token_response(
        {"access_token": "x", "refresh_token_expires_in": 0}, now=500.0
    )
    assert record.refresh_token_expires_at == 500.0


# -- the record's clock ------------------------------------------------------------------


def test_the_lifetime_is_never_negative() -> None:
    assert _login(None).lifetime == 1.0
    backwards = TokenRecord(access_token="a", refresh_token=None, expires_at=5.0, obtained_at=9.0)
    assert backwards.lifetime == 0.0
    assert backwards.margin(None) == 0.0


def test_the_token_stops_being_fresh_exactly_at_the_margin() -> None:
    record = TokenRecord(
        access_token="a", refresh_token=None, expires_at=2000.0, obtained_at=1000.0
    )  # lifetime 1000 s: a margin of 100 s
    assert record.is_fresh(1899.5, None)
    assert not record.is_fresh(1900.0, None)
    assert record.is_fresh(1989.5, 10.0) and not record.is_fresh(1990.0, 10.0)


def test_repr_shows_when_it_expires_and_whether_it_needs_a_login() -> None:
    record = TokenRecord(
        access_token="a", refresh_token="r", expires_at=1234.6, obtained_at=1.0, needs_login=True
    )
    assert repr(record) == "<TokenRecord expires_at=1235 needs_login=True>"


# -- from a server's answer -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"access_token": None}, "the answer has no access_token"),
        ({"access_token": ""}, "the answer has no access_token"),
        ({"access_token": 5}, "the answer has no access_token"),
        ({"access_token": "a b"}, "the access_token is not a plausible token"),
        ({"refresh_token": "r\n"}, "the refresh_token is not a plausible token"),
        ({"token_type": None}, "unsupported token_type None"),
    ],
)
def test_an_unusable_answer_is_refused_in_words(body: dict[str, object], message: str) -> None:
    assert _refusal(body) == message


def test_the_token_type_is_bearer_in_any_case_and_stored_as_bearer() -> None:
    record = TokenRecord.from_token_response({"access_token": "x", "token_type": "bEARER"}, now=1.0)
    assert record.token_type == "Bearer"
    assert TokenRecord.from_token_response({"access_token": "x"}, now=1.0).token_type == "Bearer"


@pytest.mark.parametrize(
    ("scope", "stored"),
    [
        (["user:inference", "user:profile"], "user:inference user:profile"),
        (7, "asked:scope"),
        ("", ""),
    ],
)
def test_a_scope_sent_as_a_list_is_joined_and_one_of_no_use_is_what_was_asked(
    scope: object, stored: str
) -> None:
    body = {"access_token": "x", "scope": scope}
    record = TokenRecord.from_token_response(body, now=1.0, requested_scope="asked:scope")
    assert record.scope == stored


def test_a_sign_in_without_any_scope_has_none() -> None:
    assert TokenRecord.from_token_response({"access_token": "x"}, now=1.0).scope == ""


def test_a_refresh_of_a_login_whose_end_is_unknown_keeps_it_unknown() -> None:
    previous = TokenRecord(
        access_token="a", refresh_token="r", expires_at=2.0, obtained_at=1.0, scope="s"
    )
    record = TokenRecord.from_token_response({"access_token": "b"}, now=10.0, previous=previous)
    assert record.refresh_token_expires_at is None
    assert record.refresh_token == "r" and record.scope == "s"


# -- the stored form ----------------------------------------------------------------------


def test_a_new_record_is_stored_with_every_member() -> None:
    record = TokenRecord(
        access_token="a", refresh_token="r", expires_at=2.12345, obtained_at=1.00049
    )
    assert record.repaired == ()
    assert record.to_json() == {
        "version": 1,
        "access_token": "a",
        "refresh_token": "r",
        "token_type": "Bearer",
        "expires_at": 2.123,
        "obtained_at": 1.0,
        "scope": "",
        "account": None,
        "organization": None,
        "refresh_token_expires_at": None,
        "needs_login": False,
        "refresh_not_before": None,
        "last_error": None,
    }


def test_every_member_of_a_record_is_stored() -> None:
    record = TokenRecord(
        access_token="a",
        refresh_token="r",
        expires_at=3600.25,
        obtained_at=1.25,
        token_type="Bearer",
        scope="user:inference",
        account={"uuid": "acc-1"},
        organization={"uuid": "org-1"},
        refresh_token_expires_at=90_000.5,
        needs_login=True,
        refresh_not_before=700.5,
        last_error="The login expired.",
        extra={"from_a_newer_version": [1]},
    )
    assert record.to_json() == {
        "from_a_newer_version": [1],
        "version": 1,
        "access_token": "a",
        "refresh_token": "r",
        "token_type": "Bearer",
        "expires_at": 3600.25,
        "obtained_at": 1.25,
        "scope": "user:inference",
        "account": {"uuid": "acc-1"},
        "organization": {"uuid": "org-1"},
        "refresh_token_expires_at": 90_000.5,
        "needs_login": True,
        "refresh_not_before": 700.5,
        "last_error": "The login expired.",
    }


def _stored(**members: object) -> dict[str, object]:
    data: dict[str, object] = {"access_token": "a", "expires_at": 2000.0, "obtained_at": 1000.0}
    data.update(members)
    return {k: v for k, v in data.items() if v is not _MISSING}


_MISSING = object()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the top level is not a JSON object"),
        (_stored(access_token=_MISSING), "access_token is missing"),
        (_stored(access_token=""), "access_token is missing"),
        (_stored(access_token="a b"), "access_token is not a plausible token"),
        (_stored(refresh_token=5), "refresh_token is not a string"),
        (_stored(refresh_token="r r"), "refresh_token is not a plausible token"),
        (_stored(expires_at="soon"), "expires_at is not a number"),
        (_stored(obtained_at=False), "obtained_at is not a number"),
        (_stored(expires_at=_MISSING), "expires_at is missing"),
        (_stored(obtained_at=_MISSING), "obtained_at is missing"),
    ],
)
def test_a_stored_form_that_is_no_login_is_refused_in_words(data: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        TokenRecord.from_json(data)
    assert str(caught.value) == message


def test_what_a_stored_form_leaves_out_has_its_default() -> None:
    record = TokenRecord.from_json(_stored(refresh_token="", needs_login="yes", last_error=""))
    assert record.refresh_token is None
    assert record.token_type == "Bearer" and record.scope == ""
    assert record.needs_login is False and record.last_error is None
    assert record.repaired == ()
    assert TokenRecord.from_json(_stored(needs_login=True)).needs_login is True


def test_a_stored_error_is_kept_to_300_characters() -> None:
    record = TokenRecord.from_json(_stored(last_error="e" * 400))
    assert record.last_error == "e" * 300


def test_a_stored_token_type_is_kept_as_written() -> None:
    assert TokenRecord.from_json(_stored(token_type="bearer")).token_type == "bearer"


def test_a_file_that_lost_its_expiry_counts_as_expired_when_obtained() -> None:
    record = TokenRecord.from_json(_stored(expires_at=None, obtained_at=1000.0))
    assert (record.obtained_at, record.expires_at) == (1000.0, 1000.0)
    assert record.repaired == ("expires_at",)


def test_a_file_that_knows_neither_time_counts_as_expired_in_1970() -> None:
    record = TokenRecord.from_json(_stored(expires_at=None, obtained_at=None))
    assert (record.obtained_at, record.expires_at) == (0.0, 0.0)
    assert record.repaired == ("expires_at", "obtained_at")


def test_a_stored_lifetime_of_400_days_is_believed_and_a_longer_one_cut() -> None:
    exactly = TokenRecord.from_json(_stored(obtained_at=1000.0, expires_at=1000.0 + MAX_LIFETIME))
    assert exactly.expires_at == 1000.0 + MAX_LIFETIME and exactly.repaired == ()
    longer = TokenRecord.from_json(_stored(obtained_at=1000.0, expires_at=1001.0 + MAX_LIFETIME))
    assert longer.expires_at == 1000.0 + MAX_LIFETIME and longer.repaired == ("expires_at",)


def test_an_obtained_time_after_the_expiry_is_moved_back_to_it() -> None:
    record = TokenRecord.from_json(_stored(obtained_at=3000.0, expires_at=2000.0))
    assert (record.obtained_at, record.expires_at) == (2000.0, 2000.0)
    assert record.repaired == ()


@pytest.mark.parametrize(
    ("not_before", "kept"),
    [
        (5000.0 + MAX_RETRY_AFTER, True),  # a day from now: believed
        (5000.5 + MAX_RETRY_AFTER, False),
        (4000.0, True),  # already past: harmless
    ],
)
def test_a_stored_pause_longer_than_a_day_is_not_believed(not_before: float, kept: bool) -> None:
    record = TokenRecord.from_json(_stored(refresh_not_before=not_before), now=5000.0)
    assert record.refresh_not_before == (not_before if kept else None)
    assert record.repaired == (() if kept else ("refresh_not_before",))


def test_an_unusable_optional_time_is_set_aside_and_named() -> None:
    record = TokenRecord.from_json(
        _stored(refresh_token_expires_at=-1, refresh_not_before="later"), now=0.0
    )
    assert record.refresh_token_expires_at is None and record.refresh_not_before is None
    assert record.repaired == ("refresh_token_expires_at", "refresh_not_before")


def test_without_a_time_given_the_record_reads_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(time, "time", lambda: 50_000.0)
    record = TokenRecord.from_token_response({"access_token": "x", "expires_in": 60})
    assert (record.obtained_at, record.expires_at) == (50_000.0, 50_060.0)
    stored = _stored(refresh_not_before=50_000.0 + MAX_RETRY_AFTER + 1)
    assert TokenRecord.from_json(stored).refresh_not_before is None
    stored = _stored(refresh_not_before=50_000.0 + MAX_RETRY_AFTER)
    assert TokenRecord.from_json(stored).refresh_not_before == 50_000.0 + MAX_RETRY_AFTER
