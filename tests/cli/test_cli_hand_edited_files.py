"""Hand-edited, old or absurd token files: `status`, `status --json` and `token` as processes.

Whatever the file holds, each command ends with at most one line on stderr and
never a traceback; `status --json` stays strict JSON; and when the file still has
a usable refresh token, `token` refreshes and the login survives (the file is then
rewritten with sane numbers).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import run_cli
from helpers.tokens import STATUS_KEYS, seed

pytestmark = pytest.mark.subprocess

HUGE = "9" * 400

#: name -> (field, raw JSON text put in its place)
NUMBERS = {
    "expires_at NaN": ("expires_at", "NaN"),
    "expires_at Infinity": ("expires_at", "Infinity"),
    "expires_at -Infinity": ("expires_at", "-Infinity"),
    "expires_at 1e999": ("expires_at", "1e999"),
    "expires_at 400 digits": ("expires_at", HUGE),
    "expires_at year 33658": ("expires_at", "1e15"),
    "expires_at negative": ("expires_at", "-5"),
    "expires_at null": ("expires_at", "null"),
    "expires_at far ahead": ("expires_at", "4000000000"),
    "obtained_at NaN": ("obtained_at", "NaN"),
    "obtained_at 400 digits": ("obtained_at", HUGE),
    "login deadline NaN": ("refresh_token_expires_at", "NaN"),
    "login deadline 400 digits": ("refresh_token_expires_at", HUGE),
    "login deadline year 33658": ("refresh_token_expires_at", "1e15"),
    "login deadline a string": ("refresh_token_expires_at", '"soon"'),
    "not before Infinity": ("refresh_not_before", "Infinity"),
    "not before 400 digits": ("refresh_not_before", HUGE),
    "not before in 2090": ("refresh_not_before", "3800000000"),
    "needs_login a string": ("needs_login", '"yes"'),
    "last_error an object": ("last_error", '{"a": [1, 2]}'),
    "account a string": ("account", '"someone"'),
    "account with odd members": ("account", '{"email_address": [1, 2], "uuid": 5}'),
    "scope a number": ("scope", "5"),
    "version from the future": ("version", "99"),
}

#: name -> the whole file's text (nothing usable in it)
DAMAGED = {
    "empty": "",
    "not JSON": "{not json",
    "a list": "[1, 2, 3]",
    "binary": "\udcff\udcfe".encode("utf-8", "surrogateescape").decode("latin-1"),
    "nested too deeply": "[" * 100_000 + "]" * 100_000,
    "5000-digit number": '{"access_token": "x", "expires_at": ' + "9" * 5000 + "}",
    "expires_at a string": '{"access_token": "x", "expires_at": "soon", "obtained_at": 1}',
    "access_token with a line break": (
        '{"access_token": "a\\nb", "expires_at": 1, "obtained_at": 1}'
    ),
}


def at_most_one_line(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len([line for line in lines if line.startswith("error: ")]) <= 1, done.stderr
    assert len(lines) <= 2, done.stderr  # an error, or a warning about the login


def strict(text: str) -> object:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def put(path: Path, field: str, raw: str) -> None:
    text = path.read_text()
    pattern = re.compile(rf'("{field}": )(null|true|false|-?[0-9.e+]+|"[^"]*"|\{{[^}}]*\}})')
    changed, count = pattern.subn(lambda m: m.group(1) + raw, text, count=1)
    assert count == 1, f"{field} not found"
    path.write_text(changed)


def check_status(env: dict[str, str]) -> dict[str, object]:
    human = run_cli(env, "status")
    at_most_one_line(human)
    assert human.returncode in (0, 1)
    as_json = run_cli(env, "status", "--json")
    at_most_one_line(as_json)
    report = strict(as_json.stdout)
    assert isinstance(report, dict) and set(report) == STATUS_KEYS
    return report


@pytest.mark.parametrize(("field", "raw"), NUMBERS.values(), ids=NUMBERS.keys())
def test_absurd_values_in_the_file_cost_no_traceback_and_not_the_login(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    field: str,
    raw: str,
) -> None:
    seed(emulator, token_path, expires_in=3600, login_ends_in=20 * 86400)
    put(token_path, field, raw)
    report = check_status(client_env)
    assert report["signed_in"] is True
    done = run_cli(client_env, "token")
    at_most_one_line(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 1
    assert emulator.replays == 0
    # Whatever `token` had to do, the file is strict JSON with sane numbers now or
    # still holds what was put there (a fresh token needs no rewrite).
    check_status(client_env)


@pytest.mark.parametrize("field", ["expires_at", "obtained_at"])
def test_an_unusable_expiry_is_refreshed_and_rewritten_sanely(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, field: str
) -> None:
    seed(emulator, token_path, expires_in=3600)
    put(token_path, "expires_at", "NaN")
    if field == "obtained_at":
        put(token_path, "obtained_at", HUGE)
    human = run_cli(client_env, "status")
    assert "Access token: expiry unknown; it is refreshed on next use." in human.stdout
    assert "Note: The token file held unusable values (expires_at" in human.stdout
    listed = run_cli(client_env, "profiles")  # says the same as status
    assert "token expiry unknown (refreshed on next use)" in listed.stdout
    assert "expired" not in listed.stdout
    done = run_cli(client_env, "token")
    assert done.returncode == 0, done.stderr
    assert emulator.grants["refresh_token"] == 1
    data = strict(token_path.read_text())
    assert isinstance(data, dict) and isinstance(data["expires_at"], float)
    report = check_status(client_env)
    assert report["error"] is None and report["access_token_expires_in"] > 0


@pytest.mark.parametrize("text", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_file_is_one_line_everywhere(
    client_env: dict[str, str], token_path: Path, text: str
) -> None:
    token_path.write_text(text, encoding="latin-1")
    token_path.chmod(0o600)
    report = check_status(client_env)
    assert report["signed_in"] is False and report["needs_login"] is True
    assert isinstance(report["error"], str) and "token file" in report["error"]
    done = run_cli(client_env, "token")
    assert done.returncode == 1 and done.stdout == ""
    at_most_one_line(done)
    assert done.stderr.startswith("error: The token file")
