"""A Console sign-in's API key on disk: the record, the file, what OAuth-only callers get."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claude_code_oauth.errors import ApiKeySignIn, TokenFileError
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.api_key import KIND, MAX_LABEL, ApiKeyRecord
from claude_code_oauth.tokens.credential import API_KEY, Credential
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.time_zone import local_zone

#: Shaped like a key, but not one any emulator issued (so printing it would not leak).
KEY = "sk-ant-api03-" + "k" * 80 + "WXYZ"
LOGIN = {
    "access_token": "ignored",
    "account": {"uuid": "u-1", "email_address": "dev@example.com"},
    "organization": {"uuid": "o-1", "name": "Acme API"},
}


def _answer(**members: object) -> dict[str, object]:
    return {"raw_key": KEY, **members}


def test_the_answer_top_level_or_nested_names_the_key() -> None:
    nested = ApiKeyRecord.from_create_answer(
        _answer(
            api_key={
                "id": "apikey_01x",
                "name": "claude_code_key_dev_1a2b",
                "created_at": "2026-11-30T03:37:12Z",
            }
        ),
        login=LOGIN,
        now=2_000_000_000.0,
    )
    assert (nested.key_id, nested.key_name) == ("apikey_01x", "claude_code_key_dev_1a2b")
    assert nested.created_at == datetime(2026, 11, 30, 3, 37, 12, tzinfo=UTC).timestamp()
    assert nested.obtained_at == 2_000_000_000.0
    assert nested.organization_name == "Acme API" and nested.email == "dev@example.com"
    assert nested.last4 == "WXYZ"
    assert nested.label == "'claude_code_key_dev_1a2b' (…WXYZ)"
    top = ApiKeyRecord.from_create_answer(
        _answer(id="k1", name="top", api_key={"name": "nested"}), login={}, now=5.0
    )
    assert (top.key_id, top.key_name, top.created_at) == ("k1", "top", 5.0)
    assert top.account is None and top.organization is None
    bare = ApiKeyRecord.from_create_answer(_answer(), login=LOGIN, now=5.0)
    assert bare.label == "(…WXYZ)"


def test_names_from_a_server_are_one_short_line() -> None:
    record = ApiKeyRecord.from_create_answer(
        _answer(name="two\nlines\there", id="x" * 5000, created_at="not a time"),
        login=LOGIN,
        now=7.0,
    )
    assert record.key_name == "two lines here"
    assert record.key_id is not None and len(record.key_id) == MAX_LABEL
    assert record.created_at == 7.0
    assert (
        ApiKeyRecord.from_create_answer(
            _answer(name=["a list"], id=None), login=LOGIN, now=7.0
        ).key_name
        is None
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({}, "the answer has no raw_key"),
        ({"raw_key": 12345}, "its raw_key is not a plausible API key"),
        ({"raw_key": "short"}, "its raw_key is not a plausible API key"),
        ({"raw_key": "sk-ant-api03-with a space in it and more"}, "not a plausible"),
        ({"raw_key": "k" * 9000}, "not a plausible"),
    ],
)
def test_an_answer_without_a_usable_key_is_refused(answer: dict, why: str) -> None:
    with pytest.raises(ValueError, match=why) as caught:
        ApiKeyRecord.from_create_answer(answer, login=LOGIN, now=1.0)
    assert KEY not in str(caught.value)


def test_repr_and_credential_never_show_the_key() -> None:
    record = ApiKeyRecord.from_create_answer(_answer(name="n"), login=LOGIN, now=1.0)
    assert KEY not in repr(record) and "WXYZ" in repr(record)
    credential = Credential(API_KEY, KEY, "work")
    assert KEY not in repr(credential) and credential.is_api_key


def test_saved_privately_and_read_back_by_kind(tmp_path: Path) -> None:
    path = str(tmp_path / "data" / "claude_code_oauth.json")
    record = ApiKeyRecord.from_create_answer(
        _answer(name="n", id="i", created_at="2026-01-01T00:00:00+00:00"), login=LOGIN, now=9.5
    )
    record.extra["future_field"] = [1, 2]
    token_store.save(path, record)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    data = json.loads(Path(path).read_text())
    assert data["kind"] == KIND and data["api_key"] == KEY
    assert "access_token" not in data and "refresh_token" not in data
    loaded = token_store.load_sign_in(path)
    assert isinstance(loaded, ApiKeyRecord)
    assert (loaded.api_key, loaded.key_name, loaded.key_id) == (KEY, "n", "i")
    assert loaded.created_at == 1767225600.0 and loaded.obtained_at == 9.5
    assert loaded.extra == {"future_field": [1, 2]}
    assert loaded.account == LOGIN["account"]


def test_oauth_only_callers_get_one_line_not_a_record(tmp_path: Path, settings) -> None:
    token_store.save(settings.token_path, ApiKeyRecord(api_key=KEY, obtained_at=1.0))
    with pytest.raises(ApiKeySignIn) as caught:
        token_store.load(settings.token_path)
    assert "Anthropic API key (Console)" in str(caught.value)
    assert "claude-code-oauth token" in str(caught.value)
    provider = TokenProvider(settings)
    with pytest.raises(ApiKeySignIn):
        provider.get_access_token()
    credential = provider.get_credential()
    assert credential.kind == API_KEY and credential.secret == KEY
    assert credential.profile == "default"
    # An OAuth token the API refused cannot make a key file refresh anything.
    with pytest.raises(ApiKeySignIn):
        provider.replace_rejected("sk-ant-oat01-whatever")


@pytest.mark.parametrize(
    "stored",
    [
        {"kind": KIND},
        {"kind": KIND, "api_key": "short"},
        {"kind": KIND, "api_key": 7},
    ],
)
def test_a_damaged_key_file_is_one_line_and_set_aside_by_the_next_save(
    tmp_path: Path, stored: dict
) -> None:
    path = tmp_path / "claude_code_oauth.json"
    path.write_text(json.dumps(stored))
    path.chmod(0o600)
    with pytest.raises(TokenFileError, match="not a usable token file"):
        token_store.load_sign_in(str(path))
    token_store.save(str(path), ApiKeyRecord(api_key=KEY, obtained_at=1.0))
    aside = [p for p in tmp_path.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and json.loads(aside[0].read_text()) == stored


def test_absurd_stored_times_are_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "claude_code_oauth.json"
    path.write_text(
        '{"kind": "console_api_key", "api_key": "' + KEY + '", "created_at": 1e999, '
        '"obtained_at": NaN, "key_name": 5}'
    )
    record = token_store.load_sign_in(str(path))
    assert isinstance(record, ApiKeyRecord)
    assert record.created_at is None and record.obtained_at == 0.0 and record.key_name is None


# -- the exact edges of what is kept -------------------------------------------------------

CREATED = datetime(2026, 11, 30, 3, 37, 12, tzinfo=UTC).timestamp()


def test_a_name_of_max_label_characters_is_kept_whole_one_more_is_shortened() -> None:
    def name(given: str) -> str | None:
        return ApiKeyRecord.from_create_answer(_answer(name=given), login={}, now=1.0).key_name

    assert name("n" * MAX_LABEL) == "n" * MAX_LABEL
    assert name("n" * (MAX_LABEL + 1)) == "n" * (MAX_LABEL - 1) + "…"


@pytest.mark.parametrize("given", ["", "   \n\t ", "key\x00name", "\x1b[31mred"])
def test_a_name_that_is_empty_or_not_printable_is_no_name(given: str) -> None:
    record = ApiKeyRecord.from_create_answer(_answer(name=given, id="apikey_9"), login={}, now=1.0)
    assert record.key_name is None
    assert record.label == "'apikey_9' (…WXYZ)"  # the id names it instead


@pytest.mark.parametrize(
    "given",
    [
        "2026-11-30T03:37:12Z",
        "2026-11-30T05:37:12+02:00",  # another offset, the same instant
        "2026-11-30T03:37:12",  # no zone: UTC, whatever the local zone is
        "  2026-11-30T03:37:12Z\n",
        "2026-11-30T03:37:12Z".center(64),  # 64 characters with the padding: still read
    ],
)
def test_the_creation_time_is_read_as_utc(given: str) -> None:
    with local_zone("UTC+5"):
        record = ApiKeyRecord.from_create_answer(_answer(created_at=given), login={}, now=1.0)
    assert record.created_at == CREATED


def test_a_creation_time_longer_than_64_characters_is_not_read() -> None:
    given = "2026-11-30T03:37:12Z".center(65)
    record = ApiKeyRecord.from_create_answer(_answer(created_at=given), login={}, now=7.0)
    assert record.created_at == 7.0


def test_a_key_of_min_key_length_is_one_shorter_is_not() -> None:
    kept = ApiKeyRecord.from_create_answer({"raw_key": "k" * 20}, login={}, now=1.0)
    assert kept.last4 == "kkkk"
    with pytest.raises(ValueError, match="its raw_key is not a plausible API key"):
        ApiKeyRecord.from_create_answer({"raw_key": "k" * 19}, login={}, now=1.0)


def test_the_repr_names_the_key_by_name_and_last_four_only() -> None:
    record = ApiKeyRecord(api_key=KEY, obtained_at=1.0, key_name="dev key")
    assert repr(record) == "<ApiKeyRecord name='dev key' last4='WXYZ'>"


@pytest.mark.parametrize(
    "profile",
    [
        {"account": {"email_address": ""}, "organization": {"name": ""}},
        {"account": {"email_address": 7}, "organization": {"name": ["Acme"]}},
        {"account": None, "organization": None},
    ],
)
def test_an_empty_or_odd_email_or_organization_name_is_none(profile: dict) -> None:
    record = ApiKeyRecord(api_key=KEY, obtained_at=1.0, **profile)
    assert record.email is None and record.organization_name is None


def test_the_stored_form_exactly() -> None:
    record = ApiKeyRecord(
        api_key=KEY,
        obtained_at=9.12345,
        key_id="apikey_01",
        key_name="n",
        created_at=8.98765,
        account={"email_address": "dev@example.com"},
        organization=None,
        extra={"future_field": 1, "kind": "overridden"},
    )
    assert record.to_json() == {
        "future_field": 1,
        "version": token_store.FORMAT_VERSION,
        "kind": KIND,
        "api_key": KEY,
        "key_id": "apikey_01",
        "key_name": "n",
        "created_at": 8.988,
        "obtained_at": 9.123,
        "account": {"email_address": "dev@example.com"},
        "organization": None,
    }
    assert ApiKeyRecord(api_key=KEY, obtained_at=1.0).to_json()["created_at"] is None


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ({"kind": KIND}, "api_key is missing"),
        ({"kind": KIND, "api_key": ""}, "api_key is missing"),
        ({"kind": KIND, "api_key": 7}, "api_key is missing"),
        ({"kind": KIND, "api_key": "k" * 19}, "api_key is not a plausible API key"),
    ],
)
def test_a_damaged_stored_form_names_what_is_wrong(stored: dict, why: str) -> None:
    with pytest.raises(ValueError) as caught:
        ApiKeyRecord.from_json(stored)
    assert str(caught.value) == why


def test_a_stored_form_without_obtained_at_counts_from_its_creation() -> None:
    both = {"kind": KIND, "api_key": KEY, "created_at": 5.0, "obtained_at": 6.0}
    assert ApiKeyRecord.from_json(both).obtained_at == 6.0
    created = ApiKeyRecord.from_json({"kind": KIND, "api_key": KEY, "created_at": 5.0})
    assert (created.obtained_at, created.created_at) == (5.0, 5.0)
    neither = ApiKeyRecord.from_json({"kind": KIND, "api_key": KEY, "version": 1})
    assert (neither.obtained_at, neither.created_at) == (0.0, None)
    assert neither.extra == {}  # what the format knows is never kept as extra


def test_the_answer_may_spell_the_name_and_id_as_the_stored_form_does() -> None:
    record = ApiKeyRecord.from_create_answer(
        _answer(api_key={"key_id": "apikey_02", "key_name": "claude_code_key_x"}),
        login={},
        now=1.0,
    )
    assert (record.key_id, record.key_name) == ("apikey_02", "claude_code_key_x")
