"""What ``usage`` reports: the stable JSON keys (:func:`build`), the lines for a Console
sign-in, and ``status``'s compact usage line. The command itself is
:mod:`claude_code_oauth.app.usage`.

The report is built from local files only — the token file (who is signed in)
and the usage file beside it (:mod:`.usage_snapshot`) — so it needs no network
and no HTTP library. The JSON keys are a stable interface (docs/commands.md; keys are
added, never renamed): ``plan`` {``name``, ``tier``, ``display_name``,
``extra_usage_enabled``}, ``windows`` {name: {``utilization`` (percent),
``resets_at`` (ISO 8601 with offset), ``status``, ``surpassed_threshold``,
``severity``, ``model``}}, ``binding_window``, ``extra_usage`` {``status``,
``in_use``, ``utilization``, ``resets_at``, ``disabled_reason``,
``surpassed_threshold``}, the offers that are not windows — ``fallback``,
``grace`` {``status``, ``five_hour_utilization``, ``seven_day_utilization``},
``slow`` {``offer``, ``status``, ``retry_after``, ``max_wait``,
``budget_utilization``, ``budget_resets_at``}, ``upgrade_paths`` (a list) —
``as_of`` and ``source`` (``headers``, ``usage_endpoint`` or ``null``).
"""

from __future__ import annotations

from .unified_limits import UnifiedLimits, Window, iso_local
from .usage_lines import compact_line, ordered
from .usage_snapshot import UsageFile, for_account

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: ``status``'s usage line for a Console sign-in.
API_KEY_USAGE_LINE = (
    "Usage: plan windows and extra usage don't apply to an API key; the Console bills it per token."
)
#: What ``usage`` says for a Console sign-in (an API key), line by line.
API_KEY_LINES = (
    "Plan: API (an Anthropic API key from the Console).",
    "Claude's plan windows (5-hour, weekly) and extra usage don't apply to an API key: "
    "the Console bills its requests per token, within the organization's rate limits.",
    "See the organization's usage and costs in the Anthropic Console.",
)


def empty_report() -> dict[str, Any]:
    """The report's keys with nothing known (not signed in, or nothing recorded)."""
    return {
        "plan": {"name": None, "tier": None, "display_name": None, "extra_usage_enabled": None},
        "windows": {},
        "binding_window": None,
        "extra_usage": {
            "status": None,
            "in_use": None,
            "utilization": None,
            "resets_at": None,
            "disabled_reason": None,
            "surpassed_threshold": None,
        },
        "fallback": None,
        "grace": None,
        "slow": None,
        "upgrade_paths": None,
        "as_of": None,
        "source": None,
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _window_json(window: Window) -> dict[str, Any]:
    return {
        "utilization": _rounded(window.utilization),
        "resets_at": iso_local(window.resets_at),
        "status": window.status,
        "surpassed_threshold": _rounded(window.surpassed_threshold),
        "severity": window.severity,
        "model": window.model,
    }


def _offers_json(limits: UnifiedLimits) -> dict[str, Any]:
    """The headers that are not windows, under their own keys."""
    grace, slow = limits.grace, limits.slow
    return {
        "fallback": limits.fallback,
        "grace": None
        if grace is None
        else {
            "status": grace.status,
            "five_hour_utilization": _rounded(grace.five_hour),
            "seven_day_utilization": _rounded(grace.seven_day),
        },
        "slow": None
        if slow is None
        else {
            "offer": slow.offer,
            "status": slow.status,
            "retry_after": slow.retry_after,
            "max_wait": slow.max_wait,
            "budget_utilization": _rounded(slow.budget_utilization),
            "budget_resets_at": iso_local(slow.budget_resets_at),
        },
        "upgrade_paths": None if limits.upgrade_paths is None else list(limits.upgrade_paths),
    }


def build(usage: UsageFile, account: str | None) -> dict[str, Any]:
    """The JSON report of ``usage`` for the signed-in ``account``."""
    report = empty_report()
    usage = for_account(usage, account)
    plan = usage.plan
    if plan is not None:
        report["plan"] = {
            "name": plan.name,
            "tier": plan.tier,
            "display_name": plan.display_name,
            "extra_usage_enabled": plan.extra_usage,
        }
    snapshot = usage.snapshot
    if snapshot is None:
        return report
    limits = snapshot.limits
    report["windows"] = {
        name: _window_json(limits.windows[name]) for name in ordered(list(limits.windows))
    }
    report["binding_window"] = limits.binding_window
    report["extra_usage"] = {
        "status": limits.overage_status,
        "in_use": limits.overage_in_use,
        "utilization": _rounded(limits.overage_utilization),
        "resets_at": iso_local(limits.overage_resets_at),
        "disabled_reason": limits.overage_disabled_reason,
        "surpassed_threshold": _rounded(limits.overage_surpassed_threshold),
    }
    report.update(_offers_json(limits))
    report["as_of"] = iso_local(snapshot.as_of)
    report["source"] = snapshot.source
    return report


def with_live_snapshot(usage: UsageFile, path: str, account: str | None) -> UsageFile:
    """``usage`` with this process's newest captured answer, if it is newer than the
    file (the capture writes at most once a second, so inside Code Puppy the file
    may lag the last answer). Never imports the capture module itself."""
    import sys

    module = sys.modules.get(__package__ + ".usage_capture")
    capture = module._captures.get(path) if module is not None else None
    latest = capture.latest if capture is not None else None
    if latest is None:
        return usage
    from .usage_snapshot import with_snapshot

    return with_snapshot(usage, latest, account)


def status_line(settings: Any, account: str | None, now: float | None = None) -> str | None:
    """The compact usage line for ``status`` (``None`` when the file cannot be read)."""
    from .usage_snapshot import load, usage_path

    path = usage_path(settings)
    try:
        usage = load(path)
    except Exception:
        return None
    return compact_line(with_live_snapshot(usage, path, account), account, now)
