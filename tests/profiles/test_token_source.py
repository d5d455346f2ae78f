"""A model entry's token source: the active profile per call, or the pinned one.

Real token files and real refreshes against the emulator; tokens are compared by
the account the emulator says issued them, or by digest, never printed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import NotSignedIn
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.token_source import ProfileTokenSource, export_active_token
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.tokens import assert_same_secret, digest, seed, stored

FIRST = "emulated.user@example.com"
WORK = "work@example.com"
VARIABLE = "CLAUDE_CODE_OAUTH_TEST_EXPORTED_TOKEN"


@pytest.fixture
def two(emulator: ClaudeEmulator, settings: Settings) -> Settings:
    """Profiles ``default`` (first account) and ``work`` (another), both fresh."""
    emulator.add_account(WORK)
    seed(emulator, settings.with_profile("default").token_path, expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    return settings


def test_following_the_active_profile_per_call(emulator: ClaudeEmulator, two: Settings) -> None:
    source = ProfileTokenSource(two)
    assert source.following and source.profile == "default"
    assert emulator.account_for_token(source.get_access_token()) == FIRST
    write_active_profile(two, "work")
    assert source.profile == "work"
    assert emulator.account_for_token(source.get_access_token()) == WORK
    write_active_profile(two, "default")
    assert emulator.account_for_token(source.get_access_token()) == FIRST
    # The same provider object per profile: single flight stays per token file.
    assert source.provider() is source.provider()
    assert emulator.grants["refresh_token"] == 0


def test_a_pinned_source_ignores_switches(emulator: ClaudeEmulator, two: Settings) -> None:
    pinned = ProfileTokenSource(two, "work")
    assert not pinned.following
    for active in ("default", "work", "default"):
        write_active_profile(two, active)
        assert emulator.account_for_token(pinned.get_access_token()) == WORK


def test_an_environment_profile_fixes_a_following_source(
    emulator: ClaudeEmulator, two: Settings, data_dir: Path
) -> None:
    env = {"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir), **emulator.env()}
    fixed = ProfileTokenSource(Settings(environ={**env, "CLAUDE_CODE_OAUTH_PROFILE": "work"}))
    assert not fixed.following
    write_active_profile(two, "default")
    assert emulator.account_for_token(fixed.get_access_token()) == WORK


def test_replace_rejected_goes_to_the_profile_that_issued_the_token(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(two)
    first_token = source.get_access_token()
    work_before = digest(stored(two.with_profile("work").token_path).access_token)
    write_active_profile(two, "work")  # switched while the request was under way
    replacement = source.replace_rejected(first_token)
    assert emulator.account_for_token(replacement) == FIRST
    assert emulator.grants["refresh_token"] == 1
    rotated = digest(stored(two.with_profile("default").token_path).access_token)
    assert rotated == digest(replacement)
    work_after = digest(stored(two.with_profile("work").token_path).access_token)
    assert work_after == work_before
    # A token it never handed out: the active profile answers.
    fresh = source.replace_rejected("never-issued")
    assert emulator.account_for_token(fresh) == WORK


def test_a_replacement_belongs_to_the_profile_whose_token_it_replaced(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(two)
    first_token = source.get_access_token()
    write_active_profile(two, "work")  # switched while the request was under way
    replacement = source.replace_rejected(first_token)
    # The retry's answer is filed under the profile that served it, not the active one…
    issuer = source.settings_for_token(replacement)
    assert issuer is not None and issuer.profile == "default"
    # …and a second 401 on the retry refreshes that profile again, not "work".
    again = source.replace_rejected(replacement)
    assert emulator.account_for_token(again) == FIRST
    assert emulator.grants["refresh_token"] == 2


def test_an_expired_token_refreshes_only_its_own_profile(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    default_path = two.with_profile("default").token_path
    seed(emulator, two.with_profile("work").token_path, expires_in=-60, email=WORK)
    before = digest(stored(default_path).access_token)
    token = ProfileTokenSource(two, "work").get_access_token()
    assert emulator.account_for_token(token) == WORK
    assert emulator.grants["refresh_token"] == 1
    assert digest(stored(default_path).access_token) == before


def test_not_signed_in_names_the_profile_and_how_to_get_out(two: Settings) -> None:
    write_active_profile(two, "ghost")
    with pytest.raises(NotSignedIn) as following:
        ProfileTokenSource(two).get_access_token()
    message = str(following.value)
    assert message.startswith("Not signed in to Claude (profile ghost).")
    assert "/claude-code-auth --profile ghost" in message and "/claude-code-switch" in message
    with pytest.raises(NotSignedIn) as pinned:
        ProfileTokenSource(two, "gone").get_access_token()
    assert str(pinned.value).startswith("Not signed in to Claude (profile gone).")
    assert "/claude-code-switch" not in str(pinned.value)


def test_the_exported_variable_holds_only_the_active_profiles_token(
    emulator: ClaudeEmulator, two: Settings, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    base = Settings(
        {"api_key_env_var": VARIABLE},
        environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir), **emulator.env()},
    )
    assert export_active_token(base) == "default"
    assert emulator.account_for_token(os.environ[VARIABLE]) == FIRST
    write_active_profile(base, "work")
    assert export_active_token(base) == "work"
    assert emulator.account_for_token(os.environ[VARIABLE]) == WORK
    # The default profile's provider rotates its token: the variable stays work's.
    default = ProfileTokenSource(base, "default")
    default.replace_rejected(default.get_access_token())
    assert emulator.grants["refresh_token"] == 1
    assert emulator.account_for_token(os.environ[VARIABLE]) == WORK
    # ...while a rotation of the active profile's token is followed.
    work = ProfileTokenSource(base, "work")
    rotated = work.replace_rejected(work.get_access_token())
    assert_same_secret(os.environ[VARIABLE], rotated, f"{VARIABLE}")
    # The active profile without a sign-in: the variable is removed, not left stale.
    write_active_profile(base, "ghost")
    assert export_active_token(base) == "ghost"
    assert VARIABLE not in os.environ


def test_not_signed_in_word_for_word_whichever_call_asks(two: Settings) -> None:
    login = (
        "Sign in with `claude-code-oauth login --profile gone` "
        "(or /claude-code-auth --profile gone in Code Puppy)"
    )
    write_active_profile(two, "gone")
    following = ProfileTokenSource(two)
    pinned = ProfileTokenSource(two, "gone")
    for call in (following.get_credential, lambda: following.replace_rejected("never-issued")):
        with pytest.raises(NotSignedIn) as raised:
            call()
        assert str(raised.value) == (
            f"Not signed in to Claude (profile gone). {login}, or make another profile "
            "active with `claude-code-oauth switch NAME` (or /claude-code-switch NAME in Code "
            "Puppy)."
        )
    for call in (pinned.get_credential, lambda: pinned.replace_rejected("never-issued")):
        with pytest.raises(NotSignedIn) as raised:
            call()
        assert str(raised.value) == f"Not signed in to Claude (profile gone). {login}."


def test_the_last_16_tokens_handed_out_are_remembered(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(two, "work")
    handed = []
    for _ in range(17):
        handed.append(source.get_access_token())
        source.replace_rejected(handed[-1])  # a new token for the next request
    assert len({digest(token) for token in handed}) == 17
    # 18 tokens went out (the 17 and the last replacement): the first two are forgotten.
    issuers = [source.settings_for_token(token) for token in handed]
    assert [None if s is None else s.profile for s in issuers] == [None] * 2 + ["work"] * 15


def test_exporting_a_profile_without_a_sign_in_leaves_the_variable_unset(
    emulator: ClaudeEmulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(VARIABLE, raising=False)
    base = Settings(
        {"api_key_env_var": VARIABLE},
        environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir), **emulator.env()},
    )
    write_active_profile(base, "ghost")
    assert export_active_token(base) == "ghost"
    assert VARIABLE not in os.environ


def test_a_profile_override_in_the_base_settings_fixes_the_source(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    fixed = ProfileTokenSource(two.with_profile("work"))
    assert not fixed.following
    write_active_profile(two, "default")
    assert emulator.account_for_token(fixed.get_access_token()) == WORK


def test_an_empty_environment_profile_still_follows_the_active_one(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(Settings(environ={**two.environ, "CLAUDE_CODE_OAUTH_PROFILE": " "}))
    assert source.following
    write_active_profile(two, "work")
    assert emulator.account_for_token(source.get_access_token()) == WORK


def test_the_credential_handed_out_is_remembered_unless_it_is_an_api_key(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.api_key import ApiKeyRecord

    source = ProfileTokenSource(two)
    write_active_profile(two, "work")
    oauth = source.get_credential()
    assert not oauth.is_api_key and emulator.account_for_token(oauth.secret) == WORK
    issuer = source.settings_for_token(oauth.secret)
    assert issuer is not None and issuer.profile == "work"
    console = "sk-ant-api03-" + "k" * 80 + "WXYZ"
    token_store.save(
        two.with_profile("console").token_path, ApiKeyRecord(api_key=console, obtained_at=1.0)
    )
    write_active_profile(two, "console")
    key = source.get_credential()
    assert key.is_api_key
    assert_same_secret(key.secret, console, "the Console key")
    assert source.settings_for_token(console) is None
