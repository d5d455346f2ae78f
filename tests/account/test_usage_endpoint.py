"""``usage --refresh``: the usage endpoint's two forms, the plan from the profile,
at most one call a minute across processes, and the last values when it refuses."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_code_oauth.account import usage_snapshot
from claude_code_oauth.account.usage_endpoint import (
    MIN_INTERVAL,
    normalize,
    plan_from_profile,
    refresh,
)
from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import CLI
from helpers.tokens import seed

SONNET = "claude-sonnet-4-5-20250929"


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


def test_the_limits_form_wins_and_the_window_form_fills_in() -> None:
    limits = normalize(
        {
            "limits": [
                {
                    "kind": "session",
                    "percent": 81.5,
                    "severity": "warning",
                    "resets_at": "2026-01-02T20:00:00+00:00",
                    "is_active": True,
                },
                {"kind": "weekly", "percent": 90, "severity": "normal", "is_active": False},
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
    assert limits.binding_window == "five_hour"  # the active one, though 7-day is higher
    assert limits.status == "allowed_warning"
    assert limits.overage_status == "allowed" and limits.overage_utilization == 12.5


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


# -- against the emulator ----------------------------------------------------------


def _spend(emulator: ClaudeEmulator, settings: Settings, times: int) -> None:
    token = seed_token(settings)
    headers = {
        "authorization": f"Bearer {token}",
        "anthropic-beta": "oauth-2025-04-20",
        "anthropic-version": "2023-06-01",
    }
    body = {"model": SONNET, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
    for _ in range(times):
        httpx.post(emulator.base_url + "/v1/messages", headers=headers, json=body, timeout=10)


def seed_token(settings: Settings) -> str:
    from claude_code_oauth.tokens import store

    record = store.load(settings.token_path)
    assert record is not None
    return record.access_token


def _usage_calls(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/api/oauth/usage")


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, settings: Settings) -> Settings:
    seed(emulator, settings.token_path, expires_in=3600)
    emulator.configure_usage(limits={"five_hour": 8}, plan="pro", endpoint_form="both")
    return settings


def test_refresh_saves_the_endpoint_figures_and_the_plan(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    _spend(emulator, signed_in, 3)
    outcome = refresh(signed_in, emulator.account_uuid)
    assert outcome.asked and outcome.note is None and not outcome.failed
    usage = usage_snapshot.load(usage_snapshot.usage_path(signed_in))
    assert usage.account == emulator.account_uuid
    assert usage.plan is not None and (usage.plan.name, usage.plan.tier) == (
        "Pro",
        "default_claude_pro",
    )
    snapshot = usage.snapshot
    assert snapshot is not None and snapshot.source == "usage_endpoint"
    counters = emulator.usage_counters()["windows"]
    for name in ("five_hour", "seven_day", "seven_day_sonnet"):
        assert snapshot.limits.windows[name].utilization == pytest.approx(
            counters[name]["utilization"], abs=0.01
        )
    assert snapshot.limits.windows["five_hour"].resets_at == pytest.approx(
        counters["five_hour"]["resets_at"], abs=1
    )
    # Asked again at once: the endpoint is not called, the last values stay.
    again = refresh(signed_in, emulator.account_uuid)
    assert not again.asked and "at most once a minute" in (again.note or "")
    assert again.usage.snapshot == snapshot
    assert _usage_calls(emulator) == 1
    later = refresh(signed_in, emulator.account_uuid, now=time.time() + MIN_INTERVAL + 1)
    assert later.asked and _usage_calls(emulator) == 2


def test_when_the_endpoint_rate_limits_the_last_values_stay(
    emulator: ClaudeEmulator, signed_in: Settings
) -> None:
    assert refresh(signed_in, emulator.account_uuid).asked
    first = usage_snapshot.load(usage_snapshot.usage_path(signed_in)).snapshot
    emulator.configure_usage(endpoint_min_interval=600)
    start = time.time() + MIN_INTERVAL + 1
    limited = refresh(signed_in, emulator.account_uuid, now=start)
    assert limited.asked and not limited.failed
    assert "rate-limiting" in (limited.note or "") and "showing the last values" in limited.note
    assert limited.usage.snapshot == first and limited.usage.endpoint_retry_until is not None
    # Its Retry-After holds every process back, beyond our own minute.
    waiting = refresh(signed_in, emulator.account_uuid, now=start + MIN_INTERVAL + 1)
    assert not waiting.asked and "asked to wait" in (waiting.note or "")
    assert _usage_calls(emulator) == 2


def test_an_unreachable_endpoint_is_a_note_and_keeps_the_values(
    emulator: ClaudeEmulator, signed_in: Settings, unused_port: int
) -> None:
    env = dict(signed_in._environ, CLAUDE_CODE_OAUTH_API_BASE_URL=f"http://127.0.0.1:{unused_port}")
    broken = Settings(environ=env)
    outcome = refresh(broken, emulator.account_uuid)
    assert outcome.failed and outcome.asked
    assert "could not be reached" in (outcome.note or "") and "\n" not in outcome.note


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_one_call_a_minute_across_processes(
    emulator: ClaudeEmulator, client_env: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(environ=client_env)
    seed(emulator, settings.token_path, expires_in=3600)
    emulator.configure_usage(limits={"five_hour": 10})
    _spend(emulator, settings, 4)
    procs = [
        subprocess.Popen(
            [*CLI, "usage", "--refresh", "--json"],
            env=client_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    assert _usage_calls(emulator) == 1
    reports = [json.loads(out) for out, _ in outputs]
    notes = [err for _, err in outputs if "at most once a minute" in err]
    assert len(notes) == 3
    # Whoever got there first saw the endpoint's figures; every report is of that account.
    fresh = [r for r in reports if r["source"] == "usage_endpoint"]
    assert fresh and fresh[0]["windows"]["five_hour"]["utilization"] == 40.0
    assert fresh[0]["plan"] == {"name": "Max", "tier": "default_claude_max_20x"}
