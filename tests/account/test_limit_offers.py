"""The offers at the limit (grace, slow lane, upgrade paths): read, never windows."""

from __future__ import annotations

from claude_code_oauth.account.limit_offers import (
    Grace,
    Slow,
    grace_from,
    paths_from,
    slow_from,
)

NOW = 1_790_000_000.0


def test_grace_is_offered_when_eligible_or_in_use() -> None:
    assert grace_from({"grace-status": "eligible"}.get) == Grace("eligible", None, None)
    assert grace_from({"grace-status": "eligible"}.get).offered
    in_use = grace_from({"grace-5h-utilization": "0.4", "grace-7d-utilization": "0"}.get)
    assert in_use == Grace(None, 40.0, 0.0) and in_use.offered
    assert not Grace(None, 0.0, 0.0).offered


def test_the_slow_lane_and_its_statuses() -> None:
    headers = {
        "slow-offer": "Treatment",
        "slow-status": "active",
        "slow-retry-after": "30",
        "slow-max-wait": "300",
        "slow-budget-utilization": "0.25",
        "slow-budget-reset": str(int(NOW + 86400)),
    }
    slow = slow_from(headers.get, NOW)
    assert slow == Slow("treatment", "active", 30.0, 300.0, 25.0, NOW + 86400) and slow.offered
    assert slow_from({"slow-status": "turbo"}.get, NOW).status == "unrecognized"
    assert slow_from({"slow-offer": "x"}.get, NOW).offer is None
    assert Slow("treatment").offered  # offered, no status yet
    assert not Slow("treatment", "budget_exhausted").offered
    assert not Slow("control", "not_needed").offered


def test_upgrade_paths_are_words() -> None:
    assert paths_from("upgrade_plan, overage") == ("upgrade_plan", "overage")
    assert paths_from("Upgrade Plan,") is None
    assert paths_from(",".join(["a"] * 20)) == ("a",) * 8


def test_the_control_offer_and_a_slow_lane_without_a_status() -> None:
    slow = slow_from({"slow-offer": " Control ", "slow-max-wait": "0"}.get, NOW)
    assert slow == Slow("control", None, None, 0.0, None, None)
    assert slow_from({"slow-retry-after": "5"}.get, NOW) == Slow(None, None, 5.0)
