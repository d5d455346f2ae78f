"""Parsing Claude's ``anthropic-ratelimit-unified-*`` headers."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_code_oauth.account.unified_limits import (
    PREFIX,
    display_name,
    parse,
    until,
    window_name,
)

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
        (PREFIX + "7d-utilization", "0.18"),
        (PREFIX + "7d-sonnet-utilization", "0.05"),
        (PREFIX + "7d_oi-utilization", "0.5"),
        (PREFIX + "overage-status", "rejected"),
        (PREFIX + "overage-in-use", "false"),
    ]
    limits = parse(headers, NOW)
    assert limits is not None
    assert limits.status == "allowed_warning" and not limits.limit_reached
    assert limits.binding_window == "five_hour"
    assert set(limits.windows) == {"five_hour", "seven_day", "seven_day_sonnet", "seven_day_oi"}
    assert limits.windows["five_hour"].utilization == pytest.approx(42.0)
    assert limits.windows["five_hour"].resets_at == NOW + 3600
    assert limits.windows["seven_day_sonnet"].utilization == pytest.approx(5.0)
    assert limits.overage_status == "rejected" and limits.overage_in_use is False
    assert not limits.billed_as_extra_usage
    binding = limits.binding()
    assert binding is not None and binding.utilization == pytest.approx(42.0)


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
    assert window_name("7d-sonnet") == "seven_day_sonnet"
    assert window_name("7d_opus") == "seven_day_opus"
    assert window_name("seven_day") == "seven_day"
    assert display_name("five_hour") == "5-hour"
    assert display_name("seven_day_opus") == "7-day Opus"


def test_until_says_clock_time_and_time_left() -> None:
    now = time.time()
    text = until(now + 72 * 60 + 5, now)
    assert text.endswith("(in 1 h 12 min)")
    assert until(now - 1, now).endswith("(now)")
    assert "(in 2 d" in until(now + 2 * 86400 + 60, now)
