"""``usage --refresh``: ask ``GET /api/oauth/usage`` (and the profile, for the plan).

The usage endpoint rate-limits hard, so it is asked at most once per
:data:`MIN_INTERVAL` (60 s) per sign-in across every process: the time of the
last attempt is recorded in the usage file under its lock before the call. When
the endpoint is not asked (too soon, or it said to wait), or fails, the last
snapshot is kept and the caller shows it with its "as of".

Both answer forms are understood and normalized to the headers' vocabulary
(:class:`~.unified_limits.UnifiedLimits`, utilization in percent): the window
form (``five_hour: {"utilization": 0–100, "resets_at": ISO}``…) and the newer
``limits: [{"kind", "percent", "severity", "resets_at", "is_active"}]``; with
both, ``limits[]`` wins and the window form fills in what it lacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..config import Settings
from ..errors import ClaudeOAuthError, RateLimited
from ..tokens.record import finite_number
from .unified_limits import MAX_PERCENT, UnifiedLimits, Window, window_name
from .usage_snapshot import Plan, UsageFile, UsageSnapshot, update, usage_path, with_snapshot

#: Seconds between two calls to the usage endpoint, across processes.
MIN_INTERVAL = 60.0
#: Names the ``limits[]`` form may use for the windows.
_KIND_ALIASES = {"session": "five_hour", "weekly": "seven_day", "week": "seven_day"}
_SEVERITY = {
    "normal": "allowed",
    "ok": "allowed",
    "info": "allowed",
    "none": "allowed",
    "low": "allowed",
    "warning": "allowed_warning",
    "warn": "allowed_warning",
    "approaching": "allowed_warning",
    "high": "allowed_warning",
    "exceeded": "rejected",
    "critical": "rejected",
    "limited": "rejected",
    "blocked": "rejected",
    "rejected": "rejected",
}


def _percent(value: Any) -> float | None:
    number = finite_number(value)  # None for NaN, infinity, 400 digits, a bool, text
    return number if number is not None and 0.0 <= number <= MAX_PERCENT else None


def _timestamp(value: Any) -> float | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _window_status(utilization: float | None) -> str | None:
    if utilization is None:
        return None
    return "rejected" if utilization >= 100.0 else "allowed"


def normalize(body: dict[str, Any]) -> UnifiedLimits:
    """The usage endpoint's answer (either form) as :class:`UnifiedLimits`."""
    windows: dict[str, Window] = {}
    active: list[str] = []
    limits = body.get("limits")
    if isinstance(limits, list):
        for item in limits:
            if not isinstance(item, dict) or not isinstance(item.get("kind"), str):
                continue
            kind = item["kind"].strip().lower()
            name = window_name(_KIND_ALIASES.get(kind, kind))
            utilization = _percent(item.get("percent"))
            severity = item.get("severity")
            status = _SEVERITY.get(severity.strip().lower()) if isinstance(severity, str) else None
            windows[name] = Window(
                name,
                utilization=utilization,
                resets_at=_timestamp(item.get("resets_at")),
                status=status or _window_status(utilization),
            )
            if item.get("is_active") is True:
                active.append(name)
    for key, value in body.items():
        if key in ("limits", "extra_usage") or not isinstance(value, dict):
            continue
        if "utilization" not in value:
            continue
        name = window_name(key)
        if name in windows:
            continue
        utilization = _percent(value.get("utilization"))
        windows[name] = Window(
            name,
            utilization=utilization,
            resets_at=_timestamp(value.get("resets_at")),
            status=_window_status(utilization),
        )
    statuses = {w.status for w in windows.values()}
    overall = next((s for s in ("rejected", "allowed_warning", "allowed") if s in statuses), None)
    candidates = [n for n in (active or windows) if windows[n].utilization is not None]
    binding = max(candidates, key=lambda n: windows[n].utilization or 0.0) if candidates else None
    extra = body.get("extra_usage") if isinstance(body.get("extra_usage"), dict) else {}
    enabled = extra.get("is_enabled")
    return UnifiedLimits(
        status=overall,
        binding_window=binding,
        resets_at=windows[binding].resets_at if binding else None,
        windows=windows,
        overage_status=("allowed" if enabled is True else "rejected" if enabled is False else None),
        overage_utilization=_percent(extra.get("utilization")),
    )


def plan_from_profile(profile: dict[str, Any]) -> tuple[str | None, str | None]:
    """``(name, tier)`` from the profile: Max / Pro / Team / Enterprise / API, and the
    raw ``rate_limit_tier``. An organization type we do not know is shown as sent."""
    account = profile.get("account") if isinstance(profile.get("account"), dict) else {}
    org = profile.get("organization") if isinstance(profile.get("organization"), dict) else {}
    kind = org.get("organization_type")
    kind = kind.strip().lower() if isinstance(kind, str) else ""
    tier = org.get("rate_limit_tier")
    tier = tier.strip()[:64] if isinstance(tier, str) and tier.strip() else None
    if "enterprise" in kind:
        name: str | None = "Enterprise"
    elif "team" in kind:
        name = "Team"
    elif account.get("has_claude_max") is True or "max" in kind:
        name = "Max"
    elif account.get("has_claude_pro") is True or "pro" in kind:
        name = "Pro"
    elif kind in ("api", "console", "api_individual") or kind.startswith("api"):
        name = "API"
    elif kind:
        name = kind.removeprefix("claude_").replace("_", " ").title()[:32]
    elif account or org:
        name = "API"
    else:
        name = None
    return name, tier


@dataclass(frozen=True)
class RefreshOutcome:
    """What ``--refresh`` did: ``asked`` the endpoint or not, and ``note`` (one line
    for the user, or ``None`` when fresh values arrived); ``failed`` when the
    endpoint was asked and did not answer usefully."""

    usage: UsageFile
    asked: bool
    note: str | None = None
    failed: bool = False


def _get_json(settings: Settings, url: str, what: str) -> dict[str, Any]:
    import httpx

    from .. import USER_AGENT
    from ..errors import NetworkError
    from ..net.bearer_auth import OAuthBearerAuth
    from ..net.http_client import fetch
    from ..net.http_responses import json_object_or_raise
    from ..tokens.provider import provider_for

    # observers=(): an endpoint answer is not a model answer; its numbers are saved below.
    auth = OAuthBearerAuth(provider_for(settings), settings, observers=())
    try:
        response = fetch(
            "GET",
            url,
            what=what,
            timeout=settings.http_timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            auth=auth,
        )
    except httpx.HTTPError as exc:
        raise NetworkError(f"{what} could not be reached ({type(exc).__name__}).") from None
    return json_object_or_raise(response, what)


def _ask_plan(settings: Settings) -> Plan:
    """The plan, as the profile endpoint says it now (raises ClaudeOAuthError)."""
    body = _get_json(settings, settings.profile_url, "The profile endpoint")
    name, tier = plan_from_profile(body)
    return Plan(name, tier, time.time())


def read_plan(settings: Settings, account: str | None) -> Plan | None:
    """Ask the profile endpoint for the plan once and keep it in the usage snapshot
    (a sign-in does this, so ``usage`` and ``profiles`` know the plan before any
    ``--refresh``). Best effort: ``None``, and nothing changed, when the profile
    cannot be read or the snapshot cannot be written."""
    try:
        plan = _ask_plan(settings)
    except ClaudeOAuthError:
        return None

    def keep(usage: UsageFile) -> UsageFile:
        if account is not None and usage.account not in (None, account):
            usage = UsageFile(extra=usage.extra)  # another account's figures
        return usage._replace(plan=plan, account=account or usage.account)

    try:
        update(usage_path(settings), keep, lock_timeout=settings.lock_timeout)
    except ClaudeOAuthError:
        return None
    return plan


def _ago(seconds: float) -> str:
    return f"{int(seconds)} s ago" if seconds < 120 else f"{int(seconds // 60)} min ago"


def refresh(settings: Settings, account: str | None, *, now: float | None = None) -> RefreshOutcome:
    """Ask the usage endpoint (and the profile) unless another call was made within
    :data:`MIN_INTERVAL` by any process or the endpoint asked us to wait; save what
    arrives. Never raises for the endpoint's failures (they become a ``note``);
    raises :class:`ClaudeOAuthError` for a problem with the sign-in or the file."""
    path = usage_path(settings)
    fixed_now = now
    claim: dict[str, Any] = {}

    def claim_call(usage: UsageFile) -> UsageFile | None:
        nonlocal now
        # Read inside the lock: a process that waited for it must compare with the
        # time the holder recorded, not with when it started waiting.
        now = time.time() if fixed_now is None else fixed_now
        retry = usage.endpoint_retry_until
        if retry is not None and now < retry:
            claim["note"] = (
                f"The usage endpoint asked to wait {math.ceil(retry - now)} s more; "
                "showing the last values."
            )
            return None
        checked = usage.endpoint_checked_at
        # A time more than a minute ahead means the clock was set back: not recent.
        if checked is not None and -MIN_INTERVAL < now - checked < MIN_INTERVAL:
            claim["note"] = (
                f"The usage endpoint was asked {_ago(max(0.0, now - checked))} "
                "(at most once a minute); "
                "showing the last values."
            )
            return None
        claim["go"] = True
        return usage._replace(endpoint_checked_at=now)

    lock_timeout = settings.lock_timeout
    usage = update(path, claim_call, lock_timeout=lock_timeout)
    if not claim.get("go"):
        return RefreshOutcome(usage, asked=False, note=claim.get("note"))
    try:
        body = _get_json(settings, settings.usage_url, "The usage endpoint")
    except RateLimited as exc:
        wait = 60.0 if exc.retry_after is None else max(1.0, exc.retry_after)
        usage = update(
            path,
            lambda u: u._replace(endpoint_retry_until=now + wait),
            lock_timeout=lock_timeout,
        )
        note = (
            f"The usage endpoint is rate-limiting (retry in {math.ceil(wait)} s); "
            "showing the last values."
        )
        return RefreshOutcome(usage, asked=True, note=note)
    except ClaudeOAuthError as exc:
        from ..errors import LoginRequired, NotSignedIn

        if isinstance(exc, (NotSignedIn, LoginRequired)):
            raise
        return RefreshOutcome(
            usage, asked=True, note=f"{exc} Showing the last values.", failed=True
        )
    snapshot = UsageSnapshot(normalize(body), time.time(), "usage_endpoint")
    plan: Plan | None = None
    plan_note = None
    try:
        plan = _ask_plan(settings)
    except ClaudeOAuthError as exc:
        plan_note = f"The plan could not be read: {exc}"

    def save_result(usage: UsageFile) -> UsageFile:
        usage = with_snapshot(usage, snapshot, account)
        return usage._replace(plan=plan or usage.plan, endpoint_retry_until=None)

    usage = update(path, save_result, lock_timeout=lock_timeout)
    return RefreshOutcome(usage, asked=True, note=plan_note)
