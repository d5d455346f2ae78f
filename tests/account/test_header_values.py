"""Values read from the unified headers: numbers in range, times near now, words only."""

from __future__ import annotations

import pytest

from claude_code_oauth.account.header_values import (
    boolean,
    epoch,
    percent,
    seconds,
    status,
    word,
)

NOW = 1_790_000_000.0


@pytest.mark.parametrize(
    "value",
    ["sk-ant-oat01-" + "A" * 40, "Available Now", "x" * 65, "a,b", "drop table", "_x", ""],
    ids=["token-shaped", "capitals", "too-long", "list", "spaces", "underscore-first", "empty"],
)
def test_only_short_lower_case_words_are_words(value: str) -> None:
    assert word(value) is None
    assert status(value) is None or status(value) == value.strip().lower()[:32]


def test_words_and_statuses() -> None:
    assert word(" out_of_credits ") == "out_of_credits" and word(5) is None
    assert status("Allowed_Warning") == "allowed_warning"
    assert status("paused") == "paused"  # a status Claude may add later, still a word
    assert status("Not a status!") is None


@pytest.mark.parametrize("text", ["nan", "inf", "-0.5", "1e999", "", "abc", "1" * 400, "101"])
def test_absurd_percentages_are_none(text: str) -> None:
    assert percent(text) is None


def test_numbers_in_range() -> None:
    assert percent("0.42") == pytest.approx(42.0) and percent("1.5") == pytest.approx(150.0)
    assert epoch(str(NOW + 3600.7), NOW) == NOW + 3600
    assert epoch(str(NOW + 401 * 86400), NOW) is None
    assert seconds("30") == 30.0 and seconds("-1") is None and seconds("1e9") is None
    assert (boolean("TRUE"), boolean("false"), boolean("yes")) == (True, False, None)


def test_the_edges_of_each_range_are_inside_it() -> None:
    """Each bound is the last value believed: one past it is not."""
    assert word("a" * 64) == "a" * 64 and word("a" * 65) is None
    assert percent("100") == 10_000.0 and percent("100.01") is None  # 10 000 %
    assert percent("0") == 0.0
    edge = NOW + 400 * 86400
    assert epoch(str(edge), NOW) == edge and epoch(str(edge + 1), NOW) is None
    assert epoch(str(NOW - 400 * 86400), NOW) == NOW - 400 * 86400
    assert epoch(str(NOW - 400 * 86400 - 1), NOW) is None  # far in the past: not believed
    assert seconds("0") == 0.0 and seconds("0.5") == 0.5
    assert seconds("86400") == 86400.0 and seconds("86400.5") is None
