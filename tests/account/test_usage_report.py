"""The usage report: its stable JSON keys, and the snapshot file it is built from
(the lines for people: ``test_usage_lines.py``)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.extra_usage_guard import block_reason
from claude_code_oauth.account.limit_offers import Grace, Slow
from claude_code_oauth.account.unified_limits import UnifiedLimits, Window, iso_local
from claude_code_oauth.account.usage_report import build, empty_report
from claude_code_oauth.account.usage_snapshot import Plan, UsageFile, UsageSnapshot
from claude_code_oauth.errors import UsageFileError
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

NOW = 1_790_000_000.0
#: The exact keys of `usage --json` (a stable interface: keys are added, never renamed).
KEYS = {
    "plan",
    "windows",
    "binding_window",
    "extra_usage",
    "fallback",
    "grace",
    "slow",
    "upgrade_paths",
    "as_of",
    "source",
}
PLAN_KEYS = {"name", "tier", "display_name", "extra_usage_enabled"}
WINDOW_KEYS = {"utilization", "resets_at", "status", "surpassed_threshold", "severity", "model"}
EXTRA_USAGE_KEYS = {
    "status",
    "in_use",
    "utilization",
    "resets_at",
    "disabled_reason",
    "surpassed_threshold",
}

LIMITS = UnifiedLimits(
    status="allowed",
    binding_window="five_hour",
    resets_at=NOW + 72 * 60,
    windows={
        "seven_day": Window("seven_day", 18.0, NOW + 3 * 86400, "allowed"),
        "seven_day_opus": Window("seven_day_opus", 0.4, NOW + 3 * 86400, "allowed"),
        "five_hour": Window("five_hour", 42.0, NOW + 72 * 60, "allowed"),
    },
    overage_status="rejected",
    overage_in_use=False,
    overage_disabled_reason="org_level_disabled",
)
USAGE = UsageFile(
    account="acct",
    snapshot=UsageSnapshot(LIMITS, NOW - 60, "headers"),
    plan=Plan("Max", "default_claude_max_20x", NOW - 60),
)


def test_the_json_keys_are_exactly_the_stable_ones() -> None:
    report = build(USAGE, "acct")
    assert set(report) == KEYS
    assert report["plan"] == {
        "name": "Max",
        "tier": "default_claude_max_20x",
        "display_name": None,
        "extra_usage_enabled": None,
    }
    assert list(report["windows"]) == ["five_hour", "seven_day", "seven_day_opus"]
    five = report["windows"]["five_hour"]
    assert set(five) == WINDOW_KEYS
    assert five["utilization"] == 42.0 and five["status"] == "allowed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", five["resets_at"])
    assert five["resets_at"] == iso_local(NOW + 72 * 60)
    assert report["binding_window"] == "five_hour"
    assert set(report["extra_usage"]) == EXTRA_USAGE_KEYS
    assert report["extra_usage"]["status"] == "rejected"
    assert report["extra_usage"]["in_use"] is False
    assert report["extra_usage"]["disabled_reason"] == "org_level_disabled"
    assert report["fallback"] is None and report["grace"] is None and report["slow"] is None
    assert report["as_of"] == iso_local(NOW - 60) and report["source"] == "headers"
    json.dumps(report)  # serializable as is


def test_nothing_known_is_the_same_keys_with_nulls() -> None:
    empty = empty_report()
    assert set(empty) == KEYS
    assert set(empty["plan"]) == PLAN_KEYS and not any(empty["plan"].values())
    assert set(empty["extra_usage"]) == EXTRA_USAGE_KEYS
    assert not any(v is not None for v in empty["extra_usage"].values())
    assert empty["windows"] == {} and empty["as_of"] is None and empty["source"] is None
    assert build(UsageFile(), "acct") == empty
    # Another account's file describes nothing about this one.
    assert build(USAGE, "someone-else") == empty


# -- the file ----------------------------------------------------------------------


def test_the_file_round_trips_privately(tmp_path: Path) -> None:
    path = str(tmp_path / "claude_code_oauth.default.usage.json")
    usage_snapshot.save(path, USAGE._replace(endpoint_checked_at=NOW, extra={"future": 1}))
    assert os.stat(path).st_mode & 0o777 == 0o600
    loaded = usage_snapshot.load(path)
    assert loaded.snapshot == USAGE.snapshot and loaded.plan == USAGE.plan
    assert loaded.account == "acct" and loaded.endpoint_checked_at == NOW
    assert loaded.extra == {"future": 1}  # a newer writer's keys are kept


def test_every_new_field_round_trips(tmp_path: Path) -> None:
    limits = LIMITS._replace(
        windows={
            **LIMITS.windows,
            "five_hour": Window("five_hour", 91.0, NOW + 60, "allowed_warning", 80.0, "critical"),
            "seven_day_opus": Window("seven_day_opus", 1.0, model="Opus 4.1"),
        },
        overage_surpassed_threshold=75.0,
        fallback="available",
        grace=Grace("eligible", 0.0, 10.0),
        slow=Slow("treatment", "active", 30.0, 300.0, 12.5, NOW + 86400),
        upgrade_paths=("upgrade_plan", "overage"),
    )
    usage = UsageFile(
        account="acct",
        snapshot=UsageSnapshot(limits, NOW, "headers"),
        plan=Plan("Max", "default_claude_max_20x", NOW, "Max 20x", True),
    )
    path = str(tmp_path / "u.json")
    usage_snapshot.save(path, usage)
    loaded = usage_snapshot.load(path)
    assert loaded.snapshot == usage.snapshot and loaded.plan == usage.plan
    report = build(loaded, "acct")
    assert report["windows"]["five_hour"]["severity"] == "critical"
    assert report["windows"]["five_hour"]["surpassed_threshold"] == 80.0
    assert report["windows"]["seven_day_opus"]["model"] == "Opus 4.1"
    assert report["grace"] == {
        "status": "eligible",
        "five_hour_utilization": 0.0,
        "seven_day_utilization": 10.0,
    }
    assert report["slow"]["offer"] == "treatment" and report["slow"]["retry_after"] == 30.0
    assert report["slow"]["budget_resets_at"] == iso_local(NOW + 86400)
    assert report["fallback"] == "available"
    assert report["upgrade_paths"] == ["upgrade_plan", "overage"]
    assert report["extra_usage"]["surpassed_threshold"] == 75.0
    assert "grace" not in report["windows"] and "slow" not in str(list(report["windows"]))


def test_an_older_snapshot_still_loads_without_its_phantom_windows(tmp_path: Path) -> None:
    """Versions before issue 17 saved the grace and slow headers as windows; such a
    file loads, its real fields kept and those "windows" dropped: a phantom slow
    budget at 100 % must not keep `extra_usage = block` refusing."""

    def window(utilization: float | None, status: str | None) -> dict[str, Any]:
        return {"utilization": utilization, "resets_at": NOW + 3600, "status": status}

    older = {
        "version": 1,
        "account": "acct",
        "snapshot": {
            "as_of": NOW,
            "source": "headers",
            "status": "allowed",
            "binding_window": "five_hour",
            "resets_at": NOW + 3600,
            "windows": {
                "five_hour": window(40.0, "allowed"),
                "grace": window(None, "eligible"),
                "grace_5h": window(0.0, None),
                "slow": window(None, "active"),
                "slow_budget": window(100.0, None),
            },
            "overage": {
                "status": "allowed",
                "in_use": False,
                "utilization": None,
                "resets_at": None,
                "disabled_reason": None,
            },
        },
        "plan": {"name": "Max", "tier": "default_claude_max_20x", "as_of": NOW},
        "endpoint": {"checked_at": None, "retry_until": None},
    }
    path = tmp_path / "u.json"
    path.write_text(json.dumps(older))
    loaded = usage_snapshot.load(str(path))
    assert loaded.plan == Plan("Max", "default_claude_max_20x", NOW)
    assert loaded.plan.display_name is None and loaded.plan.extra_usage is None
    assert loaded.snapshot is not None
    limits = loaded.snapshot.limits
    assert list(limits.windows) == ["five_hour"] and limits.windows["five_hour"].utilization == 40
    assert limits.grace is None and limits.slow is None and limits.upgrade_paths is None
    assert block_reason(limits, NOW) is None


def test_a_damaged_or_odd_file_is_one_line_and_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "u.json"
    path.write_text("{ not json")
    with pytest.raises(UsageFileError, match="damaged") as info:
        usage_snapshot.load(str(path))
    assert "\n" not in str(info.value)
    # Field by field: junk is dropped, the rest kept.
    path.write_text(
        json.dumps(
            {
                "account": 7,
                "snapshot": {
                    "as_of": NOW,
                    "source": "headers",
                    "windows": {
                        "five_hour": {"utilization": "lots"},
                        "seven_day": {"utilization": 10**400, "resets_at": 10**400},
                        "seven_day_opus": {"utilization": 5, "resets_at": 1e300},  # year 1e292
                        "../x": {},
                        "7d": 3,
                    },
                    "overage": {"in_use": "yes"},
                },
                "plan": {"name": "Max"},
            }
        )
    )
    loaded = usage_snapshot.load(str(path))
    assert loaded.account is None and loaded.plan is None
    assert loaded.snapshot is not None
    assert list(loaded.snapshot.limits.windows) == ["five_hour", "seven_day", "seven_day_opus"]
    assert loaded.snapshot.limits.windows["seven_day_opus"].resets_at is None
    assert loaded.snapshot.limits.windows["five_hour"].utilization is None
    seven_day = loaded.snapshot.limits.windows["seven_day"]
    assert seven_day.utilization is None and seven_day.resets_at is None  # 400 digits
    assert loaded.snapshot.limits.overage_in_use is None
    path.write_text("{ not json")
    written = usage_snapshot.update(str(path), lambda u: u._replace(account="acct"), lock_timeout=5)
    assert written.account == "acct" and usage_snapshot.load(str(path)).account == "acct"


def test_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("{}")
    link = tmp_path / "u.json"
    link.symlink_to(target)
    with pytest.raises(UsageFileError, match="symbolic link"):
        usage_snapshot.load(str(link))
    with pytest.raises(UsageFileError):
        usage_snapshot.update(str(link), lambda u: u, lock_timeout=5)
    assert target.read_text() == "{}"


def test_a_newer_snapshot_is_never_replaced_by_an_older_one() -> None:
    older = UsageSnapshot(LIMITS, NOW - 120, "headers")
    newer = UsageSnapshot(LIMITS, NOW, "usage_endpoint")
    kept = usage_snapshot.with_snapshot(UsageFile(account="acct", snapshot=newer), older, "acct")
    assert kept.snapshot == newer
    switched = usage_snapshot.with_snapshot(USAGE, older, "other")
    assert switched.account == "other" and switched.plan is None  # the old account's plan


# -- the `usage` command's result, from local files ------------------------------------


def _settings(tmp_path: Path, **env: str):
    from claude_code_oauth.config import Settings

    return Settings(
        environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(tmp_path), "HOME": str(tmp_path), **env}
    )


def _signed_in(settings, account: str = "acct") -> None:
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.record import TokenRecord

    record = TokenRecord.from_token_response(
        {
            "access_token": "access-for-the-usage-test",
            "refresh_token": "refresh-for-the-usage-test",
            "expires_in": 3600,
            "account": {"uuid": account, "email_address": "a@example.com"},
        },
        now=NOW,
    )
    token_store.save(settings.token_path, record)


def test_not_signed_in_is_the_empty_report_and_exit_1(tmp_path: Path) -> None:
    from claude_code_oauth.app.usage import collect

    result = collect(_settings(tmp_path), now=NOW)
    assert (result.exit_code, result.signed_in, result.notes) == (1, False, [])
    assert result.report == empty_report()
    assert result.lines[0] == "Not signed in to Claude: no usage to show."
    assert result.lines[1].startswith("Sign in with ") and "login" in result.lines[1]


def test_a_console_key_has_no_plan_windows(tmp_path: Path) -> None:
    from claude_code_oauth.account.usage_report import API_KEY_LINES
    from claude_code_oauth.app.usage import collect
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.api_key import ApiKeyRecord

    settings = _settings(tmp_path)
    token_store.save(
        settings.token_path,
        ApiKeyRecord(api_key="console-key-for-the-usage-test-" + "k" * 40, obtained_at=NOW),
    )
    result = collect(settings, now=NOW)
    assert (result.exit_code, result.lines, result.notes) == (0, list(API_KEY_LINES), [])
    assert result.report == {**empty_report(), "plan": {"name": "API", "tier": None}}
    refreshed = collect(settings, refresh=True, now=NOW)
    assert refreshed.notes == [
        "--refresh asks Claude's usage endpoint, which only subscription sign-ins have."
    ]


def test_the_usage_of_a_sign_in_from_its_file(tmp_path: Path) -> None:
    from claude_code_oauth.account.usage_lines import render
    from claude_code_oauth.app.usage import collect

    settings = _settings(tmp_path)
    _signed_in(settings)
    usage_snapshot.save(usage_snapshot.usage_path(settings), USAGE)
    result = collect(settings, now=NOW)
    assert (result.exit_code, result.signed_in, result.notes) == (0, True, [])
    assert result.lines == render(USAGE, "acct", NOW)
    assert result.report == build(USAGE, "acct")
    Path(usage_snapshot.usage_path(settings)).write_text("{damaged")
    damaged = collect(settings, now=NOW)
    assert damaged.notes == [
        f"The usage snapshot {usage_snapshot.usage_path(settings)} is damaged "
        "(JSONDecodeError); the next answer from Claude replaces it."
    ]
    assert damaged.report == empty_report() and damaged.exit_code == 0


def test_block_says_until_when_it_holds_requests_back(tmp_path: Path) -> None:
    from claude_code_oauth.app.usage import collect

    settings = _settings(tmp_path, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block")
    _signed_in(settings)
    reached = LIMITS._replace(
        status="rejected",
        overage_status="allowed",
        windows={**LIMITS.windows, "five_hour": Window("five_hour", 100.0, NOW + 72 * 60)},
    )
    usage = USAGE._replace(snapshot=UsageSnapshot(reached, NOW - 60, "headers"))
    usage_snapshot.save(usage_snapshot.usage_path(settings), usage)
    from claude_code_oauth.account.unified_limits import until

    assert collect(settings, now=NOW + 2 * 3600).lines[-1].startswith("As of ")

    assert collect(settings, now=NOW).lines[-1] == (
        f"extra_usage = block: claude-code-* models in Code Puppy send nothing until "
        f"{until(NOW + 72 * 60, NOW)}, because Claude would bill it as extra usage."
    )
    billed = USAGE._replace(
        snapshot=UsageSnapshot(
            LIMITS._replace(overage_status="allowed", overage_in_use=True), NOW - 60, "headers"
        )
    )
    usage_snapshot.save(usage_snapshot.usage_path(settings), billed)
    assert collect(settings, now=NOW).lines[-1] == (
        "extra_usage = block: claude-code-* models in Code Puppy send nothing for now, because "
        "Claude would bill it as extra usage."
    )
    # In warn mode: no such line; and a reached window's block ends at its reset.
    warn = _settings(tmp_path)
    assert not collect(warn, now=NOW).lines[-1].startswith("extra_usage")


def test_usage_refresh_asks_the_endpoint_and_says_when_it_fails(
    emulator: ClaudeEmulator, client_env: dict[str, str]
) -> None:
    from claude_code_oauth.app.usage import collect
    from helpers.tokens import seed, settings_for

    settings = settings_for(client_env)
    record = seed(emulator, settings.token_path, expires_in=3600)
    account = record.account["uuid"]
    emulator.configure_usage(limits={"five_hour": 8}, plan="pro", endpoint_form="both")
    result = collect(settings, refresh=True, now=NOW)
    assert (result.exit_code, result.notes) == (0, [])
    usage = usage_snapshot.load(usage_snapshot.usage_path(settings))
    assert usage.account == account and usage.endpoint_checked_at == NOW
    assert result.report == build(usage, account)
    assert result.report["source"] == "usage_endpoint" and result.report["plan"]["name"] == "Pro"
    # Within the minute: not asked again, and said so.
    again = collect(settings, refresh=True, now=NOW + 10)
    assert again.exit_code == 0
    assert again.notes == [
        "The usage endpoint was asked 10 s ago (at most once a minute); showing the last values."
    ]
    # A token the endpoint refuses (no user:profile): exit 1, the last values, and why.
    from claude_code_oauth.tokens import store as token_store
    from claude_code_oauth.tokens.record import TokenRecord

    narrow = emulator.issue_login(scope="user:inference")
    token_store.save(settings.token_path, TokenRecord.from_token_response(narrow))
    failed = collect(settings, refresh=True, now=NOW + 120)
    assert failed.exit_code == 1
    (note,) = failed.notes
    assert note.endswith(
        " It is not asked again for 5 min (as Claude's own client waits); showing the last values."
    )
    assert failed.report == build(usage_snapshot.load(usage_snapshot.usage_path(settings)), account)


def test_the_usage_shown_includes_this_process_newest_answer(tmp_path: Path) -> None:
    """Inside Code Puppy the file may lag the last answer by a second: the capture's
    newer snapshot is what `usage` and `status` show."""
    from claude_code_oauth.account.usage_capture import capture_for
    from claude_code_oauth.account.usage_lines import compact_line, render
    from claude_code_oauth.account.usage_report import status_line
    from claude_code_oauth.app.usage import collect

    settings = _settings(tmp_path)
    _signed_in(settings)
    usage_snapshot.save(usage_snapshot.usage_path(settings), USAGE)
    newer = UsageSnapshot(LIMITS._replace(overage_status="allowed"), NOW, "headers")
    capture = capture_for(settings)
    capture.record(newer)
    assert capture.flush(10) or True  # written or not: the capture's copy wins either way
    shown = USAGE._replace(snapshot=newer)
    result = collect(settings, now=NOW)
    assert result.lines == render(shown, "acct", NOW)
    assert result.report == build(shown, "acct")
    assert status_line(settings, "acct", NOW) == compact_line(shown, "acct", NOW)


def test_another_accounts_file_shows_nothing_of_it(tmp_path: Path) -> None:
    from claude_code_oauth.app.usage import collect

    settings = _settings(tmp_path, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block")
    _signed_in(settings, account="someone-else")
    billed = USAGE._replace(
        snapshot=UsageSnapshot(
            LIMITS._replace(overage_status="allowed", overage_in_use=True), NOW - 60, "headers"
        )
    )
    usage_snapshot.save(usage_snapshot.usage_path(settings), billed)
    result = collect(settings, now=NOW)
    assert result.report == empty_report()
    assert result.lines[1].startswith("No usage recorded yet")
    assert not any(line.startswith("extra_usage = block") for line in result.lines)


def test_the_json_rounds_to_two_decimals_and_names_every_offer() -> None:
    limits = LIMITS._replace(
        windows={"five_hour": Window("five_hour", 12.3456, surpassed_threshold=80.004)},
        overage_utilization=7.125,
        overage_resets_at=NOW + 86400,
        slow=Slow("treatment", "active", 30.0, 300.0, 33.3333, NOW + 3600),
        grace=Grace("eligible", 1.005, 2.0),
    )
    report = build(UsageFile(snapshot=UsageSnapshot(limits, NOW, "headers")), None)
    assert report["windows"]["five_hour"]["utilization"] == 12.35
    assert report["windows"]["five_hour"]["surpassed_threshold"] == 80.0
    assert (
        report["extra_usage"]["utilization"] == 7.12 or report["extra_usage"]["utilization"] == 7.13
    )
    assert report["extra_usage"]["resets_at"] == iso_local(NOW + 86400)
    assert report["slow"] == {
        "offer": "treatment",
        "status": "active",
        "retry_after": 30.0,
        "max_wait": 300.0,
        "budget_utilization": 33.33,
        "budget_resets_at": iso_local(NOW + 3600),
    }
    assert report["grace"] == {
        "status": "eligible",
        "five_hour_utilization": round(1.005, 2),
        "seven_day_utilization": 2.0,
    }


def test_a_file_that_lags_this_process_shows_the_newer_answer(tmp_path: Path) -> None:
    """The file holds an older answer than this process saw (its write came later, or
    another process wrote an older one since): `usage` and `status` show the newer one —
    and when the file is another account's, this sign-in's answer, not theirs."""
    from claude_code_oauth.account.usage_capture import capture_for
    from claude_code_oauth.account.usage_lines import compact_line, render
    from claude_code_oauth.account.usage_report import status_line
    from claude_code_oauth.app.usage import collect

    settings = _settings(tmp_path)
    _signed_in(settings)
    path = usage_snapshot.usage_path(settings)
    newer = UsageSnapshot(LIMITS._replace(overage_status="allowed"), NOW, "headers")
    capture = capture_for(settings)
    capture.record(newer)
    assert capture.flush(10)
    usage_snapshot.save(path, USAGE)  # the file now lags: its snapshot is a minute older
    shown = USAGE._replace(snapshot=newer)
    assert status_line(settings, "acct", NOW) == compact_line(shown, "acct", NOW)
    assert collect(settings, now=NOW).lines == render(shown, "acct", NOW)
    theirs = USAGE._replace(account="someone-else")
    usage_snapshot.save(path, theirs)
    mine = UsageFile(account="acct", snapshot=newer)
    assert status_line(settings, "acct", NOW) == compact_line(mine, "acct", NOW)
    assert "none recorded" not in (status_line(settings, "acct", NOW) or "")


def test_the_status_line_shows_nothing_of_another_accounts_file(tmp_path: Path) -> None:
    from claude_code_oauth.account.usage_report import status_line

    settings = _settings(tmp_path)
    usage_snapshot.save(usage_snapshot.usage_path(settings), USAGE._replace(account="other"))
    line = status_line(settings, "acct", NOW)
    assert line is not None and line.startswith("Usage: none recorded yet")


def test_without_the_capture_loaded_the_file_is_shown_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`status` and `usage` in the CLI never import the capture (start-up cost): then
    there is no newer answer in this process, and the file is what they show."""
    import sys

    from claude_code_oauth.account.usage_report import with_live_snapshot

    monkeypatch.delitem(sys.modules, "claude_code_oauth.account.usage_capture")
    path = usage_snapshot.usage_path(_settings(tmp_path))
    assert with_live_snapshot(USAGE, path, "acct") == USAGE
