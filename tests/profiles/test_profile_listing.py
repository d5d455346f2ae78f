"""Which profiles exist, their summaries, and the list a limit message may mention."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.listing import (
    ProfileSummary,
    active_listing,
    describe,
    list_profiles,
    other_profiles_hint,
    other_signed_in_profiles,
    plan_of,
    profile_names,
    summarize,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.store import TokenRecord
from helpers.time_zone import local_zone
from helpers.tokens import seed

WORK = "work@example.com"


def test_only_token_files_are_profiles(data_dir: Path, settings: Settings) -> None:
    for name in (
        "claude_code_oauth.json",  # default
        "claude_code_oauth.work.json",
        "claude_code_oauth.b-2.json",
        "claude_code_oauth.json.lock",
        "claude_code_oauth.work.json.lock",
        "claude_code_oauth.default.usage.json",  # side files
        "claude_code_oauth.work.usage.json",
        "claude_code_oauth.json.corrupt-20261128-101010-42",
        ".claude_code_oauth.work.json.0123456789ab.tmp",
        "claude_code_oauth.default.json",  # nobody's: default is the plain name
        "claude_code_oauth.Work.json",  # not a profile name
        "claude_code_oauth.active_profile",
        "extra_models.json",
    ):
        (data_dir / name).write_text("{}")
    assert profile_names(settings) == ["default", "b-2", "work"]
    (data_dir / "claude_code_oauth.json").unlink()
    assert profile_names(settings) == ["b-2", "work"]


def test_a_missing_data_dir_has_no_profiles(tmp_path: Path) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(tmp_path / "none")})
    assert profile_names(settings) == []


def test_summaries_the_active_profile_and_describe(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    emulator.add_account(WORK, organization="Acme")
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    (data_dir / "claude_code_oauth.old.json").write_text("{not json")
    write_active_profile(settings, "work")
    now = time.time()
    summaries = list_profiles(settings.with_profile("default"), now=now)
    assert [(s.name, s.active, s.signed_in) for s in summaries] == [
        ("default", False, True),
        ("old", False, True),
        ("work", True, True),
    ]
    default, old, work = summaries
    assert default.email == "emulated.user@example.com" and default.usable
    assert (work.email, work.organization) == (WORK, "Acme")
    assert old.error and "not valid JSON" in old.error and not old.usable
    line = describe(default, now)
    assert line.startswith("default: emulated.user@example.com (Emulated Organization) — token")
    assert "login ends in 29d" in line
    assert describe(old, now).startswith("old: The token file")
    data = default.to_json(now)
    assert set(data) == {
        "profile",
        "active",
        "signed_in",
        "needs_login",
        "email",
        "organization",
        "plan",
        "access_token_expires_at",
        "access_token_expires_in",
        "login_expires_at",
        "login_expires_in",
        "token_file",
        "error",
        "credential",
        "api_key",
    }
    assert data["credential"] == "oauth" and data["api_key"] is None
    assert 3500 < data["access_token_expires_in"] <= 3600
    # A profile named on the command line comes first even without a sign-in.
    first = list_profiles(settings.with_profile("new"), now=now)[0]
    assert (first.name, first.signed_in, first.active) == ("new", False, False)
    assert describe(first, now) == "new: not signed in"


def test_other_signed_in_profiles_for_a_limit_message(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    emulator.add_account(WORK)
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    seed(emulator, settings.with_profile("dead").token_path, expires_in=3600, needs_login=True)
    others = other_signed_in_profiles(settings.with_profile("default"))
    assert [(s.name, s.email) for s in others] == [("work", WORK)]
    assert [s.name for s in other_signed_in_profiles(settings.with_profile("work"))] == ["default"]
    everyone = other_signed_in_profiles(settings.with_profile("nobody"))
    assert [s.name for s in everyone] == ["default", "work"]
    assert other_profiles_hint(settings.with_profile("default")) == (
        f"Other signed-in profiles: work ({WORK}). Switching is your choice: "
        "`claude-code-oauth switch NAME` (or /claude-code-switch NAME in Code Puppy)."
    )
    (data_dir / "claude_code_oauth.json").unlink()
    (data_dir / "claude_code_oauth.work.json").unlink()
    assert other_profiles_hint(settings.with_profile("dead")) is None
    assert other_profiles_hint(settings.with_profile("Bad")) is None  # never raises


def test_plan_where_the_stored_details_say_it() -> None:
    def record(organization: dict | None = None, account: dict | None = None) -> TokenRecord:
        return TokenRecord(
            access_token="a",
            refresh_token="r",
            expires_at=1.0,
            obtained_at=0.0,
            organization=organization,
            account=account,
        )

    assert plan_of(record()) is None
    assert plan_of(record({"organization_type": "claude_pro"})) == "Pro"
    tier = {"organization_type": "claude_max", "rate_limit_tier": "default_claude_max_20x"}
    assert plan_of(record(tier)) == "Max 20x"
    assert plan_of(record(account={"has_claude_max": True})) == "Max"
    assert plan_of(record({"organization_type": 7})) is None


def test_profiles_beside_a_token_file_named_otherwise(tmp_path: Path) -> None:
    """The profiles' files follow ``token_file`` whatever its shape: no extension, a
    hidden name, more than one dot."""
    for token_file, files, expected in (
        ("tokens", ["tokens", "tokens.work", "tokens.x.json", "other.work"], ["default", "work"]),
        (".tokens", [".tokens", ".tokens.work", ".work.tokens"], ["default", "work"]),
        (
            "my.tokens.json",
            ["my.tokens.json", "my.tokens.work.json", "my.work.json", "my.tokens.json.b"],
            ["default", "work"],
        ),
    ):
        data = tmp_path / token_file.replace(".", "_")
        data.mkdir()
        for name in files:
            (data / name).write_text("{}")
        settings = Settings(
            {"token_file": token_file}, environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data)}
        )
        assert profile_names(settings) == expected, token_file


def test_plan_names_from_the_stored_account_details() -> None:
    def record(organization: dict | None = None, account: dict | None = None) -> TokenRecord:
        return TokenRecord(
            access_token="a",
            refresh_token="r",
            expires_at=1.0,
            obtained_at=0.0,
            organization=organization,
            account=account,
        )

    assert plan_of(record(account={"has_claude_pro": True})) == "Pro"
    assert plan_of(record(account={"has_claude_pro": False})) is None
    five = {"organization_type": "claude_max", "rate_limit_tier": "default_claude_max_5x"}
    assert plan_of(record(five)) == "Max 5x"
    # An organization type that is no string (a list cannot even be looked up) is no plan.
    assert plan_of(record({"organization_type": ["claude_max"]})) is None


PLAN_ACCOUNT = {"email_address": WORK, "uuid": "account-of-work"}
NO_PLAN_ORG = {"name": "Acme", "uuid": "org-of-work"}


def test_the_plan_the_sign_in_read_when_the_stored_details_name_none(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    from claude_code_oauth.account import usage_snapshot
    from claude_code_oauth.account.usage_snapshot import Plan, UsageFile

    work = settings.with_profile("work")
    emulator.add_account(WORK)
    seed(
        emulator,
        work.token_path,
        expires_in=3600,
        email=WORK,
        account=PLAN_ACCOUNT,
        organization=NO_PLAN_ORG,
    )
    path = usage_snapshot.usage_path(work)

    def plan_shown(plan: Plan, account: str = "account-of-work") -> str | None:
        usage_snapshot.save(path, UsageFile(account=account, plan=plan))
        return summarize(settings, "work", active=False, now=time.time()).plan

    assert plan_shown(Plan("Max", "default_claude_max_5x", 1.0)) == "Max 5x"
    # The name the profile endpoint displays, when it gave one.
    assert plan_shown(Plan("Max", "default_claude_max_5x", 1.0, "Max 5x Team")) == "Max 5x Team"
    # Another account's snapshot says nothing about this one.
    assert plan_shown(Plan("Pro", None, 1.0), account="someone-else") is None
    # The stored details win when they name a plan.
    seed(
        emulator,
        work.token_path,
        expires_in=3600,
        email=WORK,
        account=PLAN_ACCOUNT,
        organization={**NO_PLAN_ORG, "organization_type": "claude_max"},
    )
    assert plan_shown(Plan("Team", None, 1.0)) == "Max"
    # Nothing read yet: no plan.
    usage_snapshot.save(path, UsageFile(account="account-of-work"))
    seed(
        emulator,
        work.token_path,
        expires_in=3600,
        email=WORK,
        account=PLAN_ACCOUNT,
        organization=NO_PLAN_ORG,
    )
    assert summarize(settings, "work", active=False, now=time.time()).plan is None


NOW = 1_800_000_000.0


def _summary(**fields: Any) -> ProfileSummary:
    """A summary of profile ``work`` signed in as WORK, with ``fields`` changed."""
    base: dict[str, Any] = {
        "name": "work",
        "active": True,
        "token_path": "/data/claude_code_oauth.work.json",
        "signed_in": True,
        "email": WORK,
    }
    return ProfileSummary(**{**base, **fields})


def test_describe_word_for_word() -> None:
    assert describe(_summary(needs_login=True, organization="Acme", plan="Max"), NOW) == (
        f"work: {WORK} (Acme, Max) — needs a new login"
    )
    assert describe(_summary(email=None), NOW) == (
        "work: unknown account — token expiry unknown (refreshed on next use)"
    )
    valid = _summary(plan="Pro", access_token_expires_at=NOW + 61, login_expires_at=NOW + 86400)
    assert describe(valid, NOW) == (
        f"work: {WORK} (Pro) — token valid, expires in 1m 1s; login ends in 1d 0h"
    )
    # Expiring this very second is expired.
    assert describe(_summary(access_token_expires_at=NOW), NOW) == (
        f"work: {WORK} — token expired, expires in 0s"
    )
    assert describe(_summary(access_token_expires_at=NOW - 90), NOW) == (
        f"work: {WORK} — token expired, expires 1m 30s ago"
    )
    console = _summary(organization="Acme", plan="API", credential="api_key", api_key_last4="WXYZ")
    assert describe(console, NOW) == f"work: {WORK} (Acme, API) — Anthropic API key (Console) …WXYZ"
    created = _summary(credential="api_key", api_key_last4="WXYZ", api_key_created_at=NOW - 7200)
    assert describe(created, NOW) == (
        f"work: {WORK} — Anthropic API key (Console) …WXYZ, created 2h 0m ago"
    )


def test_the_json_form_of_a_summary_word_for_word() -> None:
    oauth = _summary(
        organization="Acme",
        plan="Max",
        access_token_expires_at=NOW + 3600,
        login_expires_at=NOW + 86400,
        credential="oauth",
    )
    with local_zone("UTC"):
        assert oauth.to_json(NOW) == {
            "profile": "work",
            "active": True,
            "signed_in": True,
            "needs_login": False,
            "email": WORK,
            "organization": "Acme",
            "plan": "Max",
            "access_token_expires_at": "2027-01-15T09:00:00+00:00",
            "access_token_expires_in": 3600,
            "login_expires_at": "2027-01-16T08:00:00+00:00",
            "login_expires_in": 86400,
            "token_file": "/data/claude_code_oauth.work.json",
            "error": None,
            "credential": "oauth",
            "api_key": None,
        }
        unknown = _summary(credential="oauth").to_json(NOW)
        assert (unknown["access_token_expires_at"], unknown["access_token_expires_in"]) == (
            None,
            None,
        )
        console = _summary(
            plan="API",
            credential="api_key",
            api_key_name="dev key",
            api_key_last4="WXYZ",
            api_key_created_at=NOW - 7200,
        ).to_json(NOW)
    assert console["api_key"] == {
        "name": "dev key",
        "last4": "WXYZ",
        "created_at": "2027-01-15T06:00:00+00:00",
    }


CONSOLE_KEY = "sk-ant-api03-" + "k" * 80 + "WXYZ"


def test_a_console_sign_in_is_summarized_by_its_key_never_the_key_itself(
    settings: Settings,
) -> None:
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.api_key import ApiKeyRecord

    work = settings.with_profile("work")
    record = ApiKeyRecord(
        api_key=CONSOLE_KEY,
        obtained_at=NOW - 60,
        key_name="dev key",
        created_at=NOW - 7200,
        account={"email_address": WORK},
        organization={"name": "Acme"},
    )
    token_store.save(work.token_path, record)
    summary = summarize(settings, "work", active=True, now=NOW)
    assert summary == ProfileSummary(
        "work",
        True,
        work.token_path,
        signed_in=True,
        email=WORK,
        organization="Acme",
        plan="API",
        credential="api_key",
        api_key_name="dev key",
        api_key_last4="WXYZ",
        api_key_created_at=NOW - 7200,
    )
    assert summary.usable
    assert CONSOLE_KEY not in repr(summary) and CONSOLE_KEY not in str(summary.to_json(NOW))


def test_a_damaged_token_file_is_reported_as_needing_a_login(
    data_dir: Path, settings: Settings
) -> None:
    path = data_dir / "claude_code_oauth.old.json"
    path.write_text("{not json")
    with local_zone("UTC"):
        data = summarize(settings, "old", active=False, now=NOW).to_json(NOW)
    error = data.pop("error")
    assert error.startswith(f"The token file {path} ") and "not valid JSON" in error
    assert data == {
        "profile": "old",
        "active": False,
        "signed_in": True,
        "needs_login": True,
        "email": None,
        "organization": None,
        "plan": None,
        "access_token_expires_at": None,
        "access_token_expires_in": None,
        "login_expires_at": None,
        "login_expires_in": None,
        "token_file": str(path),
        "credential": None,
        "api_key": None,
    }
    missing = summarize(settings, "gone", active=False, now=NOW)
    assert missing == ProfileSummary(
        "gone", False, str(data_dir / "claude_code_oauth.gone.json"), signed_in=False
    )


def test_a_login_ends_at_its_deadline_even_with_a_refresh_token(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    record = seed(emulator, settings.with_profile("work").token_path, expires_in=3600)
    deadline = record.refresh_token_expires_at
    assert deadline is not None and record.refresh_token
    before = summarize(settings, "work", active=False, now=deadline - 1)
    at = summarize(settings, "work", active=False, now=deadline)
    assert (before.needs_login, at.needs_login) == (False, True)
    assert at.login_expires_at == deadline and not at.usable
    assert at.token_path == settings.with_profile("work").token_path


def test_an_unusable_stored_expiry_is_shown_as_unknown(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    path = settings.with_profile("work").token_path
    seed(emulator, path, expires_in=3600)
    data = json.loads(Path(path).read_text())
    data["expires_at"] = None
    Path(path).write_text(json.dumps(data))
    summary = summarize(settings, "work", active=False, now=time.time())
    assert summary.access_token_expires_at is None and summary.usable
    assert describe(summary, time.time()).endswith(
        " — token expiry unknown (refreshed on next use); login ends in 29d 23h"
    )


def test_a_keyring_profile_is_read_through_the_profiles_own_environment(
    emulator: ClaudeEmulator, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The item is read with the settings' environment (and keyring deadline), not the
    process's: here the settings name a bus address of a kind no client speaks, while
    the process names a socket that is not there; the error says which was used."""
    path = settings.with_profile("work").token_path
    seed(emulator, path, expires_in=3600)
    data = json.loads(Path(path).read_text())
    for secret in ("access_token", "refresh_token"):
        del data[secret]
    data["secrets"] = {"store": "secret-service", "item": "work", "generation": 1}
    Path(path).write_text(json.dumps(data))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
    bus = {**settings.environ, "DBUS_SESSION_BUS_ADDRESS": "tcp:host=localhost,port=1"}
    own = Settings(environ=bus)
    summary = summarize(own, "work", active=False, now=time.time())
    assert summary.error is not None and summary.needs_login
    assert summary.error == (
        "The Secret Service (the keyring) is out of reach (reading profile work's item): the "
        "session bus address names no Unix socket this client can use (only unix:path= and "
        "unix:abstract= are spoken). Check DBUS_SESSION_BUS_ADDRESS."
    )


def test_a_listing_without_a_time_judges_logins_by_the_clock(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, login_ends_in=3600)
    (work,) = list_profiles(settings.with_profile("work"))
    assert work.usable
    # The same login a day later (a time given is the time used).
    (later,) = list_profiles(settings.with_profile("work"), now=time.time() + 86400)
    assert later.needs_login


def test_the_active_listing_puts_the_active_profile_first_and_marks_it(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    emulator.add_account(WORK)
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    record = seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    write_active_profile(settings, "work")
    summaries, problem = active_listing(settings.with_profile("default"))
    assert problem is None
    assert [(s.name, s.active, s.email) for s in summaries] == [
        ("work", True, WORK),
        ("default", False, "emulated.user@example.com"),
    ]
    # The time given is the time the logins are judged at.
    deadline = record.refresh_token_expires_at
    assert deadline is not None
    summaries, _ = active_listing(settings, now=deadline)
    assert [(s.name, s.needs_login) for s in summaries] == [("work", True), ("default", True)]


def test_the_active_listing_shows_the_active_profile_whatever_the_environment_says(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    """``CLAUDE_CODE_OAUTH_PROFILE`` picks the profile of one command; the listing still
    shows the profile the active-profile file names first and marked."""
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600)
    write_active_profile(settings, "work")
    pinned = Settings(environ={**settings.environ, "CLAUDE_CODE_OAUTH_PROFILE": "default"})
    assert pinned.profile == "default"
    summaries, problem = active_listing(pinned)
    assert problem is None
    assert [(s.name, s.active) for s in summaries] == [("work", True), ("default", False)]


def test_a_damaged_active_profile_file_lists_default_first_unmarked_with_the_problem(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    record = seed(emulator, settings.with_profile("work").token_path, expires_in=3600)
    Path(settings.active_profile_path).write_text("Not A Name\n")
    summaries, problem = active_listing(settings)
    assert [(s.name, s.active) for s in summaries] == [("default", False), ("work", False)]
    assert problem == (
        f"The active-profile file {settings.active_profile_path} does not hold a profile "
        "name. Choose one with `claude-code-oauth switch NAME` (or /claude-code-switch NAME)."
    )
    deadline = record.refresh_token_expires_at
    assert deadline is not None
    summaries, _ = active_listing(settings, now=deadline)
    assert [s.needs_login for s in summaries] == [True, True]


def test_the_limit_hint_names_every_other_profile_with_or_without_an_email(
    emulator: ClaudeEmulator, data_dir: Path, settings: Settings
) -> None:
    emulator.add_account(WORK)
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    seed(emulator, settings.with_profile("bare").token_path, expires_in=3600, account=None)
    write_active_profile(settings, "work")
    others = other_signed_in_profiles(settings.with_profile("default"))
    # Summaries of the other profiles, none of them marked as the one in use.
    assert [(s.name, s.active) for s in others] == [("bare", False), ("work", False)]
    assert other_profiles_hint(settings.with_profile("default")) == (
        f"Other signed-in profiles: bare, work ({WORK}). Switching is your choice: "
        "`claude-code-oauth switch NAME` (or /claude-code-switch NAME in Code Puppy)."
    )
