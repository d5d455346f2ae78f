"""What ``usage`` and ``status`` show a person: the plan, the windows, extra usage,
the one line of offers at the limit. Times are formatted with the same formatter
and an injected ``now``, never the wall clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from claude_code_oauth.account.limit_offers import Grace, Slow
from claude_code_oauth.account.unified_limits import UnifiedLimits, Window, clock_time
from claude_code_oauth.account.usage_lines import (
    compact_line,
    extra_usage_text,
    offers_line,
    plan_text,
    render,
)
from claude_code_oauth.account.usage_snapshot import Plan, UsageFile, UsageSnapshot
from helpers.time_zone import local_zone

NOW = 1_790_000_000.0
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
        ("rejected", False, "org_level_disabled", "off (org_level_disabled)"),
        (
            "rejected",
            False,
            "out_of_credits",
            "out of credits (out_of_credits): requests past the plan's limits are refused",
        ),
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


def test_the_profiles_plan_name_and_extra_usage_show_before_any_answer() -> None:
    plan = Plan("Max", "default_claude_max_20x", NOW, "Max 20x", True)
    lines = render(UsageFile(account="acct", plan=plan), "acct", NOW)
    assert lines[:2] == [
        "Plan: Max 20x (default_claude_max_20x)",
        "Extra usage: on (your Claude profile)",
    ]
    assert lines[2].startswith("No usage recorded yet")
    # An answer that says nothing about extra usage leaves the profile's word.
    quiet = UsageSnapshot(LIMITS._replace(overage_status=None, overage_in_use=None), NOW, "headers")
    shown = render(
        UsageFile(account="acct", plan=plan._replace(extra_usage=False), snapshot=quiet),
        "acct",
        NOW,
    )
    assert "Extra usage: off (your Claude profile)" in shown
    # An answer that does say wins.
    assert "Extra usage: off (org_level_disabled)" in render(USAGE._replace(plan=plan), "acct", NOW)
    assert plan_text("Max", "default_claude_max_5x", "Max 5x") == "Max 5x (default_claude_max_5x)"


def test_scoped_windows_are_named_by_their_model() -> None:
    windows = {
        "five_hour": Window("five_hour", 10.0),
        "seven_day": Window("seven_day", 20.0),
        "seven_day_opus_4_1": Window(
            "seven_day_opus_4_1", 70.0, severity="warning", model="Opus 4.1"
        ),
        "seven_day_sonnet": Window("seven_day_sonnet", 5.0, model="Sonnet"),
    }
    snapshot = UsageSnapshot(UnifiedLimits(windows=windows), NOW, "usage_endpoint")
    lines = render(UsageFile(account="acct", snapshot=snapshot), "acct", NOW)
    assert any(line.startswith("7-day Opus 4.1") and "70 %" in line for line in lines)
    assert any(line.startswith("7-day Sonnet ") and "5 %" in line for line in lines)
    warned = UsageFile(account="acct", snapshot=snapshot)
    opus = windows["seven_day_opus_4_1"]._replace(status="allowed_warning")
    warned = warned._replace(
        snapshot=snapshot._replace(
            limits=snapshot.limits._replace(windows={**windows, "seven_day_opus_4_1": opus})
        )
    )
    assert "· 7 d Opus 4.1 70 % ·" in compact_line(warned, "acct", NOW)


OFFERS = LIMITS._replace(
    grace=Grace("eligible", 0.0, 0.0),
    slow=Slow("treatment", "active", 30.0, 300.0, 10.0, NOW + 86400),
    fallback="available",
    upgrade_paths=("upgrade_plan", "overage"),
)


def test_the_offers_are_one_line_not_windows() -> None:
    line = offers_line(OFFERS)
    assert line == (
        "Claude also says: a slower lane is offered; a wrap-up allowance is available; "
        "a fallback model is offered; ways past the limit: a plan upgrade, extra usage."
    )
    lines = render(USAGE._replace(snapshot=UsageSnapshot(OFFERS, NOW - 60, "headers")), "acct", NOW)
    assert lines.count(line) == 1
    assert not any(word in row.lower() for row in lines[1:4] for word in ("grace", "slow"))
    assert offers_line(LIMITS) is None
    # Offers that change nothing the user can do are not mentioned.
    idle = LIMITS._replace(grace=Grace(None, 0.0, 0.0), slow=Slow("control", "not_needed"))
    assert offers_line(idle) is None
    spent = LIMITS._replace(slow=Slow("treatment", "budget_exhausted", budget_utilization=100.0))
    assert offers_line(spent) is None


def test_the_status_line_shows_windows_only() -> None:
    usage = USAGE._replace(snapshot=UsageSnapshot(OFFERS, NOW - 60, "headers"))
    line = compact_line(usage, "acct", NOW)
    assert line == compact_line(USAGE, "acct", NOW)
    assert "grace" not in line and "slow" not in line


# -- every line word for word (local time is UTC here; NOW is 14:13:20) ------------------


@pytest.fixture
def utc() -> Iterator[None]:
    with local_zone("UTC"):
        yield


def test_the_whole_usage_output(utc: None) -> None:
    assert render(USAGE, "acct", NOW) == [
        "Plan: Max 20x (default_claude_max_20x)",
        "5-hour         42 %  resets 15:25 (in 1 h 12 min)  (binding)",
        "7-day          18 %  resets Thu 24 Sep 14:13 (in 3 d 0 h)",
        "7-day Opus    0.4 %  resets Thu 24 Sep 14:13 (in 3 d 0 h)",
        "Extra usage: off (org_level_disabled)",
        "As of 14:12 (from the last response).",
    ]


def test_the_usage_output_with_extra_usage_on_and_the_overage_binding(utc: None) -> None:
    limits = UnifiedLimits(
        status="rejected",
        binding_window="overage",
        windows={
            "seven_day_zeta": Window("seven_day_zeta", 9.96),
            "five_hour": Window("five_hour", None, NOW - 60),
            "seven_day_alpha": Window("seven_day_alpha", 100.0),
        },
        overage_status="allowed_warning",
        overage_in_use=True,
        overage_utilization=12.4,
    )
    usage = UsageFile(account="acct", snapshot=UsageSnapshot(limits, NOW - 3600, "usage_endpoint"))
    assert render(usage, None, NOW) == [
        "Plan: unknown (--refresh reads it from your Claude profile)",
        "5-hour           ? %  reset at 14:12 (after these figures)",
        "7-day alpha    100 %",
        "7-day zeta      10 %",
        "Binding limit: overage",
        "Extra usage: on, in use: requests are billed as extra usage (pay-as-you-go); 12 % of "
        "its monthly limit used",
        "As of 13:13 (from the usage endpoint).",
    ]
    nothing = usage._replace(snapshot=UsageSnapshot(UnifiedLimits(), NOW, "headers"))
    assert render(nothing, None, NOW)[1:] == [
        "No limit windows in the last answer.",
        "Extra usage: unknown",
        "As of 14:13 (from the last response).",
    ]
    # Another account's figures are not this one's.
    assert render(usage, "someone-else", NOW)[1].startswith("No usage recorded yet")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "?"),
        (0.0, "0"),
        (0.04, "0"),
        (0.06, "0.1"),
        (0.4, "0.4"),
        (9.94, "9.9"),
        (9.96, "10"),
        (10.4, "10"),
        (42.0, "42"),
        (2.0, "2"),
        (150.0, "150"),
    ],
)
def test_percentages_keep_a_decimal_only_below_ten(value: float | None, shown: str) -> None:
    windows = {"five_hour": Window("five_hour", value)}
    usage = UsageFile(snapshot=UsageSnapshot(UnifiedLimits(windows=windows), NOW, "headers"))
    assert render(usage, None, NOW)[1] == f"5-hour  {shown:>5} %"


def test_plan_names_from_name_and_tier() -> None:
    assert plan_text("Max", "default_claude_max_5x") == "Max 5x (default_claude_max_5x)"
    assert plan_text("Pro", "default_claude_pro_2x") == "Pro 2x (default_claude_pro_2x)"
    assert plan_text("Team", "default_claude_team_5x") == "Team (default_claude_team_5x)"
    assert plan_text(None, "default_claude_max_20x") == "unknown (default_claude_max_20x)"
    assert plan_text("Max", "default_claude_max_20x_beta") == "Max (default_claude_max_20x_beta)"


def test_extra_usage_out_of_credits_and_off_without_a_reason() -> None:
    assert extra_usage_text("rejected", None) == "off"
    assert extra_usage_text("rejected", True, "out_of_credits") == (
        "out of credits (out_of_credits): requests past the plan's limits are refused, in use: "
        "requests are billed as extra usage (pay-as-you-go)"
    )
    assert extra_usage_text(None, False) == "unknown"


def test_upgrade_paths_claude_may_add_are_said_in_words() -> None:
    limits = LIMITS._replace(upgrade_paths=("team_plan",))
    assert offers_line(limits) == "Claude also says: ways past the limit: team plan."


def test_the_compact_line_word_for_word(utc: None) -> None:
    assert compact_line(USAGE, "acct", NOW) == (
        "Usage: 5 h 42 % (resets 15:25) · 7 d 18 % · extra usage off"
    )
    # No binding window among those shown: the first shown carries the reset time.
    limits = LIMITS._replace(
        binding_window="seven_day_opus", overage_status=None, overage_in_use=None
    )
    limits = limits._replace(
        windows={
            **LIMITS.windows,
            "seven_day_opus": Window("seven_day_opus", 100.0, NOW - 30, "rejected"),
        }
    )
    usage = USAGE._replace(snapshot=UsageSnapshot(limits, NOW - 15 * 60, "headers"))
    assert compact_line(usage, "acct", NOW) == (
        "Usage: 5 h 42 % · 7 d 18 % · 7 d Opus 100 % (reset at 14:12) · extra usage unknown"
    )
    on = USAGE._replace(
        snapshot=USAGE.snapshot._replace(
            limits=LIMITS._replace(binding_window=None, overage_status="allowed")
        )
    )
    assert compact_line(on, "acct", NOW) == (
        "Usage: 5 h 42 % (resets 15:25) · 7 d 18 % · extra usage on"
    )
    assert compact_line(USAGE, "someone-else", NOW) == (
        "Usage: none recorded yet (`claude-code-oauth usage --refresh` or "
        "/claude-code-usage --refresh asks Claude)."
    )


def test_edges_of_the_lines(utc: None) -> None:
    """A reset exactly now has happened; a binding window not shown leaves the reset
    time to the first window shown; the profile's display name is the plan's name."""
    windows = {
        "five_hour": Window("five_hour", 42.0, NOW),
        "seven_day": Window("seven_day", 18.0, NOW + 3600),
    }
    limits = UnifiedLimits(binding_window="overage", windows=windows, overage_status="allowed")
    plan = Plan("Max", "default_claude_max_20x", NOW, "Max Twenty")
    usage = UsageFile(plan=plan, snapshot=UsageSnapshot(limits, NOW, "headers"))
    assert render(usage, None, NOW)[:3] == [
        "Plan: Max Twenty (default_claude_max_20x)",
        "5-hour     42 %  reset at 14:13 (after these figures)",
        "7-day      18 %  resets 15:13 (in 1 h 0 min)",
    ]
    assert compact_line(usage, None, NOW) == (
        "Usage: 5 h 42 % (reset at 14:13) · 7 d 18 % · extra usage on"
    )
    later = usage._replace(
        snapshot=UsageSnapshot(
            limits._replace(windows={"five_hour": Window("five_hour", 42.0, NOW + 60)}),
            NOW,
            "headers",
        )
    )
    assert compact_line(later, None, NOW) == "Usage: 5 h 42 % (resets 14:14) · extra usage on"
    assert render(UsageFile(), None, NOW)[1] == (
        "No usage recorded yet: it is kept from every answer Claude sends; --refresh asks "
        "Claude now."
    )


def test_lines_without_a_given_now_use_the_clock() -> None:
    import time

    fresh = USAGE._replace(snapshot=USAGE.snapshot._replace(as_of=time.time()))
    assert compact_line(fresh, "acct").endswith("· extra usage off")  # not stale: no "as of"
    assert render(fresh, "acct")[-1].startswith("As of ")
