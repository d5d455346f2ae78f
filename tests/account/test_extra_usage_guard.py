"""The extra-usage guard: when requests would be billed as extra usage, and what
warn / block / allow do about it."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from claude_code_oauth.account import usage_endpoint, usage_snapshot
from claude_code_oauth.account.extra_usage_guard import (
    WARNING,
    ExtraUsageGuard,
    block_reason,
    guard_for,
    refusal,
)
from claude_code_oauth.account.unified_limits import PREFIX, UnifiedLimits, Window, parse
from claude_code_oauth.account.usage_capture import UsageCapture
from claude_code_oauth.account.usage_snapshot import UsageFile, UsageSnapshot
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import ExtraUsageBlocked
from claude_code_oauth.net.bearer_auth import OAuthBearerAuth
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.provider import TokenProvider
from claude_code_oauth.tokens.store import TokenRecord
from helpers.time_zone import local_zone
from helpers.tokens import seed

BODY = {
    "model": "claude-haiku-4-5-20251001",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "hi"}],
}
NOW = 1_790_000_000.0
RESET = NOW + 72 * 60


def _limits(**fields: object) -> UnifiedLimits:
    return UnifiedLimits(**fields)


FULL_5H = {"five_hour": Window("five_hour", 100.0, RESET, "rejected")}
BILLED_PAST_LIMIT = _limits(
    status="rejected",
    binding_window="five_hour",
    resets_at=RESET,
    windows=FULL_5H,
    overage_status="allowed",
    overage_in_use=False,
)


def test_limit_reached_with_extra_usage_on_blocks_until_the_windows_reset() -> None:
    assert block_reason(BILLED_PAST_LIMIT, NOW) == ("five_hour", RESET)
    assert block_reason(BILLED_PAST_LIMIT, RESET) is None  # the reset time has passed


def test_limit_reached_with_extra_usage_off_is_not_billed() -> None:
    off = BILLED_PAST_LIMIT._replace(overage_status="rejected")
    assert block_reason(off, NOW) is None


def test_under_the_limit_is_not_billed() -> None:
    fine = _limits(
        status="allowed",
        windows={"five_hour": Window("five_hour", 42.0, RESET, "allowed")},
        overage_status="allowed",
        overage_in_use=False,
    )
    assert block_reason(fine, NOW) is None


def test_billed_answers_without_windows_use_the_overall_reset() -> None:
    # Observed in 2026: only the overage headers, "representative-claim: overage".
    overage_only = _limits(
        status="allowed", binding_window="overage", resets_at=RESET, overage_in_use=True
    )
    assert block_reason(overage_only, NOW) == ("overage", RESET)
    unknown = overage_only._replace(resets_at=None)
    assert block_reason(unknown, NOW) == ("overage", None)


def test_billed_below_the_limits_names_no_plan_window() -> None:
    # Third-party traffic billed as extra usage: 1 % of the 5-hour window, allowed, in use.
    billed = _limits(
        status="allowed",
        binding_window="five_hour",
        resets_at=RESET,
        windows={"five_hour": Window("five_hour", 1.0, RESET, "allowed")},
        overage_status="allowed",
        overage_in_use=True,
    )
    assert block_reason(billed, NOW) == ("overage", None)  # the 5-hour reset ends nothing
    text = refusal("overage", None, NOW)
    assert "limit is reached" not in text and "billed this account's last answer" in text
    assert "usage --refresh" in text
    monthly = billed._replace(overage_resets_at=NOW + 30 * 86400)  # the spending cycle
    assert block_reason(monthly, NOW) == ("overage", None)


def test_a_reached_window_that_is_not_the_binding_one_is_still_named() -> None:
    limits = _limits(
        status="rejected",
        binding_window="seven_day",
        windows={
            "seven_day": Window("seven_day", 60.0, NOW + 86400, "allowed"),
            "seven_day_opus": Window("seven_day_opus", 102.0, NOW + 3600, "rejected"),
        },
        overage_status="allowed_warning",
    )
    assert block_reason(limits, NOW) == ("seven_day_opus", NOW + 3600)


def test_the_refusal_is_one_line_with_the_window_and_its_reset() -> None:
    text = refusal("five_hour", RESET, NOW)
    assert "\n" not in text
    assert "5-hour limit is reached" in text and "extra usage" in text
    assert "(in 1 h 12 min)" in text and "CLAUDE_CODE_OAUTH_EXTRA_USAGE" in text
    assert "reset time is unknown" in refusal("overage", None, NOW)


# -- the guard -------------------------------------------------------------------


@pytest.fixture
def guard_settings(tmp_path: Path) -> Settings:
    return Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(tmp_path), "HOME": str(tmp_path)})


def _guard(
    settings: Settings, mode: str, clock: list[float] | None = None
) -> tuple[ExtraUsageGuard, list[str]]:
    env = dict(settings._environ, CLAUDE_CODE_OAUTH_EXTRA_USAGE=mode)
    configured = Settings(environ=env)
    warnings: list[str] = []
    times = clock if clock is not None else [NOW]
    capture = UsageCapture(configured, clock=lambda: times[0])
    guard = ExtraUsageGuard(configured, capture, warn=warnings.append, clock=lambda: times[0])
    return guard, warnings


def _answer(in_use: bool) -> UnifiedLimits:
    return _limits(status="allowed", overage_status="allowed", overage_in_use=in_use)


def test_warn_once_per_stretch_of_extra_usage(guard_settings: Settings) -> None:
    guard, warnings = _guard(guard_settings, "warn")
    for in_use in (False, True, True, True):
        guard.observe(_answer(in_use))
    assert warnings == [WARNING]
    guard.observe(_limits(status="allowed"))  # no overage headers: no news either way
    guard.observe(_answer(True))
    assert len(warnings) == 1
    guard.observe(_answer(False))  # it stopped…
    guard.observe(_answer(True))  # …and started again
    assert warnings == [WARNING, WARNING]
    guard.check()  # warn never refuses


@pytest.mark.parametrize("mode", ["allow", "block"])
def test_allow_and_block_do_not_warn(guard_settings: Settings, mode: str) -> None:
    guard, warnings = _guard(guard_settings, mode)
    guard.observe(_answer(True))
    assert warnings == []


def test_block_refuses_from_this_process_snapshot_until_the_reset(guard_settings: Settings) -> None:
    clock = [NOW]
    guard, _ = _guard(guard_settings, "block", clock)
    guard.check()  # nothing known: send
    guard.capture.record(UsageSnapshot(BILLED_PAST_LIMIT, NOW, "headers"))
    with pytest.raises(ExtraUsageBlocked) as info:
        guard.check()
    assert info.value.window == "five_hour" and info.value.resets_at == RESET
    assert "5-hour limit is reached" in str(info.value)
    clock[0] = RESET + 1
    guard.check()  # the window has reset: send again
    assert guard.capture.flush(10)


def test_block_reads_another_process_snapshot_of_the_same_account(
    guard_settings: Settings,
) -> None:
    guard, _ = _guard(guard_settings, "block")
    path = usage_snapshot.usage_path(guard_settings)
    record = TokenRecord.from_token_response(
        {
            "access_token": "access-for-the-guard-test",
            "refresh_token": "refresh-for-the-guard-test",
            "expires_in": 3600,
            "account": {"uuid": "account-a", "email_address": "a@example.com"},
        },
        now=time.time(),
    )
    token_store.save(guard_settings.token_path, record)
    snapshot = UsageSnapshot(BILLED_PAST_LIMIT, NOW - 5, "headers")
    usage_snapshot.save(path, UsageFile(account="account-b", snapshot=snapshot))
    guard.check()  # another account's figures say nothing about this one
    usage_snapshot.save(path, UsageFile(account="account-a", snapshot=snapshot))
    with pytest.raises(ExtraUsageBlocked):
        guard.check()
    # A newer answer of this process (under the limit) wins over the older file.
    fine = _limits(status="allowed", overage_status="allowed", overage_in_use=False)
    guard.capture.record(UsageSnapshot(fine, NOW, "headers"))
    guard.check()
    assert guard.capture.flush(10)
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_an_invalid_mode_counts_as_warn_in_the_guard(guard_settings: Settings) -> None:
    guard, warnings = _guard(guard_settings, "sometimes")
    assert guard.mode() == "warn"
    guard.observe(_answer(True))
    assert warnings == [WARNING]


def test_block_on_billing_below_the_limits_is_true_and_a_usage_refresh_looks_again(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    blocking = Settings(environ=dict(settings._environ, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block"))
    seed(emulator, blocking.token_path, expires_in=3600)
    emulator.configure_usage(extra_usage=True, bill_all_as_extra=True)

    def send() -> int:
        auth = OAuthBearerAuth(TokenProvider(blocking), blocking)
        with httpx.Client(base_url=emulator.base_url, auth=auth, timeout=10) as client:
            return client.post("/v1/messages", json=BODY).status_code

    guard = guard_for(blocking)
    guard.check()  # nothing known yet
    assert send() == 200
    with pytest.raises(ExtraUsageBlocked) as info:
        guard.check()
    assert "limit is reached" not in str(info.value)
    assert "billed this account's last answer as extra usage" in str(info.value)
    assert info.value.window == "overage" and info.value.resets_at is None
    # The usage endpoint knows the plan's windows, not whether the last answer was billed.
    assert usage_endpoint.refresh(blocking, emulator.account_uuid).usage.snapshot is not None
    guard.check()
    assert send() == 200
    with pytest.raises(ExtraUsageBlocked):
        guard.check()  # billed again: held back again


def test_block_never_refuses_on_severity_grace_or_slow_headers(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    """Below the plan's limits with extra usage on, Claude's answers carry every offer
    (a wrap-up allowance, a slower lane whose budget is spent, a fallback model,
    upgrade paths) and the usage endpoint colours the 5-hour row ``critical`` at
    91 %: none of it is a limit, so ``block`` keeps sending."""
    blocking = Settings(environ=dict(settings._environ, CLAUDE_CODE_OAUTH_EXTRA_USAGE="block"))
    seed(emulator, blocking.token_path, expires_in=3600)
    always = {"grace": 0.0, "slow": 0.0, "fallback": 0.0, "upgrade_paths": 0.0}
    emulator.configure_usage(
        limits={"five_hour": 100},
        extra_usage=True,
        signals=always,
        slow_budget_used=1.0,
        endpoint_form="limits",
    )
    guard = guard_for(blocking)
    auth = OAuthBearerAuth(TokenProvider(blocking), blocking)
    with httpx.Client(base_url=emulator.base_url, auth=auth, timeout=10) as client:
        answer = client.post("/v1/messages", json=BODY)
        assert answer.status_code == 200
        assert answer.headers["anthropic-ratelimit-unified-slow-budget-utilization"] == "1"
        assert answer.headers["anthropic-ratelimit-unified-grace-status"] == "eligible"
        guard.check()  # the headers' offers are not limits
        emulator.configure_usage(cost=90)  # the next request brings the window to 91 %
        assert client.post("/v1/messages", json=BODY).status_code == 200
    guard.check()
    outcome = usage_endpoint.refresh(blocking, emulator.account_uuid)
    assert outcome.usage.snapshot is not None and outcome.usage.snapshot.source == "usage_endpoint"
    five = outcome.usage.snapshot.limits.windows["five_hour"]
    assert five.severity == "critical" and five.utilization == 91.0
    guard.check()  # critical is a colour, not a rejection


# -- what a user would see if the guard's decisions drifted ------------------------

DAY = 86400


def _parsed(**fields: str) -> UnifiedLimits:
    limits = parse([(PREFIX + name, value) for name, value in fields.items()], NOW)
    assert limits is not None
    return limits


def test_a_reset_far_in_the_past_is_not_believed_and_block_still_blocks() -> None:
    """A ``…-reset`` 500 days ago is absurd: it is dropped (unknown), never taken as
    "the window has reset", which would lift ``block`` at once and bill the user."""
    past = str(int(NOW - 500 * DAY))
    limits = _parsed(
        **{
            "status": "rejected",
            "representative-claim": "five_hour",
            "reset": past,
            "5h-utilization": "1.0",
            "5h-status": "rejected",
            "5h-reset": past,
            "overage-status": "allowed",
        }
    )
    assert limits.resets_at is None and limits.windows["five_hour"].resets_at is None
    assert block_reason(limits, NOW) == ("five_hour", None)
    assert "The reset time is unknown" in refusal("five_hour", None, NOW)


def test_a_refusal_with_extra_usage_off_is_not_billed_and_warn_stays_silent(
    guard_settings: Settings,
) -> None:
    """Claude's 429 with extra usage off: ``status: rejected`` and ``overage-status:
    rejected``, no ``overage-in-use``. Nothing was billed: no warning, no block."""
    limits = _parsed(
        **{
            "status": "rejected",
            "representative-claim": "five_hour",
            "5h-utilization": "1.0",
            "5h-status": "rejected",
            "overage-status": "rejected",
            "overage-disabled-reason": "org_level_disabled",
        }
    )
    assert limits.limit_reached and not limits.billed_as_extra_usage
    guard, warnings = _guard(guard_settings, "warn")
    guard.observe(limits)
    assert warnings == []
    assert block_reason(limits, NOW) is None
    on = _parsed(**{"status": "rejected", "overage-status": "allowed_warning"})
    assert on.billed_as_extra_usage  # the same refusal with extra usage on is billed
    guard.observe(on)
    assert warnings == [WARNING]


def test_a_window_at_exactly_100_percent_is_reached_and_block_refuses() -> None:
    """100 % is the limit (Claude's status may still say ``allowed_warning``): with
    extra usage on, the next request is billed, so ``block`` refuses it."""
    limits = _limits(
        status="allowed_warning",
        binding_window="five_hour",
        resets_at=RESET,
        windows={"five_hour": Window("five_hour", 100.0, RESET, "allowed_warning")},
        overage_status="allowed",
    )
    assert block_reason(limits, NOW) == ("five_hour", RESET)
    just_under = limits._replace(
        windows={"five_hour": Window("five_hour", 99.9, RESET, "allowed_warning")}
    )
    assert block_reason(just_under, NOW) is None


@pytest.mark.parametrize("mode", ["warn", "allow"])
def test_warn_and_allow_never_refuse_with_a_billed_snapshot_recorded(
    guard_settings: Settings, mode: str
) -> None:
    guard, _ = _guard(guard_settings, mode)
    guard.capture.record(UsageSnapshot(BILLED_PAST_LIMIT, NOW, "headers"))
    assert guard.latest() is not None
    guard.check()  # the same snapshot makes block refuse (test above); these send
    assert guard.capture.flush(10)


def test_a_window_claude_says_is_rejected_is_reached_below_100_percent() -> None:
    limits = _limits(
        status="allowed_warning",
        binding_window="five_hour",
        windows={"five_hour": Window("five_hour", 95.0, RESET, "rejected")},
        overage_status="allowed",
    )
    assert block_reason(limits, NOW) == ("five_hour", RESET)


def test_a_window_without_a_figure_is_not_reached_by_itself() -> None:
    """A window whose headers carried only a reset (no utilization, no status)."""
    limits = _limits(
        status="allowed",
        windows={"five_hour": Window("five_hour", None, RESET, None)},
        overage_status="allowed",
    )
    assert block_reason(limits, NOW) is None


def test_the_refusal_names_the_binding_window_first_then_the_fullest() -> None:
    binding = _limits(
        status="rejected",
        binding_window="seven_day",
        windows={
            "five_hour": Window("five_hour", 120.0, NOW + 3600, "rejected"),
            "seven_day": Window("seven_day", 100.0, NOW + 86400, "rejected"),
        },
        overage_status="allowed",
    )
    assert block_reason(binding, NOW) == ("seven_day", NOW + 86400)
    # No binding window named: the fullest reached one (not the first, not by name).
    fullest = binding._replace(
        binding_window=None,
        windows={
            "seven_day": Window("seven_day", 100.0, NOW + 86400, "rejected"),
            "five_hour": Window("five_hour", 150.0, NOW + 3600, "rejected"),
        },
    )
    assert block_reason(fullest, NOW) == ("five_hour", NOW + 3600)
    # A figure Claude did not send ranks below any figure it did.
    unknown = binding._replace(
        binding_window=None,
        windows={
            "seven_day": Window("seven_day", 0.5, NOW + 86400, "rejected"),
            "five_hour": Window("five_hour", None, NOW + 3600, "rejected"),
        },
    )
    assert block_reason(unknown, NOW) == ("seven_day", NOW + 86400)


def test_a_limit_reached_overall_without_a_window_names_the_representative_claim() -> None:
    limits = _limits(
        status="rejected", binding_window="five_hour", resets_at=RESET, overage_status="allowed"
    )
    assert block_reason(limits, NOW) == ("five_hour", RESET)
    # A reached window without its own reset: the overall reset ends the block.
    no_own_reset = _limits(
        status="rejected",
        binding_window="five_hour",
        resets_at=RESET,
        windows={"five_hour": Window("five_hour", 100.0, None, "rejected")},
        overage_status="allowed",
    )
    assert block_reason(no_own_reset, NOW) == ("five_hour", RESET)


@pytest.fixture
def utc() -> Iterator[None]:
    with local_zone("UTC"):
        yield


def test_the_refusal_lines_word_for_word(utc: None) -> None:
    now = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
    assert refusal("five_hour", now + 72 * 60, now) == (
        "Not sent (extra_usage = block): your plan's 5-hour limit is reached and Claude "
        "would bill it as extra usage. That resets at 15:25 (in 1 h 12 min); to send "
        "anyway, set CLAUDE_CODE_OAUTH_EXTRA_USAGE=warn."
    )
    assert refusal("overage", None, now) == (
        "Not sent (extra_usage = block): Claude billed this account's last answer as extra "
        "usage. The reset time is unknown (`claude-code-oauth usage --refresh` asks Claude "
        "again); to send anyway, set CLAUDE_CODE_OAUTH_EXTRA_USAGE=warn."
    )
    assert refusal(None, None, now).startswith(
        "Not sent (extra_usage = block): Claude billed this account's last answer"
    )


def test_the_blocked_request_says_when_the_window_resets(guard_settings: Settings) -> None:
    guard, _ = _guard(guard_settings, "block")
    guard.capture.record(UsageSnapshot(BILLED_PAST_LIMIT, NOW, "headers"))
    with pytest.raises(ExtraUsageBlocked) as info:
        guard.check()
    assert str(info.value) == refusal("five_hour", RESET, NOW)
    assert "(in 1 h 12 min)" in str(info.value)
    assert guard.capture.flush(10)


def test_answers_the_capture_reads_reach_the_guard(guard_settings: Settings) -> None:
    """The guard listens to its capture: an answer billed as extra usage that the
    capture parses warns, even one that says only ``overage-in-use``."""
    guard, warnings = _guard(guard_settings, "warn")
    guard.capture(httpx.Response(200, headers={PREFIX + "overage-in-use": "true"}))
    assert warnings == [WARNING]
    assert guard.capture.flush(10)


def test_an_unreadable_token_file_leaves_this_process_figures_in_charge(
    guard_settings: Settings,
) -> None:
    """A newer usage file whose account cannot be checked (the token file is not
    JSON) is not believed; this process's own (billed) snapshot still blocks."""
    guard, _ = _guard(guard_settings, "block")
    guard.capture.record(UsageSnapshot(BILLED_PAST_LIMIT, NOW - 60, "headers"))
    assert guard.capture.flush(10)
    fine = _limits(status="allowed", overage_status="allowed", overage_in_use=False)
    path = usage_snapshot.usage_path(guard_settings)
    usage_snapshot.save(path, UsageFile(account="a", snapshot=UsageSnapshot(fine, NOW, "headers")))
    Path(guard_settings.token_path).write_text("{not json")
    with pytest.raises(ExtraUsageBlocked):
        guard.check()
    # Another account's newer figures say nothing about this one either.
    token_store.save(
        guard_settings.token_path,
        TokenRecord.from_token_response(
            {
                "access_token": "access-for-the-guard-test",
                "refresh_token": "refresh-for-the-guard-test",
                "expires_in": 3600,
                "account": {"uuid": "account-b", "email_address": "b@example.com"},
            },
            now=time.time(),
        ),
    )
    with pytest.raises(ExtraUsageBlocked):
        guard.check()


def test_one_guard_per_sign_in_so_one_warning_per_stretch(guard_settings: Settings) -> None:
    first = guard_for(guard_settings)
    assert guard_for(guard_settings) is first
    warnings: list[str] = []
    first.warn = warnings.append
    first.capture.record(UsageSnapshot(_answer(True), NOW, "headers"))
    assert warnings == [WARNING]
    assert first.capture.flush(10)


def test_without_a_host_the_warning_goes_to_the_projects_logger(
    guard_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Library callers configure logging by our logger's name; the line is the warning
    itself, not a template."""
    configured = Settings(environ=dict(guard_settings._environ))
    guard = ExtraUsageGuard(configured, UsageCapture(configured, clock=lambda: NOW))
    with caplog.at_level("WARNING", logger="claude_code_oauth"):
        guard.observe(_answer(True))
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("claude_code_oauth", "WARNING", WARNING)
    ]


def test_on_a_tie_this_process_figures_win_over_the_file(guard_settings: Settings) -> None:
    """The file's snapshot is believed only when it is *newer* than this process's own:
    at the same instant (normally this process's own answer, written back) the guard
    keeps what it saw, without reading whose the file is."""
    guard, _ = _guard(guard_settings, "block")
    guard.capture.record(UsageSnapshot(BILLED_PAST_LIMIT, NOW, "headers"))
    assert guard.capture.flush(10)
    token_store.save(
        guard_settings.token_path,
        TokenRecord.from_token_response(
            {
                "access_token": "access-for-the-guard-test",
                "refresh_token": "refresh-for-the-guard-test",
                "expires_in": 3600,
                "account": {"uuid": "account-a", "email_address": "a@example.com"},
            },
            now=time.time(),
        ),
    )
    fine = _limits(status="allowed", overage_status="allowed", overage_in_use=False)
    path = usage_snapshot.usage_path(guard_settings)
    same_instant = UsageSnapshot(fine, NOW, "headers")
    usage_snapshot.save(path, UsageFile(account="account-a", snapshot=same_instant))
    with pytest.raises(ExtraUsageBlocked):
        guard.check()
    # One second later the file is newer, and it is this account's: it wins.
    later = UsageSnapshot(fine, NOW + 1, "headers")
    usage_snapshot.save(path, UsageFile(account="account-a", snapshot=later))
    guard.check()
