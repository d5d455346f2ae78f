"""Parsing Claude's ``anthropic-ratelimit-unified-*`` headers."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_code_oauth.account.limit_offers import Grace, Slow
from claude_code_oauth.account.unified_limits import (
    PREFIX,
    Window,
    clock_time,
    display_name,
    iso_local,
    parse,
    short_name,
    until,
    window_label,
    window_name,
)
from helpers.time_zone import local_zone

NOW = 1_790_000_000.0


def _h(**fields: str) -> list[tuple[str, str]]:
    return [(PREFIX + k.replace("__", "-").replace("_", "-"), v) for k, v in fields.items()]


def test_no_unified_header_is_none() -> None:
    assert parse([("content-type", "application/json"), ("retry-after", "5")], NOW) is None


def test_a_full_answer_is_parsed_in_percent_with_canonical_names() -> None:
    headers = [
        ("Anthropic-Ratelimit-Unified-Status", "allowed_warning"),
        (PREFIX + "representative-claim", "five_hour"),
        (PREFIX + "reset", str(int(NOW + 3600))),
        (PREFIX + "5h-utilization", "0.42"),
        (PREFIX + "5h-reset", str(int(NOW + 3600))),
        (PREFIX + "5h-status", "allowed_warning"),
        (PREFIX + "5h-surpassed-threshold", "0.8"),
        (PREFIX + "7d-utilization", "0.18"),
        (PREFIX + "7d_oi-utilization", "0.5"),
        (PREFIX + "7d_oi-status", "allowed"),
        (PREFIX + "overage-status", "rejected"),
        (PREFIX + "overage-in-use", "false"),
        (PREFIX + "overage-disabled-reason", "out_of_credits"),
        (PREFIX + "overage-surpassed-threshold", "0.95"),
    ]
    limits = parse(headers, NOW)
    assert limits is not None
    assert limits.status == "allowed_warning" and not limits.limit_reached
    assert limits.binding_window == "five_hour"
    assert set(limits.windows) == {"five_hour", "seven_day", "seven_day_overage_included"}
    assert limits.windows["five_hour"].utilization == pytest.approx(42.0)
    assert limits.windows["five_hour"].resets_at == NOW + 3600
    assert limits.windows["five_hour"].surpassed_threshold == pytest.approx(80.0)
    assert limits.windows["seven_day_overage_included"].utilization == pytest.approx(50.0)
    assert limits.overage_status == "rejected" and limits.overage_in_use is False
    assert limits.overage_disabled_reason == "out_of_credits"
    assert limits.overage_surpassed_threshold == pytest.approx(95.0)
    assert not limits.billed_as_extra_usage
    binding = limits.binding()
    assert binding is not None and binding.utilization == pytest.approx(42.0)
    assert limits.grace is None and limits.slow is None and limits.fallback is None


def test_only_claudes_window_codes_are_windows() -> None:
    """Per §2c, only 5h, 7d and 7d_oi (and overage, extra usage's own fields) are
    windows: grace and slow headers are offers, and another code is ignored."""
    headers = [
        (PREFIX + "status", "allowed"),
        (PREFIX + "5h-utilization", "0.5"),
        (PREFIX + "7d-sonnet-utilization", "0.05"),
        (PREFIX + "7d-sonnet-status", "rejected"),
        (PREFIX + "grace-status", "eligible"),
        (PREFIX + "grace-5h-utilization", "0"),
        (PREFIX + "grace-7d-utilization", "0.25"),
        (PREFIX + "slow-offer", "treatment"),
        (PREFIX + "slow-status", "budget_exhausted"),
        (PREFIX + "slow-retry-after", "30"),
        (PREFIX + "slow-max-wait", "300"),
        (PREFIX + "slow-budget-utilization", "1.0"),
        (PREFIX + "slow-budget-reset", str(int(NOW + 86400))),
        (PREFIX + "fallback", "available"),
        (PREFIX + "upgrade-paths", "upgrade_plan, overage"),
    ]
    limits = parse(headers, NOW)
    assert limits is not None
    assert list(limits.windows) == ["five_hour"]
    assert limits.grace == Grace("eligible", 0.0, 25.0) and limits.grace.offered
    assert limits.slow == Slow("treatment", "budget_exhausted", 30.0, 300.0, 100.0, NOW + 86400)
    assert not limits.slow.offered  # its budget is spent
    assert limits.fallback == "available"
    assert limits.upgrade_paths == ("upgrade_plan", "overage")
    unknown = parse([(PREFIX + "slow-status", "turbo")], NOW)
    assert unknown is not None and unknown.slow is not None
    assert unknown.slow.status == "unrecognized"
    offered = parse([(PREFIX + "slow-offer", "treatment"), (PREFIX + "slow-status", "active")])
    assert offered is not None and offered.slow is not None and offered.slow.offered


def test_words_from_the_server_are_kept_only_when_they_are_words() -> None:
    value = "sk-ant-oat01-" + "A" * 40
    names = ("fallback", "overage-disabled-reason", "grace-status", "representative-claim")
    limits = parse([(PREFIX + name, value) for name in names] + [(PREFIX + "upgrade-paths", value)])
    assert limits is not None
    assert limits.fallback is None and limits.overage_disabled_reason is None
    assert limits.binding_window is None and limits.grace == Grace(None, None, None)
    assert limits.upgrade_paths is None


def test_rejected_and_billed_as_extra_usage() -> None:
    limits = parse([(PREFIX + "status", "rejected"), (PREFIX + "overage-in-use", "true")], NOW)
    assert limits is not None and limits.limit_reached and limits.billed_as_extra_usage


@pytest.mark.parametrize("value", ["nan", "inf", "-0.5", "1e999", "", "abc", "1" * 400, "100000"])
def test_absurd_numbers_are_dropped_not_raised(value: str) -> None:
    limits = parse(
        [(PREFIX + name, value) for name in ("5h-utilization", "5h-reset", "reset")],
        NOW,
    )
    assert limits is not None
    window = limits.windows["five_hour"]
    for number in (window.utilization, window.resets_at, limits.resets_at):
        assert number is None or (math.isfinite(number) and number >= 0)


@given(st.lists(st.tuples(st.text(max_size=40), st.text(max_size=40)), max_size=20))
def test_parse_never_raises(pairs: list[tuple[str, str]]) -> None:
    parse([(PREFIX + name, value) for name, value in pairs], NOW)


def test_window_names() -> None:
    assert window_name("5h") == "five_hour"
    assert window_name("7d") == "seven_day"
    assert window_name("7d_oi") == "seven_day_overage_included"
    assert window_name("seven_day") == "seven_day"
    assert window_name("seven-day-opus") == "seven_day_opus"
    assert display_name("five_hour") == "5-hour"
    assert display_name("seven_day_opus") == "7-day Opus"
    assert display_name("seven_day_fable") == "7-day fable"
    assert window_label(Window("seven_day_opus", model="Opus 4.1")) == "7-day Opus 4.1"
    assert window_label(Window("five_hour")) == "5-hour"


def test_until_says_clock_time_and_time_left() -> None:
    now = time.time()
    text = until(now + 72 * 60 + 5, now)
    assert text.endswith("(in 1 h 12 min)")
    assert until(now - 1, now).endswith("(now)")
    assert "(in 2 d" in until(now + 2 * 86400 + 60, now)


def test_every_field_of_an_answer_reaches_its_place() -> None:
    reset, overage_reset = NOW + 3600, NOW + 20 * 86400
    limits = parse(
        [
            (PREFIX + "status", "rejected"),
            (PREFIX + "reset", str(int(reset))),
            (PREFIX + "5h-reset", str(int(reset))),
            (PREFIX + "5h-status", "rejected"),
            (PREFIX + "overage-utilization", "0.25"),
            (PREFIX + "overage-reset", str(int(overage_reset))),
        ],
        NOW,
    )
    assert limits is not None
    assert limits.resets_at == reset and limits.overage_resets_at == overage_reset
    assert limits.overage_utilization == pytest.approx(25.0)
    assert limits.windows == {"five_hour": Window("five_hour", None, reset, "rejected", None)}
    # Headers that were not sent are None, never a made-up word.
    assert limits.overage_disabled_reason is None and limits.fallback is None
    assert limits.overage_status is None and limits.overage_in_use is None


def test_times_are_judged_against_the_given_now_not_the_wall_clock() -> None:
    long_ago = 315_532_800.0  # 1980: no wall clock this runs on is within 400 days of it
    limits = parse(
        [(PREFIX + "reset", str(int(long_ago + 60))), (PREFIX + "5h-reset", str(int(long_ago)))],
        long_ago,
    )
    assert limits is not None and limits.resets_at == long_ago + 60
    assert limits.windows["five_hour"].resets_at == long_ago


def test_the_binding_window_and_its_reset() -> None:
    # Named but not among the windows (the overage): the overall reset is its reset.
    overage = parse(
        [(PREFIX + "representative-claim", "overage"), (PREFIX + "reset", str(int(NOW + 60)))],
        NOW,
    )
    assert overage is not None
    assert overage.binding() == Window("overage", resets_at=NOW + 60)
    assert overage.binding_resets_at() == NOW + 60
    # Its window came without a reset: the overall one.
    no_own = parse(
        [
            (PREFIX + "representative-claim", "five_hour"),
            (PREFIX + "reset", str(int(NOW + 60))),
            (PREFIX + "5h-utilization", "1"),
        ],
        NOW,
    )
    assert no_own is not None and no_own.binding_resets_at() == NOW + 60
    assert parse([(PREFIX + "status", "allowed")], NOW).binding() is None


def test_names_people_read() -> None:
    assert display_name("overage_included_x") == "overage included x"
    assert display_name("seven_day_oauth_apps") == "7-day OAuth apps"
    assert display_name("seven_day_new_model") == "7-day new model"
    assert short_name("five_hour") == "5 h" and short_name("seven_day_fable") == "7-day fable"
    assert window_label(Window("five_hour", model="Opus 4.1")) == "Opus 4.1"


@pytest.mark.parametrize(
    ("seconds_left", "said"),
    [
        (-5, "now"),
        (0, "now"),
        (0.2, "in 1 s"),  # rounded up: never "now" while a fraction is left
        (1, "in 1 s"),
        (59, "in 59 s"),
        (60, "in 1 min"),
        (3599, "in 59 min"),
        (3600, "in 1 h 0 min"),
        (86399, "in 23 h 59 min"),
        (86400, "in 1 d 0 h"),
        (2 * 86400 + 3 * 3600 + 59, "in 2 d 3 h"),
    ],
)
def test_time_left_is_said_exactly(seconds_left: float, said: str) -> None:
    assert until(NOW + seconds_left, NOW).endswith(f"({said})")


@pytest.fixture
def berlin() -> Iterator[None]:
    with local_zone("Europe/Berlin"):
        yield


def test_clock_times_and_iso_times_in_local_time(berlin: None) -> None:
    summer = 1_790_000_000.0  # Mon 2026-09-21 16:13:20 in Berlin (UTC+2)
    winter = 1_798_000_000.0  # Wed 2026-12-23 05:26:40 in Berlin (UTC+1)
    assert clock_time(summer + 3600, summer) == "17:13"  # same day: the time only
    assert clock_time(summer + 86400, summer) == "Tue 22 Sep 16:13"
    assert until(summer + 2 * 86400, summer) == "Wed 23 Sep 16:13 (in 2 d 0 h)"
    assert iso_local(summer) == "2026-09-21T16:13:20+02:00"
    assert iso_local(winter) == "2026-12-23T05:26:40+01:00"
    assert iso_local(None) is None
