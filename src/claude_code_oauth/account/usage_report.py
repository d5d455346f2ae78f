"""What ``usage`` reports: the stable JSON keys, the human lines, and the one
compact line of ``status``.

The report is built from local files only — the token file (who is signed in)
and the usage file beside it (:mod:`.usage_snapshot`) — so it needs no network
and no HTTP library. The JSON keys are a stable interface (README):
``plan`` {``name``, ``tier``}, ``windows`` {name: {``utilization`` (percent),
``resets_at`` (ISO 8601 with offset), ``status``}}, ``binding_window``,
``extra_usage`` {``status``, ``in_use``}, ``as_of``, ``source``
(``headers``, ``usage_endpoint`` or ``null``).
"""

from __future__ import annotations

import re
import time

from .unified_limits import EXTRA_USAGE_ON, clock_time, display_name, iso_local, short_name, until
from .usage_snapshot import UsageFile, for_account

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The usual order of windows; others follow alphabetically.
WINDOW_ORDER = ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet")
#: A compact status line mentions how old its figures are past this age (seconds).
STALE_AFTER = 15 * 60
REFRESH_HINT = "`claude-code-oauth usage --refresh` or /claude-code-usage --refresh asks Claude"
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
_TIER_SIZE = re.compile(r"(\d+x)$")


def empty_report() -> dict[str, Any]:
    """The report's keys with nothing known (not signed in, or nothing recorded)."""
    return {
        "plan": {"name": None, "tier": None},
        "windows": {},
        "binding_window": None,
        "extra_usage": {"status": None, "in_use": None},
        "as_of": None,
        "source": None,
    }


def _ordered(names: list[str]) -> list[str]:
    known = [n for n in WINDOW_ORDER if n in names]
    return known + sorted(n for n in names if n not in WINDOW_ORDER)


def build(usage: UsageFile, account: str | None) -> dict[str, Any]:
    """The JSON report of ``usage`` for the signed-in ``account``."""
    report = empty_report()
    usage = for_account(usage, account)
    if usage.plan is not None:
        report["plan"] = {"name": usage.plan.name, "tier": usage.plan.tier}
    snapshot = usage.snapshot
    if snapshot is None:
        return report
    limits = snapshot.limits
    report["windows"] = {
        name: {
            "utilization": (
                None
                if limits.windows[name].utilization is None
                else round(limits.windows[name].utilization, 2)
            ),
            "resets_at": iso_local(limits.windows[name].resets_at),
            "status": limits.windows[name].status,
        }
        for name in _ordered(list(limits.windows))
    }
    report["binding_window"] = limits.binding_window
    report["extra_usage"] = {"status": limits.overage_status, "in_use": limits.overage_in_use}
    report["as_of"] = iso_local(snapshot.as_of)
    report["source"] = snapshot.source
    return report


# -- for people ------------------------------------------------------------------


def plan_short(name: str | None, tier: str | None) -> str | None:
    """``Max 20x``, ``Pro``, ``Team``; ``None`` when no profile was read."""
    if name is None and tier is None:
        return None
    size = _TIER_SIZE.search(tier or "")
    shown = name or "unknown"
    if size and name in ("Max", "Pro"):
        shown += f" {size.group(1)}"
    return shown


def plan_text(name: str | None, tier: str | None) -> str:
    """``Max 20x (default_claude_max_20x)``; ``unknown`` when no profile was read."""
    shown = plan_short(name, tier)
    if shown is None:
        return "unknown"
    return f"{shown} ({tier})" if tier else shown


def extra_usage_text(status: str | None, in_use: bool | None, reason: str | None = None) -> str:
    """``on, in use``, ``off (org_level_disabled)``, ``on, not in use``, ``unknown``."""
    if status in EXTRA_USAGE_ON:
        state = "on"
    elif status is None:
        state = "unknown"
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


def render(usage: UsageFile, account: str | None, now: float | None = None) -> list[str]:
    """Human lines for ``usage`` (the plan, each window, extra usage, as of)."""
    now = time.time() if now is None else now
    usage = for_account(usage, account)
    plan = usage.plan
    lines = [
        "Plan: "
        + (
            plan_text(plan.name, plan.tier)
            if plan
            else "unknown (--refresh reads it from your Claude profile)"
        )
    ]
    snapshot = usage.snapshot
    if snapshot is None:
        lines.append(
            "No usage recorded yet: it is kept from every answer Claude sends; "
            "--refresh asks Claude now."
        )
        return lines
    limits = snapshot.limits
    width = max((len(display_name(n)) for n in limits.windows), default=0)
    for name in _ordered(list(limits.windows)):
        window = limits.windows[name]
        percent = f"{_percent(window.utilization):>5} %"
        line = f"{display_name(name):<{width}}  {percent}"
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
    extra = extra_usage_text(
        limits.overage_status, limits.overage_in_use, limits.overage_disabled_reason
    )
    if limits.overage_utilization is not None and limits.overage_status in EXTRA_USAGE_ON:
        extra += f"; {limits.overage_utilization:.0f} % of its monthly limit used"
    lines.append(f"Extra usage: {extra}")
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
        for name in _ordered(list(limits.windows))
        if name in ("five_hour", "seven_day")
        or name == limits.binding_window
        or limits.windows[name].status not in (None, "allowed")
    ]
    binding = limits.binding_window if limits.binding_window in shown else None
    parts = []
    for name in shown:
        window = limits.windows[name]
        text = short_name(name)
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


# -- the command ------------------------------------------------------------------


class UsageResult:
    """What ``usage`` shows: ``report`` (the JSON), ``lines`` (for people), ``notes``
    (one-line remarks for stderr / warnings), the exit status, and ``signed_in``."""

    __slots__ = ("exit_code", "lines", "notes", "report", "signed_in")

    def __init__(
        self,
        report: dict[str, Any],
        lines: list[str],
        notes: list[str],
        exit_code: int,
        signed_in: bool = True,
    ) -> None:
        self.report = report
        self.lines = lines
        self.notes = notes
        self.exit_code = exit_code
        self.signed_in = signed_in


def collect(settings: Any, *, refresh: bool = False, now: float | None = None) -> UsageResult:
    """The usage of ``settings``' sign-in: local files only, unless ``refresh`` (then
    the usage endpoint, at most once a minute across processes). Not signed in: the
    empty report and exit status 1. A Console sign-in (an API key): the empty report
    with plan ``API``, lines saying plan windows don't apply, exit status 0. Raises
    :class:`ClaudeOAuthError` for a damaged token file or a sign-in that cannot be
    used for ``refresh``."""
    from ..errors import UsageFileError
    from ..tokens import store as token_store
    from .usage_snapshot import load, usage_path

    fixed_now = now
    now = time.time() if now is None else now
    record = token_store.load_sign_in(settings.token_path)
    if isinstance(record, token_store.ApiKeyRecord):
        report = empty_report()
        report["plan"] = {"name": "API", "tier": None}
        notes = ["--refresh asks Claude's usage endpoint, which only subscription sign-ins have."]
        return UsageResult(report, list(API_KEY_LINES), notes if refresh else [], 0)
    if record is None:
        lines = ["Not signed in to Claude: no usage to show."]
        from ..hints import anywhere

        lines.append(f"Sign in with {anywhere().login(settings.profile)}.")
        return UsageResult(empty_report(), lines, [], 1, signed_in=False)
    from ..tokens.record import account_uuid

    account = account_uuid(record)
    notes: list[str] = []
    exit_code = 0
    path = usage_path(settings)
    try:
        usage = load(path)
    except UsageFileError as exc:
        notes.append(str(exc))
        usage = UsageFile()
    if refresh:
        from .usage_endpoint import refresh as ask_endpoint

        outcome = ask_endpoint(settings, account, now=fixed_now)
        usage = outcome.usage
        now = time.time() if fixed_now is None else fixed_now
        if outcome.note:
            notes.append(outcome.note)
        exit_code = 1 if outcome.failed else 0
    usage = with_live_snapshot(usage, path, account)
    lines = render(usage, account, now)
    blocked = _block_line(settings, usage, account, now)
    if blocked:
        lines.append(blocked)
    return UsageResult(build(usage, account), lines, notes, exit_code)


def _block_line(settings: Any, usage: UsageFile, account: str | None, now: float) -> str | None:
    """While ``extra_usage = block`` holds requests back: until when."""
    try:
        if settings.extra_usage != "block":
            return None
    except Exception:
        return None
    snapshot = for_account(usage, account).snapshot
    if snapshot is None:
        return None
    from .extra_usage_guard import block_reason

    reason = block_reason(snapshot.limits, now)
    if reason is None:
        return None
    _, resets_at = reason
    when = f"until {until(resets_at, now)}" if resets_at is not None else "for now"
    return (
        f"extra_usage = block: claude-code-* models in Code Puppy send nothing {when}, "
        "because Claude would bill it as extra usage."
    )


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
