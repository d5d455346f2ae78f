"""What ``usage`` and ``status`` show a person: the plan, each window with its reset
time, extra usage, one line for the offers at the limit, how old the figures are;
and the one compact line of ``status``.

From the usage file only (:mod:`.usage_snapshot`): no network, no HTTP library.
Times are local (:func:`~.unified_limits.clock_time`); every function takes ``now``
so a caller (and a test) decides what "now" is.
"""

from __future__ import annotations

import re
import time

from .unified_limits import (
    EXTRA_USAGE_ON,
    UnifiedLimits,
    clock_time,
    display_name,
    short_name,
    until,
    window_label,
)
from .usage_snapshot import UsageFile, for_account

#: The usual order of windows; others follow alphabetically.
WINDOW_ORDER = ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet")
#: A compact status line mentions how old its figures are past this age (seconds).
STALE_AFTER = 15 * 60
REFRESH_HINT = "`claude-code-oauth usage --refresh` or /claude-code-usage --refresh asks Claude"
_TIER_SIZE = re.compile(r"(\d+x)$")


def ordered(names: list[str]) -> list[str]:
    """Window names in the usual order (:data:`WINDOW_ORDER`, then alphabetically)."""
    known = [n for n in WINDOW_ORDER if n in names]
    return known + sorted(n for n in names if n not in WINDOW_ORDER)


def plan_short(name: str | None, tier: str | None, display: str | None = None) -> str | None:
    """``Max 20x``, ``Pro``, ``Team`` (the profile's ``display`` name when it gave
    one); ``None`` when no profile was read."""
    if display:
        return display
    if name is None and tier is None:
        return None
    size = _TIER_SIZE.search(tier or "")
    shown = name or "unknown"
    if size and name in ("Max", "Pro"):
        shown += f" {size.group(1)}"
    return shown


def plan_text(name: str | None, tier: str | None, display: str | None = None) -> str:
    """``Max 20x (default_claude_max_20x)``; ``unknown`` when no profile was read."""
    shown = plan_short(name, tier, display)
    if shown is None:
        return "unknown"
    return f"{shown} ({tier})" if tier else shown


def extra_usage_text(status: str | None, in_use: bool | None, reason: str | None = None) -> str:
    """``on, in use``, ``off (org_level_disabled)``, ``on, not in use``, ``out of
    credits``, ``unknown``."""
    if status in EXTRA_USAGE_ON:
        state = "on"
    elif status is None:
        state = "unknown"
    elif reason == "out_of_credits":
        state = "out of credits (out_of_credits): requests past the plan's limits are refused"
    else:
        state = "off" + (f" ({reason})" if reason else "")
    if in_use is True:
        return f"{state}, in use: requests are billed as extra usage (pay-as-you-go)"
    if in_use is False and state == "on":
        return f"{state}, not in use"
    return state


def _percent(value: float | None) -> str:
    """``42``, ``0.4``, ``?`` (one decimal only below 10 %, where it matters)."""
    if value is None:
        return "?"
    if value < 10 and round(value, 1) != round(value):
        return f"{value:.1f}"
    return f"{value:.0f}"


def _source_text(source: str | None) -> str:
    return "from the usage endpoint" if source == "usage_endpoint" else "from the last response"


#: Upgrade paths → what they offer a person.
_PATHS = {"upgrade_plan": "a plan upgrade", "overage": "extra usage"}


def offers_line(limits: UnifiedLimits) -> str | None:
    """One line for the offers that change what the user can do at the limit (a
    slower lane, a wrap-up allowance, a fallback model, upgrade paths), else ``None``.
    They are offers, not limits: nothing here waits on them."""
    offers = []
    if limits.slow is not None and limits.slow.offered:
        offers.append("a slower lane is offered")
    if limits.grace is not None and limits.grace.offered:
        offers.append("a wrap-up allowance is available")
    if limits.fallback == "available":
        offers.append("a fallback model is offered")
    if limits.upgrade_paths:
        ways = ", ".join(_PATHS.get(p, p.replace("_", " ")) for p in limits.upgrade_paths)
        offers.append(f"ways past the limit: {ways}")
    return f"Claude also says: {'; '.join(offers)}." if offers else None


def _plan_line(usage: UsageFile) -> str:
    plan = usage.plan
    if plan is None:
        return "Plan: unknown (--refresh reads it from your Claude profile)"
    return "Plan: " + plan_text(plan.name, plan.tier, plan.display_name)


def _profile_extra_usage(usage: UsageFile) -> str | None:
    """Extra usage as the profile (read at sign-in) says it, if it does."""
    enabled = usage.plan.extra_usage if usage.plan is not None else None
    if enabled is None:
        return None
    return f"Extra usage: {'on' if enabled else 'off'} (your Claude profile)"


def render(usage: UsageFile, account: str | None, now: float | None = None) -> list[str]:
    """Human lines for ``usage`` (the plan, each window, extra usage, the offers
    at the limit, as of)."""
    now = time.time() if now is None else now
    usage = for_account(usage, account)
    lines = [_plan_line(usage)]
    snapshot = usage.snapshot
    if snapshot is None:
        from_profile = _profile_extra_usage(usage)
        if from_profile:
            lines.append(from_profile)
        lines.append(
            "No usage recorded yet: it is kept from every answer Claude sends; "
            "--refresh asks Claude now."
        )
        return lines
    limits = snapshot.limits
    labels = {name: window_label(window) for name, window in limits.windows.items()}
    width = max((len(text) for text in labels.values()), default=0)
    for name in ordered(list(limits.windows)):
        window = limits.windows[name]
        percent = f"{_percent(window.utilization):>5} %"
        line = f"{labels[name]:<{width}}  {percent}"
        if window.resets_at is not None:
            if window.resets_at <= now:
                line += f"  reset at {clock_time(window.resets_at, now)} (after these figures)"
            else:
                line += f"  resets {until(window.resets_at, now)}"
        if name == limits.binding_window:
            line += "  (binding)"
        lines.append(line)
    if not limits.windows:
        lines.append("No limit windows in the last answer.")
    if limits.binding_window and limits.binding_window not in limits.windows:
        lines.append(f"Binding limit: {display_name(limits.binding_window)}")
    if limits.overage_status is None and _profile_extra_usage(usage):
        lines.append(str(_profile_extra_usage(usage)))
    else:
        extra = extra_usage_text(
            limits.overage_status, limits.overage_in_use, limits.overage_disabled_reason
        )
        if limits.overage_utilization is not None and limits.overage_status in EXTRA_USAGE_ON:
            extra += f"; {limits.overage_utilization:.0f} % of its monthly limit used"
        lines.append(f"Extra usage: {extra}")
    offers = offers_line(limits)
    if offers:
        lines.append(offers)
    lines.append(f"As of {clock_time(snapshot.as_of, now)} ({_source_text(snapshot.source)}).")
    return lines


def compact_line(usage: UsageFile, account: str | None, now: float | None = None) -> str:
    """``Usage: 5 h 42 % (resets 14:05) · 7 d 18 % · extra usage off``."""
    now = time.time() if now is None else now
    snapshot = for_account(usage, account).snapshot
    if snapshot is None:
        return f"Usage: none recorded yet ({REFRESH_HINT})."
    limits = snapshot.limits
    shown = [
        name
        for name in ordered(list(limits.windows))
        if name in ("five_hour", "seven_day")
        or name == limits.binding_window
        or limits.windows[name].status not in (None, "allowed")
    ]
    binding = limits.binding_window if limits.binding_window in shown else None
    parts = []
    for name in shown:
        window = limits.windows[name]
        scoped = window.model and name.startswith("seven_day")
        text = f"7 d {window.model}" if scoped else short_name(name)
        text += f" {_percent(window.utilization)} %"
        if window.resets_at is not None and window.resets_at <= now:
            text += f" (reset at {clock_time(window.resets_at, now)})"
        elif window.resets_at is not None and name == (binding or shown[0]):
            text += f" (resets {clock_time(window.resets_at, now)})"
        parts.append(text)
    status = limits.overage_status
    extra = "on" if status in EXTRA_USAGE_ON else "off" if status else "unknown"
    if limits.overage_in_use is True:
        extra = "in use"
    parts.append(f"extra usage {extra}")
    if now - snapshot.as_of > STALE_AFTER:
        parts.append(f"as of {clock_time(snapshot.as_of, now)}")
    return "Usage: " + " · ".join(parts)
