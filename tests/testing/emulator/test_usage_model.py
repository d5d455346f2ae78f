"""The emulator's usage model over real HTTP: unified headers driven by per-account
counters, crossing 100 % with extra usage on and off, window resets, the usage
endpoint in both forms, and the profile's plan fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from claude_code_oauth.account.unified_limits import PREFIX, parse
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

BETA = "oauth-2025-04-20"
SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-1-20250805"


@pytest.fixture
def auth(emu: ClaudeEmulator) -> dict[str, str]:
    token = emu.issue_login()["access_token"]
    return {
        "authorization": f"Bearer {token}",
        "anthropic-beta": BETA,
        "anthropic-version": "2023-06-01",
    }


def _ask(
    client: httpx.Client, auth: dict[str, str], model: str = SONNET, **extra: Any
) -> httpx.Response:
    body = {
        "model": model,
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
        **extra,
    }
    return client.post("/v1/messages", headers=auth, json=body)


def _unified(answer: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k.startswith(PREFIX)}


def test_every_answer_carries_headers_that_match_the_counters(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 4, "seven_day": 40})
    now = emu.wall_clock()
    answer = _ask(client, auth)
    assert answer.status_code == 200
    headers = _unified(answer)
    # Fractions 0-1 and epoch seconds, as Claude sends them.
    assert headers[PREFIX + "5h-utilization"] == "0.25"
    assert headers[PREFIX + "7d-utilization"] == "0.025"
    assert int(headers[PREFIX + "5h-reset"]) == now + 5 * 3600
    assert headers[PREFIX + "status"] == "allowed"
    assert headers[PREFIX + "representative-claim"] == "five_hour"
    assert headers[PREFIX + "reset"] == headers[PREFIX + "5h-reset"]
    assert headers[PREFIX + "overage-status"] == "rejected"
    assert headers[PREFIX + "overage-disabled-reason"] == "org_level_disabled"
    assert headers[PREFIX + "overage-in-use"] == "false"
    counters = emu.usage_counters()
    limits = parse(answer.headers.items(), now)
    assert limits is not None
    for name in ("five_hour", "seven_day"):
        assert limits.windows[name].utilization == pytest.approx(
            counters["windows"][name]["utilization"]
        )
    assert counters["windows"]["five_hour"]["used"] == 1 and counters["requests"] == 1
    # The third request brings the 5-hour window to 75 %: a warning, not yet the limit.
    _ask(client, auth)
    third = _unified(_ask(client, auth))
    assert third[PREFIX + "5h-status"] == "allowed" and third[PREFIX + "status"] == "allowed"
    fourth = _unified(_ask(client, auth))
    assert fourth[PREFIX + "5h-status"] == "rejected"  # 100 %: the next one would be over


def test_warning_status_from_80_percent_and_streaming_answers_carry_headers(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 5})
    for _ in range(3):
        _ask(client, auth)
    answer = _ask(client, auth, stream=True)
    assert answer.status_code == 200 and "text/event-stream" in answer.headers["content-type"]
    headers = _unified(answer)
    assert headers[PREFIX + "5h-utilization"] == "0.8"
    assert headers[PREFIX + "5h-status"] == "allowed_warning"
    assert headers[PREFIX + "status"] == "allowed_warning"


def test_past_the_limit_with_extra_usage_on_is_served_and_billed(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 2}, extra_usage=True, extra_limit=10)
    _ask(client, auth)
    within = _unified(_ask(client, auth))
    assert within[PREFIX + "status"] == "rejected"  # the limit is reached…
    assert within[PREFIX + "overage-in-use"] == "false"  # …but this one was in the plan
    assert within[PREFIX + "overage-status"] == "allowed"
    over = _ask(client, auth)
    assert over.status_code == 200
    headers = _unified(over)
    assert headers[PREFIX + "overage-in-use"] == "true"
    assert headers[PREFIX + "5h-utilization"] == "1.5"
    assert headers[PREFIX + "overage-utilization"] == "0.1"
    limits = parse(over.headers.items(), emu.wall_clock())
    assert limits is not None and limits.billed_as_extra_usage and limits.limit_reached
    counters = emu.usage_counters()
    assert counters["extra_used"] == 1 and counters["requests"] == 3


def test_past_the_limit_with_extra_usage_off_is_429_with_the_headers(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 1})
    assert _ask(client, auth).status_code == 200
    refused = _ask(client, auth)
    assert refused.status_code == 429
    assert refused.json()["error"]["type"] == "rate_limit_error"
    headers = _unified(refused)
    assert headers[PREFIX + "status"] == "rejected"
    assert headers[PREFIX + "representative-claim"] == "five_hour"
    assert headers[PREFIX + "overage-status"] == "rejected"
    assert headers[PREFIX + "overage-in-use"] == "false"
    assert int(refused.headers["retry-after"]) == int(headers[PREFIX + "reset"]) - emu.wall_clock()
    counters = emu.usage_counters()
    assert counters["refused"] == 1 and counters["windows"]["five_hour"]["used"] == 1


def test_a_window_resets_now_or_soon(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 1})
    _ask(client, auth)
    assert _ask(client, auth).status_code == 429
    emu.reset_usage("five_hour")
    assert _ask(client, auth).status_code == 200
    emu.reset_usage("five_hour", in_seconds=0.5)
    refused = _ask(client, auth)
    assert refused.status_code == 429  # the window has not reset yet
    assert int(_unified(refused)[PREFIX + "5h-reset"]) == emu.wall_clock() + 1  # ceil(0.5)
    emu.wall_clock.advance(0.25)
    assert emu.usage_counters()["windows"]["five_hour"]["used"] == 1
    emu.wall_clock.advance(0.25)
    assert emu.usage_counters()["windows"]["five_hour"]["used"] == 0
    assert _ask(client, auth).status_code == 200


def test_per_model_windows_count_only_their_models(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    _ask(client, auth, OPUS)
    _ask(client, auth, SONNET)
    windows = emu.usage_counters()["windows"]
    assert windows["seven_day_opus"]["used"] == 1
    assert windows["seven_day_sonnet"]["used"] == 1
    assert windows["seven_day"]["used"] == 2
    headers = _unified(_ask(client, auth, OPUS))
    # Claude sends per-window headers for 5h, 7d and 7d_oi only (§2c): a per-model
    # weekly window is reported by the usage endpoint's weekly_scoped rows.
    codes = {name[len(PREFIX) :].rsplit("-", 1)[0] for name in headers}
    assert {c for c in codes if "-" not in c and c[0].isdigit()} == {"5h", "7d"}
    assert not any("opus" in name or "sonnet" in name for name in headers)


def test_the_7d_oi_window_counts_its_models_and_carries_surpassed_thresholds(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(
        limits={"seven_day_overage_included": 5},
        window_models={"seven_day_overage_included": "opus"},
    )
    _ask(client, auth, SONNET)
    for _ in range(4):
        headers = _unified(_ask(client, auth, OPUS))
    assert headers[PREFIX + "7d_oi-utilization"] == "0.8"
    assert headers[PREFIX + "7d_oi-status"] == "allowed_warning"
    assert headers[PREFIX + "7d_oi-surpassed-threshold"] == "0.8"
    assert PREFIX + "5h-surpassed-threshold" not in headers  # 5 % of 100
    last = _unified(_ask(client, auth, OPUS))
    assert last[PREFIX + "7d_oi-surpassed-threshold"] == "1"  # 1 once rejected
    limits = parse(_ask(client, auth, SONNET).headers.items(), emu.wall_clock())
    assert limits is not None
    window = limits.windows["seven_day_overage_included"]
    assert window.utilization == 100.0 and window.surpassed_threshold == 100.0


def test_spent_extra_usage_is_out_of_credits_and_refused(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 1}, extra_usage=True, extra_limit=2)
    _ask(client, auth)
    for _ in range(2):
        assert _ask(client, auth).status_code == 200  # billed as extra usage
    refused = _ask(client, auth)
    assert refused.status_code == 429
    headers = _unified(refused)
    assert headers[PREFIX + "overage-status"] == "rejected"
    assert headers[PREFIX + "overage-disabled-reason"] == "out_of_credits"
    assert headers[PREFIX + "overage-surpassed-threshold"] == "1"
    body = client.get("/api/oauth/usage", headers=auth).json()["extra_usage"]
    assert body["is_enabled"] is False and body["disabled_reason"] == "out_of_credits"


@pytest.mark.parametrize(
    ("signal", "names"),
    [
        ("grace", {"grace-status", "grace-5h-utilization", "grace-7d-utilization"}),
        (
            "slow",
            {
                "slow-offer",
                "slow-status",
                "slow-retry-after",
                "slow-max-wait",
                "slow-budget-utilization",
                "slow-budget-reset",
            },
        ),
        ("fallback", {"fallback"}),
        ("upgrade_paths", {"upgrade-paths"}),
    ],
)
def test_signals_are_sent_from_their_threshold_on(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str], signal, names
) -> None:
    emu.configure_usage(limits={"five_hour": 4}, signals={signal: 0.75})
    first = _unified(_ask(client, auth))  # 25 %
    assert not any(name[len(PREFIX) :] in names for name in first)
    _ask(client, auth)
    third = _unified(_ask(client, auth))  # 75 %
    assert {name[len(PREFIX) :] for name in third} >= names
    emu.configure_usage(signals={signal: None})
    assert not any(name[len(PREFIX) :] in names for name in _unified(_ask(client, auth)))


def test_the_situations_the_signals_model(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    """Grace is eligible near the limit; the slower lane is offered past it (its
    status says whether its budget is spent); upgrade paths offer extra usage while
    it is off."""
    emu.configure_usage(
        limits={"five_hour": 2},
        signals={"grace": 0.5, "slow": 0.5, "fallback": 1.0, "upgrade_paths": 1.0},
    )
    near = _unified(_ask(client, auth))  # 50 %
    assert near[PREFIX + "grace-status"] == "eligible"
    assert near[PREFIX + "slow-status"] == "not_needed"
    assert PREFIX + "fallback" not in near
    full = _unified(_ask(client, auth))  # 100 %
    assert full[PREFIX + "slow-offer"] == "treatment" and full[PREFIX + "slow-status"] == "active"
    assert full[PREFIX + "fallback"] == "available"
    assert full[PREFIX + "upgrade-paths"] == "upgrade_plan,overage"
    emu.configure_usage(slow_budget_used=1.0, extra_usage=True)
    spent = _unified(_ask(client, auth))
    assert spent[PREFIX + "slow-status"] == "budget_exhausted"
    assert spent[PREFIX + "upgrade-paths"] == "upgrade_plan"
    with pytest.raises(ValueError, match="signals"):
        emu.configure_usage(signals={"turbo": 0.5})


def test_bill_all_as_extra_models_third_party_billing(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(extra_usage=True, bill_all_as_extra=True)
    headers = _unified(_ask(client, auth))
    assert headers[PREFIX + "status"] == "allowed"
    assert headers[PREFIX + "overage-in-use"] == "true"


def test_errors_after_authentication_carry_headers_without_cost(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    answer = client.post("/v1/messages", headers=auth, json={"model": SONNET})
    assert answer.status_code == 400
    assert PREFIX + "status" in answer.headers
    assert emu.usage_counters()["requests"] == 0
    unauthenticated = client.post("/v1/messages", json={"model": SONNET})
    assert unauthenticated.status_code == 401
    assert not _unified(unauthenticated)  # no account, no usage


# -- /api/oauth/usage ------------------------------------------------------------


def test_usage_endpoint_window_form(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(limits={"five_hour": 8}, extra_usage=True, extra_limit=50)
    for _ in range(2):
        _ask(client, auth)
    answer = client.get("/api/oauth/usage", headers=auth)
    assert answer.status_code == 200
    body = answer.json()
    assert body["five_hour"]["utilization"] == 25.0  # percent, unlike the headers
    assert body["five_hour"]["resets_at"].endswith("+00:00")
    assert body["seven_day_opus"]["utilization"] == 0.0
    assert body["seven_day_opus"]["resets_at"] is None  # not started
    assert body["seven_day_oauth_apps"] is None
    assert body["extra_usage"] == {
        "is_enabled": True,
        "monthly_limit": 50.0,
        "used_credits": 0.0,
        "utilization": 0.0,
        "currency": "USD",
        "disabled_reason": None,
    }
    assert "limits" not in body


def test_usage_endpoint_limits_form_and_both(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    """§2c: rows of kind session | weekly_all | weekly_scoped (one per model, named in
    scope.model.display_name), grouped session | weekly, severity a colour."""
    emu.configure_usage(limits={"five_hour": 10}, endpoint_form="limits")
    for _ in range(9):
        _ask(client, auth)
    _ask(client, auth, OPUS)
    body = client.get("/api/oauth/usage", headers=auth).json()
    assert "five_hour" not in body
    rows = body["limits"]
    assert [(r["kind"], r["group"]) for r in rows] == [
        ("session", "session"),
        ("weekly_all", "weekly"),
        ("weekly_scoped", "weekly"),
        ("weekly_scoped", "weekly"),
    ]
    session = rows[0]
    assert session["percent"] == 100.0 and session["severity"] == "critical"
    assert session["is_active"] and session["scope"] is None
    assert [r["is_active"] for r in rows] == [True, False, False, False]
    scoped = {r["scope"]["model"]["display_name"]: r["percent"] for r in rows[2:]}
    assert scoped == {"Opus": 0.25, "Sonnet": 1.12}
    assert all(r["severity"] == "normal" for r in rows[1:])
    emu.configure_usage(endpoint_form="both")
    body = client.get("/api/oauth/usage", headers=auth).json()
    assert body["five_hour"]["utilization"] == 100.0 and body["limits"]


def test_severity_is_a_colour_from_80_and_90_percent(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
):
    emu.configure_usage(limits={"five_hour": 10}, endpoint_form="limits")

    def severity() -> str:
        return client.get("/api/oauth/usage", headers=auth).json()["limits"][0]["severity"]

    for count, expected in ((7, "normal"), (1, "warning"), (1, "critical")):
        for _ in range(count):
            assert _ask(client, auth).status_code == 200
        assert severity() == expected


def test_usage_endpoint_rate_limits_and_needs_the_beta_and_scope(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.configure_usage(endpoint_min_interval=60)
    assert client.get("/api/oauth/usage", headers=auth).status_code == 200
    again = client.get("/api/oauth/usage", headers=auth)
    assert again.status_code == 429 and 55 <= int(again.headers["retry-after"]) <= 60
    no_beta = {k: v for k, v in auth.items() if k != "anthropic-beta"}
    assert client.get("/api/oauth/usage", headers=no_beta).status_code == 401
    inference_only = emu.issue_login(scope="user:inference")["access_token"]
    narrow = {**auth, "authorization": f"Bearer {inference_only}"}
    assert client.get("/api/oauth/usage", headers=narrow).status_code == 403


@pytest.mark.parametrize(
    ("plan", "fields"),
    [
        ("max", (True, False, "claude_max", "default_claude_max_20x")),
        ("pro", (False, True, "claude_pro", "default_claude_pro")),
        ("team", (False, False, "claude_team", "default_claude_team")),
        ("enterprise", (False, False, "claude_enterprise", "default_claude_enterprise")),
        ("api", (False, False, "api", "default_api")),
    ],
)
def test_profile_carries_the_plan(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str], plan, fields
) -> None:
    emu.configure_usage(plan=plan)
    body = client.get("/api/oauth/profile", headers=auth).json()
    account, org = body["account"], body["organization"]
    assert (
        account["has_claude_max"],
        account["has_claude_pro"],
        org["organization_type"],
        org["rate_limit_tier"],
    ) == fields
    assert org["subscription_status"] == "active"
    assert org["has_extra_usage_enabled"] is False
    assert account["uuid"] == emu.account_uuid
    assert account["email"] == account["email_address"] == "emulated.user@example.com"


def test_profile_carries_the_plan_display_name_and_extra_usage(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
):
    def organization() -> dict[str, Any]:
        return client.get("/api/oauth/profile", headers=auth).json()["organization"]

    assert organization()["plan_display_name"] == "Max 20x"
    emu.configure_usage(tier="default_claude_max_5x", extra_usage=True)
    assert organization()["plan_display_name"] == "Max 5x"
    assert organization()["has_extra_usage_enabled"] is True
    emu.configure_usage(plan="team", tier=None, plan_display_name="Team Premium")
    assert organization()["plan_display_name"] == "Team Premium"
    emu.configure_usage(plan="api", plan_display_name=None)
    assert "plan_display_name" not in organization()


def test_usage_can_be_driven_over_http(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    answer = client.post(
        "/_emulator/usage", json={"configure": {"limits": {"five_hour": 2}, "extra_usage": True}}
    )
    assert answer.status_code == 200 and answer.json()["windows"]["five_hour"]["limit"] == 2
    _ask(client, auth)
    assert client.get("/_emulator/usage").json()["windows"]["five_hour"]["used"] == 1
    assert client.post("/_emulator/usage", json={"reset": "five_hour"}).status_code == 200
    assert client.get("/_emulator/usage").json()["windows"]["five_hour"]["used"] == 0
    bad = client.post("/_emulator/usage", json={"configure": {"plan": "gold"}})
    assert bad.status_code == 400 and "plan" in bad.json()["error"]["message"]
    with pytest.raises(ValueError, match="unknown usage setting"):
        emu.configure_usage(colour="blue")
