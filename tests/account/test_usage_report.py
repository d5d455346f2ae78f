"""The usage report: its stable JSON keys, the human lines, the compact status line,
and the snapshot file it is built from."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.unified_limits import UnifiedLimits, Window, clock_time, iso_local
from claude_code_oauth.account.usage_report import (
    build,
    compact_line,
    empty_report,
    extra_usage_text,
    plan_text,
    render,
)
from claude_code_oauth.account.usage_snapshot import Plan, UsageFile, UsageSnapshot
from claude_code_oauth.errors import UsageFileError

NOW = 1_790_000_000.0
#: The exact keys of `usage --json` (a stable interface).
KEYS = {"plan", "windows", "binding_window", "extra_usage", "as_of", "source"}

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
    assert report["plan"] == {"name": "Max", "tier": "default_claude_max_20x"}
    assert list(report["windows"]) == ["five_hour", "seven_day", "seven_day_opus"]
    five = report["windows"]["five_hour"]
    assert set(five) == {"utilization", "resets_at", "status"}
    assert five["utilization"] == 42.0 and five["status"] == "allowed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", five["resets_at"])
    assert five["resets_at"] == iso_local(NOW + 72 * 60)
    assert report["binding_window"] == "five_hour"
    assert report["extra_usage"] == {"status": "rejected", "in_use": False}
    assert report["as_of"] == iso_local(NOW - 60) and report["source"] == "headers"
    json.dumps(report)  # serializable as is


def test_nothing_known_is_the_same_keys_with_nulls() -> None:
    empty = empty_report()
    assert set(empty) == KEYS
    assert empty["plan"] == {"name": None, "tier": None}
    assert empty["extra_usage"] == {"status": None, "in_use": None}
    assert empty["windows"] == {} and empty["as_of"] is None and empty["source"] is None
    assert build(UsageFile(), "acct") == empty
    # Another account's file describes nothing about this one.
    assert build(USAGE, "someone-else") == empty


def test_human_lines() -> None:
    lines = render(USAGE, "acct", NOW)
    assert lines[0] == "Plan: Max 20x (default_claude_max_20x)"
    five = next(line for line in lines if line.startswith("5-hour"))
    assert "42 %" in five and "resets " + clock_time(NOW + 72 * 60, NOW) in five
    assert "(in 1 h 12 min)" in five and five.endswith("(binding)")
    assert any(line.startswith("7-day Opus") and "0.4 %" in line for line in lines)
    assert "Extra usage: off (org_level_disabled)" in lines
    assert lines[-1] == f"As of {clock_time(NOW - 60, NOW)} (from the last response)."
    endpoint = USAGE._replace(snapshot=USAGE.snapshot._replace(source="usage_endpoint"))
    assert render(endpoint, "acct", NOW)[-1].endswith("(from the usage endpoint).")
    passed = render(USAGE, "acct", NOW + 2 * 3600)
    assert any("reset at" in line and "after these figures" in line for line in passed)


def test_human_lines_without_a_plan_or_figures() -> None:
    lines = render(UsageFile(), None, NOW)
    assert lines[0].startswith("Plan: unknown") and "--refresh" in lines[0]
    assert lines[1].startswith("No usage recorded yet")


@pytest.mark.parametrize(
    ("status", "in_use", "reason", "text"),
    [
        ("allowed", True, None, "on, in use: requests are billed as extra usage (pay-as-you-go)"),
        ("allowed", False, None, "on, not in use"),
        ("rejected", False, "out_of_credits", "off (out_of_credits)"),
        (None, None, None, "unknown"),
    ],
)
def test_extra_usage_words(status, in_use, reason, text) -> None:
    assert extra_usage_text(status, in_use, reason) == text


def test_plan_words() -> None:
    assert plan_text("Pro", None) == "Pro"
    assert plan_text("Team", "default_claude_team") == "Team (default_claude_team)"
    assert plan_text(None, None) == "unknown"


def test_the_compact_status_line() -> None:
    expected = (
        f"Usage: 5 h 42 % (resets {clock_time(NOW + 72 * 60, NOW)}) · 7 d 18 % · extra usage off"
    )
    assert compact_line(USAGE, "acct", NOW) == expected
    in_use = USAGE._replace(
        snapshot=USAGE.snapshot._replace(
            limits=LIMITS._replace(overage_status="allowed", overage_in_use=True)
        )
    )
    assert compact_line(in_use, "acct", NOW).endswith("· extra usage in use")
    stale = compact_line(USAGE, "acct", NOW + 3600)
    assert stale.endswith(f"· as of {clock_time(NOW - 60, NOW + 3600)}")
    assert compact_line(UsageFile(), "acct", NOW).startswith("Usage: none recorded yet")


# -- the file ----------------------------------------------------------------------


def test_the_file_round_trips_privately(tmp_path: Path) -> None:
    path = str(tmp_path / "claude_code_oauth.default.usage.json")
    usage_snapshot.save(path, USAGE._replace(endpoint_checked_at=NOW, extra={"future": 1}))
    assert os.stat(path).st_mode & 0o777 == 0o600
    loaded = usage_snapshot.load(path)
    assert loaded.snapshot == USAGE.snapshot and loaded.plan == USAGE.plan
    assert loaded.account == "acct" and loaded.endpoint_checked_at == NOW
    assert loaded.extra == {"future": 1}  # a newer writer's keys are kept


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
