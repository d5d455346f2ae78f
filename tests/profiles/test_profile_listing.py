"""Which profiles exist, their summaries, and the list a limit message may mention."""

from __future__ import annotations

import time
from pathlib import Path

from claude_code_oauth.config import Settings
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.listing import (
    describe,
    list_profiles,
    other_profiles_hint,
    other_signed_in_profiles,
    plan_of,
    profile_names,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.store import TokenRecord
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
