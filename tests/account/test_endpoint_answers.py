"""The usage endpoint's two forms and the profile's plan, read as §2c says."""

from __future__ import annotations

from typing import Any

import pytest

from claude_code_oauth.account.endpoint_answers import (
    normalize,
    plan_from_profile,
    plan_of_profile,
)
from claude_code_oauth.account.usage_snapshot import Plan

NOW = 1_790_000_000.0


def test_the_window_form() -> None:
    limits = normalize(
        {
            "five_hour": {"utilization": 24.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
            "seven_day": {"utilization": 36, "resets_at": "2026-01-08T06:59:59Z"},
            "seven_day_sonnet": {"utilization": 100.0, "resets_at": None},
            "seven_day_opus": None,
            "iguana_necktie": None,
            "extra_usage": {"is_enabled": False, "monthly_limit": None, "utilization": None},
        }
    )
    assert set(limits.windows) == {"five_hour", "seven_day", "seven_day_sonnet"}
    five = limits.windows["five_hour"]
    assert five.utilization == 24.0  # already percent: not scaled
    assert five.resets_at == pytest.approx(1767383999.600956)
    assert limits.windows["seven_day"].resets_at == 1767855599.0
    assert limits.windows["seven_day_sonnet"].status == "rejected"
    assert limits.binding_window == "seven_day_sonnet" and limits.status == "rejected"
    assert limits.overage_status == "rejected" and limits.overage_in_use is None


def _row(kind: str, percent: float, severity: str = "normal", **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "percent": percent, "severity": severity, **extra}


def _scoped(model: str, percent: float, severity: str = "normal") -> dict[str, Any]:
    scope = {"model": {"display_name": model}}
    return _row("weekly_scoped", percent, severity, group="weekly", scope=scope)


def test_the_limits_form_wins_and_the_window_form_fills_in() -> None:
    limits = normalize(
        {
            "limits": [
                _row(
                    "session",
                    81.5,
                    "warning",
                    group="session",
                    resets_at="2026-01-02T20:00:00+00:00",
                    is_active=True,
                ),
                _row("weekly_all", 90, "critical", group="weekly", is_active=False),
                {"kind": 5, "percent": 1},
                "junk",
            ],
            "five_hour": {"utilization": 10.0, "resets_at": None},
            "seven_day_opus": {"utilization": 3.0, "resets_at": None},
            "extra_usage": {"is_enabled": True, "utilization": 12.5},
        }
    )
    assert set(limits.windows) == {"five_hour", "seven_day", "seven_day_opus"}
    assert limits.windows["five_hour"].utilization == 81.5  # from limits[], not 10.0
    assert limits.windows["five_hour"].status == "allowed_warning"
    # weekly_all is the 7-day window, not a window of its own.
    assert limits.windows["seven_day"].utilization == 90.0
    assert limits.binding_window == "five_hour"  # the active one, though 7-day is higher
    assert limits.status == "allowed_warning"
    assert limits.overage_status == "allowed" and limits.overage_utilization == 12.5


def test_critical_is_a_colour_not_a_rejection() -> None:
    """§2c: severity is the server's colour. At 91 % a row may be ``critical``; the
    window is not reached (only 100 % is), so nothing reads it as rejected."""
    limits = normalize({"limits": [_row("session", 91, "critical", is_active=True)]})
    five = limits.windows["five_hour"]
    assert five.severity == "critical" and five.status == "allowed_warning"
    assert limits.status == "allowed_warning" and not limits.limit_reached
    full = normalize({"limits": [_row("session", 100, "normal")]})
    assert full.windows["five_hour"].status == "rejected" and full.limit_reached


def test_every_weekly_scoped_row_survives_named_by_its_model() -> None:
    limits = normalize(
        {
            "limits": [
                _row("session", 10, group="session"),
                _row("weekly_all", 20, group="weekly"),
                _scoped("Opus", 70, "warning"),
                _scoped("Sonnet 4.5", 5),
                _scoped("Opus", 71),  # a second row for one model: kept too
                _row("weekly_scoped", 1, group="weekly"),  # no scope
                _row("weekly_scoped", 2, scope={"model": {"display_name": "sk-ant-oat01-x"}}),
                _row("monthly_thing", 3),  # a meter this version does not know
            ],
            "seven_day_opus": {"utilization": 1.0, "resets_at": None},
        }
    )
    windows = limits.windows
    assert set(windows) == {
        "five_hour",
        "seven_day",
        "seven_day_opus",
        "seven_day_sonnet_4_5",
        "seven_day_opus_2",
        "seven_day_scoped",
        "seven_day_scoped_2",
        "monthly_thing",
    }
    assert windows["seven_day_opus"].utilization == 70.0  # limits[] wins over the window form
    assert windows["seven_day_opus"].model == "Opus"
    assert windows["seven_day_sonnet_4_5"].model == "Sonnet 4.5"
    assert windows["seven_day_opus_2"].utilization == 71.0
    assert windows["seven_day_scoped"].model is None
    assert windows["seven_day_scoped_2"].model is None  # not a name: dropped
    assert windows["monthly_thing"].utilization == 3.0


def test_a_label_never_classifies_a_row() -> None:
    """A session row whose scope names a model is still the session window."""
    limits = normalize({"limits": [_row("session", 50, scope={"model": {"display_name": "X"}})]})
    assert list(limits.windows) == ["five_hour"] and limits.windows["five_hour"].model is None


def test_extra_usage_disabled_reason() -> None:
    limits = normalize(
        {
            "extra_usage": {
                "is_enabled": False,
                "disabled_reason": "out_of_credits",
                "currency": "USD",
            }
        }
    )
    assert limits.overage_status == "rejected"
    assert limits.overage_disabled_reason == "out_of_credits"


def test_the_profile_gives_the_display_name_and_the_extra_usage_setting() -> None:
    profile = {
        "account": {"uuid": "a", "email": "x@example.com"},
        "organization": {
            "organization_type": "claude_max",
            "rate_limit_tier": "default_claude_max_5x",
            "plan_display_name": "Max 5x",
            "has_extra_usage_enabled": True,
        },
    }
    assert plan_of_profile(profile, NOW) == Plan(
        "Max", "default_claude_max_5x", NOW, "Max 5x", True
    )
    bare = plan_of_profile({"organization": {"organization_type": "claude_pro"}}, NOW)
    assert bare == Plan("Pro", None, NOW, None, None)
    odd = {"organization": {"plan_display_name": "<script>", "has_extra_usage_enabled": "yes"}}
    assert plan_of_profile(odd, NOW)[3:] == (None, None)


def test_nonsense_values_are_dropped() -> None:
    limits = normalize(
        {
            "five_hour": {"utilization": float("nan"), "resets_at": "yesterday"},
            "seven_day": {"utilization": True, "resets_at": "2026-01-02T20:00:00"},
            "seven_day_sonnet": {"utilization": 10**400, "resets_at": None},  # 400 digits
            "limits": [{"kind": "seven_day_opus", "percent": -4}],
        }
    )
    assert all(w.utilization is None for w in limits.windows.values())
    assert all(w.resets_at is None for w in limits.windows.values())  # naive times too
    assert limits.binding_window is None


@pytest.mark.parametrize(
    ("profile", "plan"),
    [
        (
            {
                "account": {"has_claude_max": True, "has_claude_pro": False},
                "organization": {
                    "organization_type": "claude_max",
                    "rate_limit_tier": "default_claude_max_20x",
                },
            },
            ("Max", "default_claude_max_20x"),
        ),
        ({"account": {"has_claude_pro": True}, "organization": {}}, ("Pro", None)),
        ({"organization": {"organization_type": "claude_team"}}, ("Team", None)),
        ({"organization": {"organization_type": "claude_enterprise"}}, ("Enterprise", None)),
        (
            {"account": {"has_claude_max": False}, "organization": {"organization_type": "api"}},
            ("API", None),
        ),
        ({"organization": {"organization_type": "claude_student"}}, ("Student", None)),
        ({}, (None, None)),
    ],
)
def test_the_plan_from_the_profile(
    profile: dict[str, Any], plan: tuple[str | None, str | None]
) -> None:
    assert plan_from_profile(profile) == plan


def test_rows_past_the_first_odd_one_are_still_read() -> None:
    """A row that is not an object, has no kind, or a kind that is no name is skipped;
    the rows after it are read."""
    limits = normalize(
        {
            "limits": [
                "not a row",
                {"percent": 5},
                _row("Not A Word!", 6),
                _row("session", 10),
                _scoped("Opus", 20),
                _scoped("Opus", 21),
                _scoped("Opus", 22),
            ]
        }
    )
    assert [(w.name, w.utilization) for w in limits.windows.values()] == [
        ("five_hour", 10.0),
        ("seven_day_opus", 20.0),
        ("seven_day_opus_2", 21.0),
        ("seven_day_opus_3", 22.0),
    ]


def test_at_most_64_rows_are_read_and_names_are_36_characters() -> None:
    rows = [_row("session", 1)] * 64 + [_row("weekly_all", 2)]
    assert "seven_day" not in normalize({"limits": rows}).windows
    long_kind = "m" * 40
    (name,) = normalize({"limits": [_row(long_kind, 3)]}).windows
    assert name == "m" * 36


def test_a_surface_names_a_scoped_row_when_no_model_does() -> None:
    surface = _row(
        "weekly_scoped",
        4,
        scope={"model": "not an object", "surface": {"display_name": "Claude Code"}},
    )
    unnamed = _row("weekly_scoped", 5, scope={"model": {"display_name": "<b>"}})
    windows = normalize({"limits": [surface, unnamed]}).windows
    assert windows["seven_day_claude_code"].model == "Claude Code"
    assert windows["seven_day_scoped"].model is None


@pytest.mark.parametrize(
    ("profile", "plan"),
    [
        ({"organization": {"organization_type": "claude_team"}}, ("Team", None)),
        ({"organization": {"organization_type": "claude_max"}}, ("Max", None)),
        ({"organization": {"organization_type": "claude_pro"}}, ("Pro", None)),
        ({"account": {"has_claude_max": True}, "organization": {}}, ("Max", None)),
        ({"account": {"has_claude_pro": True}}, ("Pro", None)),
        ({"organization": {"organization_type": "console"}}, ("API", None)),
        ({"organization": {"organization_type": "api_business"}}, ("API", None)),
        (
            {"organization": {"organization_type": "claude_student_plus"}},
            ("Student Plus", None),
        ),
        ({"organization": {"organization_type": "x" * 40}}, ("X" + "x" * 31, None)),
        ({"organization": {"uuid": "org-1"}}, ("API", None)),  # an org, no type: the API
        (
            {"organization": {"organization_type": "api", "rate_limit_tier": " t" + "1" * 70}},
            ("API", "t" + "1" * 63),
        ),
    ],
)
def test_more_plans_from_the_profile(
    profile: dict[str, Any], plan: tuple[str | None, str | None]
) -> None:
    assert plan_from_profile(profile) == plan


def test_a_profile_whose_organization_is_not_an_object() -> None:
    assert plan_of_profile({"organization": "x"}, NOW) == Plan(None, None, NOW, None, None)


def test_the_window_forms_statuses_names_and_times() -> None:
    limits = normalize(
        {
            "five_hour": {"utilization": 42.0, "resets_at": "2026-09-21T15:25:00Z"},
            "seven_day": {"utilization": None, "resets_at": "2026-09-21T15:25:00"},
        }
    )
    five = limits.windows["five_hour"]
    assert five.name == "five_hour" and five.status == "allowed"
    assert five.resets_at == NOW + 72 * 60 - 20  # 15:25:00 UTC
    seven = limits.windows["seven_day"]
    assert seven.status is None and seven.resets_at is None  # no zone: not believed
    assert limits.status == "allowed"


# -- what a user would see if the reading drifted (docs/mutation.md) ----------------


def test_a_row_of_another_shape_does_not_hide_the_rows_after_it() -> None:
    limits = normalize({"limits": ["a row of a new shape", None, _row("session", 42.0)]})
    assert set(limits.windows) == {"five_hour"}
    assert limits.windows["five_hour"].utilization == 42.0


def test_the_edges_of_a_percentage_are_believed() -> None:
    """0 % is a figure (not "?"), and so is the largest believed (10 000 %)."""
    limits = normalize(
        {
            "five_hour": {"utilization": 0, "resets_at": None},
            "seven_day": {"utilization": 10_000, "resets_at": None},
            "seven_day_opus": {"utilization": 10_000.5, "resets_at": None},
        }
    )
    assert limits.windows["five_hour"].utilization == 0.0
    assert limits.windows["seven_day"].utilization == 10_000.0
    assert limits.windows["seven_day_opus"].utilization is None


def test_the_binding_window_is_the_fullest_and_brings_its_reset() -> None:
    """Not the last by name, and a window at 0 % is the emptiest: the reset a blocked
    request waits for is the fullest window's."""
    limits = normalize(
        {
            "five_hour": {"utilization": 80.0, "resets_at": "2026-01-02T20:00:00Z"},
            "seven_day": {"utilization": 20.0, "resets_at": "2026-01-08T07:00:00Z"},
        }
    )
    assert limits.binding_window == "five_hour"
    assert limits.resets_at == 1767384000.0
    quiet = normalize(
        {
            "five_hour": {"utilization": 0.0, "resets_at": "2026-01-02T20:00:00Z"},
            "seven_day": {"utilization": 0.5, "resets_at": "2026-01-08T07:00:00Z"},
        }
    )
    assert quiet.binding_window == "seven_day" and quiet.resets_at == 1767855600.0


def test_an_answer_that_says_nothing_of_extra_usage_leaves_it_unknown() -> None:
    limits = normalize({"five_hour": {"utilization": 1.0, "resets_at": None}})
    assert limits.overage_status is None  # unknown, not "off"
    assert normalize({"extra_usage": {"is_enabled": True}}).overage_status == "allowed"
    assert normalize({"extra_usage": {"is_enabled": False}}).overage_status == "rejected"


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("claude_enterprise_sso", "Enterprise"),
        ("claude_team_standard", "Team"),
        ("claude_max_5x", "Max"),
        ("claude_pro_trial", "Pro"),
    ],
)
def test_a_variant_of_a_known_organization_type_is_named_by_it(kind: str, name: str) -> None:
    profile = {"account": {}, "organization": {"organization_type": kind}}
    assert plan_from_profile(profile) == (name, None)
