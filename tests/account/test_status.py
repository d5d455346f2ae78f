"""status.collect / status.render: the stable report, expiry warnings, --verify, no tokens."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from claude_code_oauth.account import status
from claude_code_oauth.hints import Hints
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.memory_keyring import MemoryKeyring
from helpers.memory_keyring import memory_keyring as in_memory_keyring
from helpers.tokens import STATUS_KEYS as KEYS
from helpers.tokens import seed, settings_for, stored, token_requests

#: How a host words its own commands (Code Puppy's, as in hosts/code_puppy/messages.py).
PUPPY = Hints(
    login="/claude-code-auth{opt}",
    refresh_models="/claude-code-auth{opt}",
    switch="/claude-code-switch {name}",
    where="Code Puppy",
)


def _no_secret(report: dict[str, object], *secrets: str | None) -> bool:
    text = json.dumps(report) + "\n".join(status.render(report))
    return not any(s and s in text for s in secrets)


def test_not_signed_in(client_env: dict[str, str], token_path: Path) -> None:
    report = status.collect(settings_for(client_env))
    assert set(report) == KEYS
    assert report["signed_in"] is False and report["needs_login"] is False
    assert report["token_file"] == str(token_path) and report["token_file_mode"] is None
    lines = status.render(report)
    assert lines[0] == "Not signed in to Claude."
    assert any("(absent)" in line for line in lines)
    assert lines[-1] == "Sign in with `claude-code-oauth login`."
    in_puppy = status.render_levels(report, hints=PUPPY)
    assert in_puppy[-1] == ("info", "Sign in with /claude-code-auth.")


def test_signed_in(emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path) -> None:
    now = time.time()
    record = seed(emulator, token_path, expires_in=7230)
    report = status.collect(settings_for(client_env), now=now)
    assert set(report) == KEYS
    assert report["signed_in"] is True and report["needs_login"] is False
    assert report["account"] == {
        "email": "emulated.user@example.com",
        "uuid": record.account["uuid"],
    }
    assert report["organization"]["name"] == "Emulated Organization"
    assert report["scopes"] == ["org:create_api_key", "user:profile", "user:inference"]
    assert report["token_file_mode"] == "0600"
    assert 7220 <= report["access_token_expires_in"] <= 7230
    expires = datetime.fromisoformat(report["access_token_expires_at"])
    assert expires.utcoffset() is not None  # local time, with its offset
    assert abs(expires.timestamp() - record.expires_at) < 1
    assert 29 * 86400 < report["login_expires_in"] <= 30 * 86400
    assert report["login_warning"] is None and report["verified"] is None
    assert token_requests(emulator) == 0 and len(emulator.requests) == 0
    lines = status.render(report)
    assert lines[0] == "Signed in to Claude as emulated.user@example.com (Emulated Organization)."
    assert any("Access token: valid" in line and "(in 2h 0m)" in line for line in lines)
    assert lines[-1] == f"Credentials: file {token_path} (mode 0600)"
    clean = _no_secret(report, record.access_token, record.refresh_token)
    assert clean


def test_report_is_json_serialisable(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-30, refresh_not_before=time.time() + 600)
    report = status.collect(settings_for(client_env))
    assert json.loads(json.dumps(report)) == report
    assert report["access_token_expires_in"] < 0
    assert report["refresh_not_before"] is not None
    lines = status.render(report)
    (token_line,) = [line for line in lines if line.startswith("Access token:")]
    # "expired … ago", never "expired, expires … ago".
    assert token_line.startswith("Access token: expired 20"), token_line
    assert "expires" not in token_line and token_line.endswith(
        " ago); a new one is fetched on next use."
    )
    assert any("paused by the server" in line for line in lines)


def test_login_ending_soon_warns(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600, login_ends_in=2 * 86400)
    report = status.collect(settings_for(client_env))
    assert report["login_warning"] and "ends in 1d 23h" in report["login_warning"]
    assert report["needs_login"] is False
    assert any(line.startswith("Warning: ") for line in status.render(report))


def test_login_more_than_three_days_away_is_quiet(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600, login_ends_in=3 * 86400 + 60)
    assert status.collect(settings_for(client_env))["login_warning"] is None


def test_login_ended(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600, login_ends_in=-10)
    report = status.collect(settings_for(client_env))
    assert report["needs_login"] is True and "expired" in report["login_warning"]


def test_needs_login_and_last_error(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-30, needs_login=True, last_error="It was refused.")
    report = status.collect(settings_for(client_env))
    assert report["signed_in"] is True and report["needs_login"] is True
    assert report["last_error"] == "It was refused."
    lines = status.render(report)
    assert "A new login is needed: run `claude-code-oauth login`." in lines
    assert any("Last refresh problem: It was refused." in line for line in lines)
    (token_line,) = [line for line in lines if line.startswith("Access token:")]
    assert token_line.startswith("Access token: expired ") and token_line.endswith(" ago).")
    # A host words the next step for itself.
    in_puppy = [text for _, text in status.render_levels(report, hints=PUPPY)]
    assert "A new login is needed: run /claude-code-auth." in in_puppy
    assert not any("claude-code-oauth login" in line for line in in_puppy)


def test_damaged_file(client_env: dict[str, str], token_path: Path) -> None:
    token_path.write_bytes(b"{nope")
    report = status.collect(settings_for(client_env))
    assert report["signed_in"] is False and report["needs_login"] is True
    assert str(token_path) in report["error"]
    assert any(line.startswith("Problem: ") for line in status.render(report))
    assert token_path.read_bytes() == b"{nope"


def test_verify_accepted(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    report = status.collect(settings_for(client_env), verify=True)
    assert report["verified"] is True and report["error"] is None
    (request,) = emulator.requests
    assert request.path == "/api/oauth/profile"
    assert any("token accepted" in line for line in status.render(report))


def test_verify_after_revocation_fails_clearly(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    emulator.revoke_all()
    report = status.collect(settings_for(client_env), verify=True)
    assert report["verified"] is False
    assert "claude-code-oauth login" in report["error"]
    assert stored(token_path).needs_login
    assert emulator.replays == 0
    lines = status.render(report)
    assert any(line.startswith("Server check: failed.") for line in lines)
    clean = _no_secret(report, record.access_token, record.refresh_token)
    assert clean


def test_verify_unreachable(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.inject("profile", "502_html")
    report = status.collect(settings_for(client_env), verify=True)
    assert report["verified"] is False and "502" in report["error"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "in 0s"),
        (59, "in 59s"),
        (61, "in 1m 1s"),
        (3600 * 7 + 59 * 60 + 5, "in 7h 59m"),
        (86400 * 2 + 3600 * 5, "in 2d 5h"),
        (-125, "2m 5s ago"),
    ],
)
def test_countdown(seconds: float, text: str) -> None:
    assert status.countdown(seconds) == text


def test_iso_local() -> None:
    assert status.iso_local(None) is None
    text = status.iso_local(0)
    assert text is not None and datetime.fromisoformat(text).timestamp() == 0


# -- every line and its level, word for word -------------------------------------------


def _report(**fields: object) -> dict[str, object]:
    report: dict[str, object] = {key: None for key in KEYS}
    report.update(
        profile="default",
        signed_in=True,
        needs_login=False,
        scopes=[],
        token_file="/data/claude_code_oauth.json",
        token_file_mode="0600",
        credential="oauth",
        account={"email": "a@example.com", "uuid": "u"},
        organization={"name": "Org", "uuid": "o"},
        access_token_expires_at="2026-09-21T16:13:20+02:00",
        access_token_expires_in=7200,
    )
    report.update(fields)
    return report


def test_every_line_of_a_signed_in_report_and_its_level() -> None:
    report = _report(
        profile="work",
        login_expires_at="2026-09-23T16:13:20+02:00",
        login_expires_in=2 * 86400,
        login_warning="Your Claude login ends in 2d 0h (…); sign in again before then.",
        scopes=["user:profile", "user:inference"],
        refresh_not_before="2026-09-21T14:23:20+02:00",
        last_error="The token endpoint answered HTTP 500.",
        error="The token file held unusable values (expires_at); …",
        verified=True,
    )
    assert status.render_levels(report, "Usage: 5 h 42 %") == [
        ("success", "Signed in to Claude as a@example.com (Org) — profile work."),
        (
            "info",
            "Access token: valid, expires 2026-09-21T16:13:20+02:00 (in 2h 0m); "
            "refreshed automatically.",
        ),
        ("info", "Login: ends 2026-09-23T16:13:20+02:00 (in 2d 0h)."),
        ("warning", "Warning: Your Claude login ends in 2d 0h (…); sign in again before then."),
        ("info", "Scopes: user:profile user:inference"),
        ("info", "Refresh paused by the server until 2026-09-21T14:23:20+02:00."),
        ("warning", "Last refresh problem: The token endpoint answered HTTP 500."),
        ("info", "Server check: token accepted."),
        ("info", "Usage: 5 h 42 %"),
        ("info", "Credentials: file /data/claude_code_oauth.json (mode 0600)"),
    ]
    assert (
        status.render(report, show_profile=False)[0]
        == "Signed in to Claude as a@example.com (Org)."
    )


def test_the_lines_of_a_login_that_needs_renewal() -> None:
    report = _report(
        needs_login=True,
        account=None,
        organization=None,
        access_token_expires_in=-125,
        error="It was revoked.",
        verified=False,
    )
    assert status.render_levels(report, show_profile=True) == [
        ("warning", "Signed in to Claude as unknown account — profile default."),
        ("info", "Access token: expired 2026-09-21T16:13:20+02:00 (2m 5s ago)."),
        ("warning", "A new login is needed: run `claude-code-oauth login`."),
        ("warning", "Server check: failed. It was revoked."),
        ("info", "Credentials: file /data/claude_code_oauth.json (mode 0600)"),
    ]
    unknown = _report(access_token_expires_at=None, access_token_expires_in=0, error="Odd.")
    assert status.render_levels(unknown)[1:3] == [
        ("info", "Access token: expiry unknown; it is refreshed on next use."),
        ("warning", "Note: Odd."),
    ]


def test_the_lines_of_no_sign_in() -> None:
    absent = _report(signed_in=False, profile="work")
    assert status.render_levels(absent) == [
        ("warning", "Not signed in to Claude (profile work)."),
        ("info", "Token file: /data/claude_code_oauth.json (absent)"),
        ("info", "Sign in with `claude-code-oauth login --profile work`."),
    ]
    damaged = _report(signed_in=False, error="The token file is damaged.")
    assert status.render_levels(damaged, show_profile=False) == [
        ("warning", "Not signed in to Claude."),
        ("warning", "Problem: The token file is damaged."),
        ("info", "Sign in with `claude-code-oauth login`."),
    ]


def test_the_lines_of_a_console_key() -> None:
    now = 1_000_000_000.0  # 2001: the age is counted from the time given, not the clock
    created = datetime.fromtimestamp(now - 3 * 86400 - 3600, tz=UTC)
    report = _report(
        credential="api_key",
        api_key={
            "name": "claude-code-oauth",
            "id": "k",
            "last4": "wxyz",
            "created_at": created.isoformat(timespec="seconds"),
        },
        verified=True,
    )
    assert status.render_levels(report, "Usage: none", now=now) == [
        ("success", "Anthropic API key (Console) for Org, signed in as a@example.com."),
        (
            "info",
            f"API key: claude-code-oauth …wxyz, created {created.isoformat(timespec='seconds')} "
            "(3d 1h ago); it does not expire.",
        ),
        ("info", "Server check: API key accepted."),
        ("info", "Usage: none"),
        ("info", "Credentials: file /data/claude_code_oauth.json (mode 0600)"),
    ]
    bare = _report(
        credential="api_key",
        profile="ci",
        account=None,
        organization=None,
        api_key={"name": None, "id": None, "last4": "abcd", "created_at": None},
    )
    assert status.render(bare)[:2] == [
        "Anthropic API key (Console) for an unknown organization — profile ci.",
        "API key: …abcd, creation time unknown; it does not expire.",
    ]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(3600, "in 1h 0m"), (86400, "in 1d 0h"), (60, "in 1m 0s"), (-86400 * 3, "3d 0h ago")],
)
def test_countdown_units(seconds: float, text: str) -> None:
    assert status.countdown(seconds) == text


def test_the_login_warning_word_for_word() -> None:
    from claude_code_oauth.tokens.record import TokenRecord

    now = 1_790_000_000.0

    def ending(at: float | None) -> TokenRecord:
        record = TokenRecord.from_token_response(
            {"access_token": "a" * 20, "refresh_token": "r" * 20, "expires_in": 3600}, now=now
        )
        record.refresh_token_expires_at = at
        return record

    assert status.login_expiry_warning(ending(now + 2 * 86400), now) == (
        f"Your Claude login ends in 2d 0h ({status.iso_local(now + 2 * 86400)}); sign in again "
        "before then to avoid an interruption."
    )
    assert status.login_expiry_warning(ending(now + 3 * 86400), now) is not None  # warned
    assert status.login_expiry_warning(ending(now), now) == (
        "Your Claude login has expired; sign in again."
    )
    assert status.login_expiry_warning(ending(None), now) is None


# -- a Console sign-in, and the usage line, in this process --------------------------


def _console_sign_in(emulator: ClaudeEmulator, settings):
    from claude_code_oauth.login.console_key import create_api_key
    from claude_code_oauth.tokens import store as token_store

    login = emulator.issue_login(console=True)
    record = create_api_key(settings, login["access_token"], login)
    token_store.save(settings.token_path, record)
    return record


def test_a_console_sign_in_reports_its_key_never_the_key(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    from urllib.parse import urlsplit

    from claude_code_oauth import USER_AGENT

    settings = settings_for(client_env)
    record = _console_sign_in(emulator, settings)
    report = status.collect(settings, verify=True)
    assert set(report) == KEYS
    assert report["signed_in"] is True and report["credential"] == "api_key"
    assert report["verified"] is True and report["error"] is None
    assert report["api_key"] == {
        "name": record.key_name,
        "id": record.key_id,
        "last4": record.api_key[-4:],
        "created_at": status.iso_local(record.created_at),
    }
    assert report["account"]["email"] == "emulated.user@example.com"
    assert report["organization"]["name"] == "Emulated Organization"
    assert report["scopes"] == [] and report["access_token_expires_at"] is None
    (check,) = [r for r in emulator.requests if r.path == "/v1/models"]
    assert check.headers["x-api-key"] == record.api_key and check.query == {"limit": "1"}
    assert check.method == "GET" and check.headers["user-agent"] == USER_AGENT
    assert check.headers["anthropic-version"] == settings.anthropic_version
    assert _no_secret(report, record.api_key)
    assert status.usage_line(settings, report) == (
        "Usage: plan windows and extra usage don't apply to an API key; the Console bills it "
        "per token."
    )
    emulator.revoke_api_keys()
    refused = status.collect(settings, verify=True)
    assert refused["verified"] is False
    host = urlsplit(emulator.base_url).netloc
    assert refused["error"] == (
        f"The models endpoint ({host}) rejected the API key of this Console sign-in (HTTP 401 "
        "authentication_error: invalid x-api-key). An API key has no refresh: it was probably "
        "revoked or deleted in the Anthropic Console. Sign in again with `claude-code-oauth "
        "login --console` (or /claude-code-auth --console in Code Puppy) to create a new one."
    )
    assert _no_secret(refused, record.api_key)


def test_a_console_sign_in_whose_server_cannot_be_reached(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    record = _console_sign_in(emulator, settings_for(client_env))
    emulator.inject("models", "slow", delay=5)
    report = status.collect(settings_for(client_env, http_timeout=0.5), verify=True)
    assert report["verified"] is False
    assert report["error"].startswith("The models endpoint (") and "0.5 s" in report["error"]
    assert _no_secret(report, record.api_key)


def test_a_console_sign_in_whose_server_nobody_answers(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    import socket

    record = _console_sign_in(emulator, settings_for(client_env))
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = settings_for(client_env, api_base_url=f"http://127.0.0.1:{port}")
    report = status.collect(settings, verify=True)
    assert report["verified"] is False and report["signed_in"] is True
    assert report["error"] == "The models endpoint could not be reached (ConnectError)."
    assert _no_secret(report, record.api_key)


def test_the_usage_line_of_a_sign_in(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from claude_code_oauth.account.unified_limits import UnifiedLimits, Window
    from claude_code_oauth.account.usage_lines import compact_line
    from claude_code_oauth.account.usage_snapshot import UsageFile, UsageSnapshot, save

    settings = settings_for(client_env)
    assert status.usage_line(settings, status.collect(settings)) is None  # not signed in
    record = seed(emulator, token_path, expires_in=3600)
    report = status.collect(settings)
    account = record.account["uuid"]
    assert status.usage_line(settings, report) == compact_line(UsageFile(), account)
    limits = UnifiedLimits(windows={"five_hour": Window("five_hour", 42.0)})
    usage = UsageFile(account=account, snapshot=UsageSnapshot(limits, time.time(), "headers"))
    path = settings.side_path("usage")
    save(path, usage)
    assert status.usage_line(settings, report) == "Usage: 5 h 42 % · extra usage unknown"
    # Another account's snapshot (the file was written before a sign-in as someone else)
    # says nothing about this one.
    save(path, usage._replace(account="another-account"))
    assert status.usage_line(settings, report) == compact_line(UsageFile(), account)
    Path(path).write_text("{damaged")
    assert status.usage_line(settings, report) is None


@pytest.mark.parametrize(
    ("expires_in", "line"),
    [
        (
            1,
            "Access token: valid, expires 2026-09-21T16:13:20+02:00 (in 1s); refreshed "
            "automatically.",
        ),
        (
            0,
            "Access token: expired 2026-09-21T16:13:20+02:00 (in 0s); a new one is fetched on "
            "next use.",
        ),
    ],
)
def test_the_access_token_line_at_its_edge(expires_in: int, line: str) -> None:
    assert status.render(_report(access_token_expires_in=expires_in))[1] == line


def test_render_shows_the_usage_line_it_is_given() -> None:
    assert status.render(_report(), "Usage: 5 h 1 %")[-2:] == [
        "Usage: 5 h 1 %",
        "Credentials: file /data/claude_code_oauth.json (mode 0600)",
    ]


def test_verify_sends_what_claudes_profile_endpoint_expects(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from claude_code_oauth import USER_AGENT

    seed(emulator, token_path, expires_in=3600)
    settings = settings_for(client_env)
    assert status.collect(settings, verify=True)["verified"] is True
    (request,) = emulator.requests
    assert request.method == "GET" and request.headers["user-agent"] == USER_AGENT
    assert settings.anthropic_beta in request.headers["anthropic-beta"]
    assert request.headers["anthropic-version"] == settings.anthropic_version
    emulator.inject("profile", "500")
    report = status.collect(settings, verify=True)
    assert report["verified"] is False
    assert report["error"] == (
        "The profile endpoint failed with HTTP 500: api_error (Internal server error); try "
        "again shortly."
    )


def test_verify_of_a_profile_endpoint_nobody_answers(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    import socket

    seed(emulator, token_path, expires_in=3600)
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    settings = settings_for(client_env, api_base_url=f"http://127.0.0.1:{port}")
    report = status.collect(settings, verify=True)
    assert report["verified"] is False
    assert report["error"] == "The profile endpoint could not be reached (ConnectError)."


def test_verify_blanks_a_token_of_any_shape_the_server_echoes(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """Shape-based blanking catches Claude's tokens; the tokens actually sent are blanked
    whatever their shape."""
    import json as json_module

    from claude_code_oauth.testing.hostile_proxy import HostileProxy
    from claude_code_oauth.tokens import store as token_store

    record = seed(emulator, token_path, expires_in=3600)
    record.access_token = "plain-token-of-another-shape-0123456789"
    token_store.save(str(token_path), record)
    with HostileProxy(emulator.base_url) as proxy:

        def echo(request) -> bytes:
            message = f"Token {request.bearer} is not allowed here"
            return json_module.dumps(
                {"type": "error", "error": {"type": "permission_error", "message": message}}
            ).encode()

        proxy.add_rule("/api/oauth/profile", times=1, forward=False, status=403, body=echo)
        report = status.collect(settings_for(proxy.env(client_env)), verify=True)
    assert report["verified"] is False and "is not allowed here" in report["error"]
    leaked = record.access_token in report["error"]
    assert not leaked


def test_who_is_signed_in_exactly_or_nothing(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.record import TokenRecord

    record = seed(emulator, token_path, expires_in=3600)
    report = status.collect(settings_for(client_env))
    assert report["organization"] == {
        "name": "Emulated Organization",
        "uuid": record.organization["uuid"],
    }
    anonymous = TokenRecord.from_token_response(emulator.issue_login(account=False))
    token_store.save(str(token_path), anonymous)
    report = status.collect(settings_for(client_env))
    assert report["account"] is None and report["organization"] is None
    assert status.render(report)[0] == "Signed in to Claude as unknown account."


# -- the report at an injected time, field by field ----------------------------------------

#: 2001: decades from the wall clock, so a report that read the wall clock is far off.
NOW = 1_000_000_000.0


def _login_at(emulator: ClaudeEmulator, token_path: Path, **fields: object):
    """A login the emulator knows, obtained at :data:`NOW`, saved with ``fields`` set."""
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.record import TokenRecord

    record = TokenRecord.from_token_response(emulator.issue_login(), now=NOW)
    for key, value in fields.items():
        setattr(record, key, value)
    token_store.save(str(token_path), record)
    return record


def test_the_report_is_of_the_time_it_is_given(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = _login_at(emulator, token_path, refresh_token_expires_at=NOW + 30 * 86400)
    report = status.collect(settings_for(client_env), now=NOW + 600)
    assert report["credential"] == "oauth" and report["api_key"] is None
    assert report["access_token_expires_in"] == int(record.expires_at - NOW - 600)
    assert report["access_token_expires_at"] == status.iso_local(record.expires_at)
    assert report["login_expires_at"] == status.iso_local(NOW + 30 * 86400)
    assert report["login_expires_in"] == 30 * 86400 - 600
    assert report["needs_login"] is False and report["error"] is None


def test_a_login_whose_end_is_unknown_reports_none(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    _login_at(emulator, token_path, refresh_token_expires_at=None)
    report = status.collect(settings_for(client_env), now=NOW)
    assert report["login_expires_at"] is None and report["login_expires_in"] is None
    assert report["login_warning"] is None and report["needs_login"] is False
    assert not any(line.startswith("Login: ") for line in status.render(report))


def test_a_login_that_ends_this_very_second_needs_a_new_one(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    _login_at(emulator, token_path, refresh_token_expires_at=NOW + 60)
    settings = settings_for(client_env)
    assert status.collect(settings, now=NOW + 59)["needs_login"] is False
    ended = status.collect(settings, now=NOW + 60)
    assert ended["needs_login"] is True and ended["login_expires_in"] == 0
    assert ended["login_warning"] == "Your Claude login has expired; sign in again."


def test_a_refresh_pause_is_reported_only_while_it_lasts(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    _login_at(emulator, token_path, refresh_not_before=NOW + 60)
    settings = settings_for(client_env)
    paused = status.collect(settings, now=NOW + 59)
    assert paused["refresh_not_before"] == status.iso_local(NOW + 60)
    assert status.collect(settings, now=NOW + 60)["refresh_not_before"] is None  # over
    assert status.collect(settings, now=NOW + 61)["refresh_not_before"] is None


def test_unusable_stored_times_are_named_and_the_expiry_counts_as_unknown(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    _login_at(emulator, token_path)
    data = json.loads(token_path.read_text())
    data["expires_at"] = 5e9  # 2128: past any time a token file may hold
    data["refresh_token_expires_at"] = 6e9
    token_path.write_text(json.dumps(data))
    report = status.collect(settings_for(client_env), now=NOW + 600)
    assert report["signed_in"] is True
    assert report["access_token_expires_at"] is None and report["access_token_expires_in"] == 0
    assert report["error"] == (
        "The token file held unusable values (expires_at, refresh_token_expires_at); they "
        "were ignored, and the next refresh writes sane ones."
    )
    assert status.render_levels(report)[1:] == [
        ("info", "Access token: expiry unknown; it is refreshed on next use."),
        ("info", "Scopes: org:create_api_key user:profile user:inference"),
        ("warning", f"Note: {report['error']}"),
        ("info", f"Credentials: file {token_path} (mode 0600)"),
    ]


# -- a sign-in whose secrets are in the keyring (an in-memory keyring library backend) ----


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """The ``keyring`` library's backend replaced by a dict for the test (in-process)."""
    with in_memory_keyring() as backend:
        yield backend


def _sign_in_in_keyring(emulator: ClaudeEmulator, token_path: Path, item: str):
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener

    record = seed(emulator, token_path, expires_in=3600)
    target = KeyringTarget("keyring-library", item)
    token_store.save(str(token_path), record, secrets=target, stores=StoreOpener(timeout=30))
    return record


KEYRING = "OS keyring (keyring library)"  # what `describe` calls the library on Linux


def test_a_sign_in_in_the_keyring_names_its_item(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    record = _sign_in_in_keyring(emulator, token_path, "work-item")
    assert memory_keyring.entries  # the secrets went to the keyring, not the file
    report = status.collect(settings_for(client_env))
    assert report["credentials"] == {
        "store": "keyring",
        "name": KEYRING,
        "item": "work-item",
        "problem": None,
    }
    assert report["signed_in"] is True and report["error"] is None
    assert report["account"] == {
        "email": "emulated.user@example.com",
        "uuid": record.account["uuid"],
    }
    assert status.render(report)[-1] == (
        f"Credentials: {KEYRING}, item of profile work-item; the rest in {token_path} (mode 0600)"
    )
    assert _no_secret(report, record.access_token, record.refresh_token)


def test_a_sign_in_kept_in_the_file_says_so(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    report = status.collect(settings_for(client_env))
    assert report["credentials"] == {"store": "file", "name": "file", "item": None, "problem": None}


def test_a_sign_in_in_the_secret_service_names_it_even_when_it_cannot_be_reached(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    _sign_in_in_keyring(emulator, token_path, "default")
    data = json.loads(token_path.read_text())
    data["secrets"]["store"] = "secret-service"  # as a sign-in on Linux saves it
    token_path.write_text(json.dumps(data))
    env = {k: v for k, v in client_env.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    report = status.collect(settings_for(env))
    assert report["signed_in"] is False and report["error"] is not None
    assert report["credentials"]["name"] == "OS keyring (Secret Service)"
    assert report["credentials"]["problem"] == report["error"]


def test_a_missing_keyring_item_needs_a_new_sign_in(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    _sign_in_in_keyring(emulator, token_path, "work-item")
    memory_keyring.entries.clear()
    report = status.collect(settings_for(client_env))
    problem = (
        f"The keyring item of profile work-item that {token_path} names is missing from "
        "the system keyring (keyring library). Run `claude-code-oauth login` (or "
        "/claude-code-auth) to sign in again."
    )
    assert report["signed_in"] is False and report["needs_login"] is True
    assert report["error"] == problem
    assert report["credentials"] == {
        "store": "keyring",
        "name": KEYRING,
        "item": "work-item",
        "problem": problem,
    }
    assert status.render_levels(report) == [
        ("warning", f"The sign-in cannot be used: {problem}"),
        (
            "info",
            f"Credentials: {KEYRING}, item of profile work-item; the rest in {token_path} "
            "(mode 0600)",
        ),
        ("info", "Sign in with `claude-code-oauth login`."),
    ]


def test_a_keyring_that_does_not_answer_in_time_needs_no_new_sign_in(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    """The report waits ``keyring_timeout`` (not the store's default) and asks to unlock
    or retry, not to sign in again: the login itself is fine."""
    _sign_in_in_keyring(emulator, token_path, "default")
    memory_keyring.hold = threading.Event()  # every keyring call waits: a hung daemon
    report = status.collect(settings_for(client_env, keyring_timeout=0.25))
    problem = report["error"]
    assert problem is not None and problem.startswith(
        "The system keyring (keyring library) did not answer within 0.25 s ("
    ), problem
    assert report["signed_in"] is False and report["needs_login"] is False
    assert report["credentials"]["problem"] == problem
    assert status.render_levels(report) == [
        ("warning", f"The sign-in cannot be used: {problem}"),
        (
            "info",
            f"Credentials: {KEYRING}, item of profile default; the rest in {token_path} "
            "(mode 0600)",
        ),
    ]


def test_verify_of_a_profile_endpoint_that_does_not_answer_in_time(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    from urllib.parse import urlsplit

    record = seed(emulator, token_path, expires_in=3600)
    emulator.inject("profile", "slow", delay=5)
    report = status.collect(settings_for(client_env, http_timeout=0.5), verify=True)
    assert report["verified"] is False
    host = urlsplit(emulator.base_url).netloc
    assert report["error"].startswith(
        f"The profile endpoint ({host}) did not answer within 0.5 s"
    ), report["error"]
    assert _no_secret(report, record.access_token, record.refresh_token)


def test_verify_blanks_the_token_a_401_replaced_when_the_retry_echoes_it(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """After a 401 the check retries with a new token; an answer that names the first
    token (the one no longer in the request) still shows neither."""
    import json as json_module

    from claude_code_oauth.testing.hostile_proxy import HostileProxy
    from claude_code_oauth.tokens import store as token_store

    record = seed(emulator, token_path, expires_in=3600)
    record.access_token = "plain-token-of-another-shape-0123456789"  # blanked by value only
    token_store.save(str(token_path), record)
    first: list[str] = []

    def refuse(request) -> bytes:
        first.append(request.bearer)
        return json_module.dumps(
            {"type": "error", "error": {"type": "authentication_error", "message": "no"}}
        ).encode()

    def echo_the_first(request) -> bytes:
        message = f"Token {first[0]} is not allowed here"
        return json_module.dumps(
            {"type": "error", "error": {"type": "permission_error", "message": message}}
        ).encode()

    with HostileProxy(emulator.base_url) as proxy:
        proxy.add_rule("/api/oauth/profile", times=1, forward=False, status=401, body=refuse)
        proxy.add_rule(
            "/api/oauth/profile", times=1, forward=False, status=403, body=echo_the_first
        )
        report = status.collect(settings_for(proxy.env(client_env)), verify=True)
        retried = len(proxy.requests_to("/api/oauth/profile"))
    assert retried == 2 and len(first) == 1
    assert report["verified"] is False and "is not allowed here" in report["error"]
    leaked = record.access_token in report["error"]
    assert not leaked
