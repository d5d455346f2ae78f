"""Profiles through the `claude-code-oauth` command, run as real processes.

Two accounts on the emulator, real browser-style logins (the scripted browser
chooses the account on the consent page), and every command with --profile.
Outputs are captured, never printed; tokens are compared by digest or by the
account the emulator says issued them.
"""

from __future__ import annotations

import json
import os
import random
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import run_cli
from helpers.tokens import digest, seed, stored

pytestmark = pytest.mark.subprocess

FIRST = "emulated.user@example.com"
WORK = "work@example.com"
BROWSER = f"{sys.executable} -m claude_code_oauth.testing.scripted_browser"


@pytest.fixture
def env(client_env: dict[str, str], emulator: ClaudeEmulator) -> dict[str, str]:
    work = emulator.add_account(WORK, organization="Acme")
    emulator.configure_usage(account=work["account"]["uuid"], plan="pro")  # tells them apart
    low = random.randint(20000, 60000)
    return {**client_env, "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}"}


def login(env: dict[str, str], *args: str, account: str = FIRST) -> subprocess.CompletedProcess:
    browser = {**env, "BROWSER": f"{BROWSER} --account {account} %s"}
    done = run_cli(browser, "login", *args)
    assert done.returncode == 0, done.stderr
    return done


def _ours(data_dir: Path) -> dict[str, dict]:
    models = json.loads((data_dir / "extra_models.json").read_text())
    return {k: v for k, v in models.items() if v.get("oauth_source") == "claude-code-plugin"}


def test_two_accounts_side_by_side_switch_and_logout_of_one(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    login(env)
    work_login = login(env, "--profile", "work", "--pin", account=WORK)
    assert "Signed in as work@example.com to profile work (via browser)." in work_login.stdout
    assert "The active profile is still default" in work_login.stdout
    assert "claude-code-oauth switch work" in work_login.stdout
    assert emulator.grants["authorization_code"] == 2
    settings = Settings(environ=env)
    default_path, work_path = (
        data_dir / "claude_code_oauth.json",
        Path(settings.with_profile("work").token_path),
    )
    assert work_path.name == "claude_code_oauth.work.json"
    assert stat.S_IMODE(work_path.stat().st_mode) == 0o600
    assert stored(work_path).account["email_address"] == WORK
    assert stored(default_path).account["email_address"] == FIRST
    assert not (data_dir / "claude_code_oauth.active_profile").exists()  # nothing switched

    ours = _ours(data_dir)
    pinned = {k for k, v in ours.items() if v.get("oauth_profile") == "work"}
    following = {k for k, v in ours.items() if "oauth_profile" not in v}
    assert pinned == {"claude-code-work-" + k.removeprefix("claude-code-") for k in following}
    assert len(pinned) == 5

    listed = run_cli(env, "profiles")
    assert listed.returncode == 0 and listed.stderr == ""
    lines = listed.stdout.splitlines()
    # The plan, as the sign-in read it from the profile endpoint.
    assert lines[0].startswith(f"* default: {FIRST} (Emulated Organization, Max 20x) — token valid")
    assert lines[1].startswith(f"  work: {WORK} (Acme, Pro) — token valid")
    as_json = json.loads(run_cli(env, "profiles", "--json").stdout)
    assert [(p["profile"], p["active"], p["email"]) for p in as_json] == [
        ("default", True, FIRST),
        ("work", False, WORK),
    ]
    assert as_json[1]["organization"] == "Acme" and as_json[1]["token_file"] == str(work_path)

    listing = run_cli(env, "models").stdout
    assert "claude-code-work-claude-sonnet-4-5-20250929  (Claude Sonnet 4.5 (work)" in listing
    assert "profile work)" in listing and "the active profile)" in listing

    every = run_cli(env, "status", "--all")
    assert every.returncode == 0
    assert every.stdout.startswith("Profile default (active):\n  Signed in to Claude as ")
    assert f"\nProfile work:\n  Signed in to Claude as {WORK} (Acme).\n" in every.stdout
    every_json = json.loads(run_cli(env, "status", "--all", "--json").stdout)
    assert every_json["active_profile"] == "default"
    assert [r["profile"] for r in every_json["profiles"]] == ["default", "work"]

    # status and usage: the profile named, not the active one.
    named = run_cli(env, "status", "--profile", "work")
    assert named.stdout.startswith(f"Signed in to Claude as {WORK} (Acme) — profile work.")
    named_json = json.loads(run_cli(env, "status", "--profile", "work", "--json").stdout)
    assert named_json["profile"] == "work" and named_json["account"]["email"] == WORK
    assert json.loads(run_cli(env, "usage", "--json").stdout)["plan"]["name"] == "Max"
    usage = json.loads(run_cli(env, "usage", "--profile", "work", "--json").stdout)
    assert usage["plan"]["name"] == "Pro"
    assert run_cli(env, "usage", "--profile", "work").stdout.startswith("Plan: Pro")

    # token: the active profile, or the one named; the fast path reads no other file.
    assert emulator.account_for_token(run_cli(env, "token").stdout.strip()) == FIRST
    assert (
        emulator.account_for_token(run_cli(env, "token", "--profile", "work").stdout.strip())
        == WORK
    )
    assert (
        emulator.account_for_token(run_cli(env, "token", "--profile=work").stdout.strip()) == WORK
    )

    switched = run_cli(env, "switch", "work")
    assert switched.returncode == 0, switched.stderr
    assert switched.stdout.strip() == (
        "Switched to profile work (work@example.com): models named claude-code-<model> now use it."
    )
    assert (data_dir / "claude_code_oauth.active_profile").read_text() == "work\n"
    assert emulator.account_for_token(run_cli(env, "token").stdout.strip()) == WORK
    status = run_cli(env, "status")
    assert status.stdout.startswith(f"Signed in to Claude as {WORK} (Acme) — profile work.")
    assert json.loads(run_cli(env, "status", "--json").stdout)["profile"] == "work"
    # An environment override wins for one process, and `profiles` says so.
    overridden = {**env, "CLAUDE_CODE_OAUTH_PROFILE": "default"}
    assert emulator.account_for_token(run_cli(overridden, "token").stdout.strip()) == FIRST
    note = run_cli(overridden, "profiles")
    assert "CLAUDE_CODE_OAUTH_PROFILE=default overrides the active profile" in note.stderr
    assert note.stdout.splitlines()[0].startswith("* work:")

    # Logging out the active profile: its pinned entries and file go, nothing else.
    default_bytes = default_path.read_bytes()
    out = run_cli(env, "logout", "--profile", "work")
    assert out.returncode == 0, out.stderr
    assert not work_path.exists()
    assert default_path.read_bytes() == default_bytes
    after = _ours(data_dir)
    assert set(after) == following
    assert "work is the active profile" in out.stderr and "switch default" in out.stderr
    gone = run_cli(env, "status")
    assert gone.returncode == 1
    assert gone.stdout.startswith("Not signed in to Claude (profile work).")
    assert "claude-code-oauth login --profile work" in gone.stdout
    token = run_cli(env, "token")
    assert token.returncode == 1 and token.stdout == ""
    assert token.stderr.startswith("error: Not signed in to Claude (profile work).")
    # The last sign-in going takes the entries that follow the active profile with it.
    assert run_cli(env, "switch", "default").returncode == 0
    last = run_cli(env, "logout")
    assert last.returncode == 0 and "warning" not in last.stderr
    assert _ours(data_dir) == {}
    assert sorted(p.name for p in data_dir.iterdir() if p.name.endswith(".json")) == [
        "extra_models.json"
    ]


def test_logout_of_one_profile_leaves_the_other_untouched(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    settings = Settings(environ=env)
    seed(emulator, settings.with_profile("default").token_path, expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    assert run_cli(env, "models", "--refresh").returncode == 0
    assert run_cli(env, "models", "--refresh", "--profile", "work", "--pin").returncode == 0
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    done = run_cli(env, "logout")  # default: not the last sign-in, and not pinned anywhere
    assert done.returncode == 0, done.stderr
    after = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    assert "claude_code_oauth.json" not in after
    assert after["claude_code_oauth.work.json"] == before["claude_code_oauth.work.json"]
    # Entries that follow the active profile stay while work is signed in.
    assert after["extra_models.json"] == before["extra_models.json"]
    assert (
        emulator.account_for_token(run_cli(env, "token", "--profile", "work").stdout.strip())
        == WORK
    )


def test_a_first_login_to_a_named_profile_becomes_active(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    done = login(env, "--profile", "work", "--no-models", account=WORK)
    assert "work is now the active profile (default is not signed in)." in done.stdout
    assert (data_dir / "claude_code_oauth.active_profile").read_text() == "work\n"
    assert emulator.account_for_token(run_cli(env, "token").stdout.strip()) == WORK
    # A second profile does not take over.
    again = login(env, "--profile", "other", "--no-models")
    assert "The active profile is still work" in again.stdout
    assert (data_dir / "claude_code_oauth.active_profile").read_text() == "work\n"


def test_token_refreshes_only_the_named_profile(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    settings = Settings(environ=env)
    default = seed(emulator, settings.with_profile("default").token_path, expires_in=3600)
    seed(emulator, settings.with_profile("work").token_path, expires_in=-30, email=WORK)
    done = run_cli(env, "token", "--profile", "work")
    assert done.returncode == 0, done.stderr
    assert emulator.grants["refresh_token"] == 1
    printed = digest(done.stdout.strip())
    assert printed == digest(stored(settings.with_profile("work").token_path).access_token)
    unchanged = digest(stored(data_dir / "claude_code_oauth.json").access_token)
    assert unchanged == digest(default.access_token)


def test_switch_needs_a_signed_in_profile(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    done = run_cli(env, "switch", "work")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: Profile work is not signed in. Sign in with `claude-code-oauth login --profile "
        "work`, then switch."
    ]
    assert not (data_dir / "claude_code_oauth.active_profile").exists()
    (data_dir / "claude_code_oauth.broken.json").write_text("{not json")
    broken = run_cli(env, "switch", "broken")
    assert broken.returncode == 1 and len(broken.stderr.strip().splitlines()) == 1
    assert "Profile broken cannot be used" in broken.stderr and "not valid JSON" in broken.stderr
    settings = Settings(environ=env)
    seed(emulator, settings.with_profile("late").token_path, expires_in=3600, needs_login=True)
    late = run_cli(env, "switch", "late")
    assert late.returncode == 0
    assert "warning: Profile late needs a new login" in late.stderr


BAD_NAMES = ["Work", "-x", "a.b", "../x", "x" * 33, "", "é"]


@pytest.mark.parametrize(
    "command",
    [
        ["login", "--no-browser"],
        ["status"],
        ["token"],
        ["logout"],
        ["models", "--refresh"],
    ],
    ids=lambda c: c[0],
)
def test_a_bad_profile_name_is_one_line_and_touches_nothing(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, command: list[str]
) -> None:
    for name in BAD_NAMES:
        forms = [[*command, f"--profile={name}"]]
        if not name.startswith("-"):  # `--profile -x` is a missing value to argparse
            forms.append([*command, "--profile", name])
        for args in forms:
            done = run_cli(env, *args)
            assert done.returncode == 2, (args, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: --profile: "), lines
            assert "is not a profile name" in lines[0] and "Traceback" not in done.stderr
            assert done.stdout == ""
    assert list(data_dir.iterdir()) == []
    assert emulator.requests == []


def test_bad_names_for_switch_and_the_environment(env: dict[str, str], data_dir: Path) -> None:
    for name in BAD_NAMES:
        done = run_cli(env, "switch", "--", name)  # `--`: so argparse takes "-x" as the name
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            f"error: switch: {name!r} is not a profile name (1-32 of a-z, 0-9 and '-', "
            "starting with a letter or digit)."
        ]
    bad_env = {**env, "CLAUDE_CODE_OAUTH_PROFILE": "Work"}
    for command in (["token"], ["status"], ["profiles"]):
        done = run_cli(bad_env, *command)
        assert done.returncode == 2, command
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "CLAUDE_CODE_OAUTH_PROFILE" in lines[0], lines
    assert list(data_dir.iterdir()) == []


def test_a_damaged_active_profile_file_stops_commands_with_a_fix(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    settings = Settings(environ=env)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    active = data_dir / "claude_code_oauth.active_profile"
    active.write_text("../../etc\n")
    for command in (["token"], ["status"]):
        done = run_cli(env, *command)
        assert done.returncode == 1 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and str(active) in lines[0] and "switch NAME" in lines[0]
    listed = run_cli(env, "profiles")  # still lists what is there, with the problem
    assert listed.returncode == 0 and "work: work@example.com" in listed.stdout
    assert "does not hold a profile name" in listed.stderr
    # --profile does not need the file; switch repairs it.
    assert run_cli(env, "token", "--profile", "work").returncode == 0
    assert run_cli(env, "switch", "work").returncode == 0
    assert active.read_text() == "work\n"
    assert oct(os.stat(active).st_mode & 0o777) == "0o600"


def test_help_documents_profiles(env: dict[str, str]) -> None:
    top = run_cli(env, "--help").stdout
    assert "profiles" in top and "switch" in top and "--profile" in top
    for command in ("login", "status", "token", "logout", "models"):
        assert "--profile NAME" in run_cli(env, command, "--help").stdout, command
    assert "--pin" in run_cli(env, "login", "--help").stdout
    assert "--all" in run_cli(env, "status", "--help").stdout
    assert "automatically" in run_cli(env, "switch", "--help").stdout
    pointless = run_cli(env, "login", "--pin", "--no-models")
    assert pointless.returncode == 2
    assert pointless.stderr.strip().splitlines() == [
        "error: --pin registers models pinned to the profile; drop --no-models."
    ]


@pytest.mark.parametrize(
    "argv",
    [["token", "--profile", "work"], ["token", "--profile=work"], ["token"]],
    ids=["space", "equals", "active-file"],
)
def test_token_with_a_profile_stays_on_the_fast_path(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, argv: list[str]
) -> None:
    settings = Settings(environ=env)
    seed(emulator, settings.with_profile("work").token_path, expires_in=3600, email=WORK)
    (data_dir / "claude_code_oauth.active_profile").write_text("work\n")
    code = (
        "import contextlib, io, json, sys\n"
        "from claude_code_oauth import cli\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    rc = cli.main({argv!r})\n"
        "heavy = ['argparse', 'httpx', 'httpcore', 'filelock', 'anyio', 'ssl', 'socket',\n"
        "         'logging', 'threading']\n"
        "print(json.dumps({'rc': rc, 'loaded': [m for m in heavy if m in sys.modules],\n"
        "                  'lines': out.getvalue().count('\\n')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"rc": 0, "loaded": [], "lines": 1}
    assert emulator.requests == []
