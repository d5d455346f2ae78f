"""The emulator's usage model: per-account counters behind the unified rate-limit
headers, ``GET /api/oauth/usage`` and the plan fields of the profile.

Each account (keyed by account uuid) has windows — ``five_hour``,
``seven_day`` and per-model weekly ones — each with a limit in *units* (every
``/v1/messages`` request costs ``cost`` units, default 1), a length, and a
reset time that starts with the first request of the window (as Claude's
rolling windows do). What Claude answers, as public clients observed it in
2026, and so what the emulator answers:

* every answer after authentication carries ``anthropic-ratelimit-unified-*``
  headers: utilization as a *fraction* 0–1, resets as epoch seconds, an
  overall and a per-window status (``allowed``, ``allowed_warning`` from 80 %,
  ``rejected`` once the limit is reached), the representative claim (the most
  used window), and the overage (extra usage) headers;
* a request past a limit with extra usage **on** is served (200), counted as
  extra usage: ``…-status: rejected``, ``…-overage-in-use: true``, utilization
  above 1.0;
* with extra usage **off** it is refused: 429 ``rate_limit_error`` with the same
  headers, ``…-overage-status: rejected`` and a ``retry-after``;
* ``bill_all_as_extra`` models the mid-2026 billing of third-party traffic:
  every request is extra usage while extra usage is on.

The usage endpoint answers in its window form (``five_hour: {utilization
0–100, resets_at ISO}``…, ``extra_usage {…}``), its ``limits[]`` form, or both,
and rate-limits (429) when asked again within ``endpoint_min_interval``.
Nothing here is secret. Thread-safe; wall-clock time (``clock``) because the
headers carry epoch seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

#: Every unified rate-limit header name starts with this.
HEADER_PREFIX = "anthropic-ratelimit-unified-"
#: Canonical window name (the usage endpoint's) → the code in header names.
WINDOW_CODES = {
    "five_hour": "5h",
    "seven_day": "7d",
    "seven_day_opus": "7d-opus",
    "seven_day_sonnet": "7d-sonnet",
}
#: Per-model windows: charged only for models whose id contains the word.
MODEL_WINDOWS = {"seven_day_opus": "opus", "seven_day_sonnet": "sonnet"}
WARNING_FRACTION = 0.8
EXTRA_USAGE_MONTH = 30 * 86400

#: Plan presets: profile account/organization fields.
PLANS: dict[str, dict[str, Any]] = {
    "max": {"max": True, "pro": False, "type": "claude_max", "tier": "default_claude_max_20x"},
    "pro": {"max": False, "pro": True, "type": "claude_pro", "tier": "default_claude_pro"},
    "team": {"max": False, "pro": False, "type": "claude_team", "tier": "default_claude_team"},
    "enterprise": {
        "max": False,
        "pro": False,
        "type": "claude_enterprise",
        "tier": "default_claude_enterprise",
    },
    "api": {"max": False, "pro": False, "type": "api", "tier": "default_api"},
}
ENDPOINT_FORMS = ("windows", "limits", "both")


@dataclass(frozen=True)
class UsageConfig:
    """One account's limits (units per window), window lengths (seconds) and plan."""

    limits: dict[str, float] = field(
        default_factory=lambda: {
            "five_hour": 100.0,
            "seven_day": 1000.0,
            "seven_day_opus": 400.0,
            "seven_day_sonnet": 800.0,
        }
    )
    lengths: dict[str, float] = field(
        default_factory=lambda: {
            "five_hour": 5 * 3600.0,
            "seven_day": 7 * 86400.0,
            "seven_day_opus": 7 * 86400.0,
            "seven_day_sonnet": 7 * 86400.0,
        }
    )
    cost: float = 1.0
    extra_usage: bool = False
    extra_limit: float = 100.0
    bill_all_as_extra: bool = False
    plan: str = "max"
    tier: str | None = None
    subscription_status: str = "active"
    endpoint_form: str = "windows"
    endpoint_min_interval: float = 0.0

    def validate(self) -> None:
        for name, limit in self.limits.items():
            if not (isinstance(limit, (int, float)) and limit > 0):
                raise ValueError(f"limit of {name} must be a positive number")
            if name not in self.lengths or not self.lengths[name] > 0:
                raise ValueError(f"window {name} needs a positive length")
        if self.plan not in PLANS:
            raise ValueError(f"plan must be one of {sorted(PLANS)}")
        if self.endpoint_form not in ENDPOINT_FORMS:
            raise ValueError(f"endpoint_form must be one of {ENDPOINT_FORMS}")
        if not self.cost > 0:
            raise ValueError("cost must be positive")


@dataclass
class _Window:
    used: float = 0.0
    resets_at: float | None = None  # None: not started


@dataclass
class _Account:
    config: UsageConfig
    windows: dict[str, _Window] = field(default_factory=dict)
    extra_used: float = 0.0
    requests: int = 0
    refused: int = 0
    endpoint_asked_at: float | None = None


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def _fraction(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


class UsageBook:
    """Usage counters of every account the emulator has seen."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        self._default = UsageConfig()

    # -- configuration -----------------------------------------------------------

    def _account(self, account: str) -> _Account:
        state = self._accounts.get(account)
        if state is None:
            state = self._accounts[account] = _Account(self._default)
        return state

    def configure(self, account: str, **changes: Any) -> UsageConfig:
        """Change one account's :class:`UsageConfig` (``limits``/``lengths`` are merged
        per window); raises ``ValueError``. Counters are kept."""
        names = {f.name for f in fields(UsageConfig)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown usage setting(s) {sorted(unknown)}")
        with self._lock:
            state = self._account(account)
            config = state.config
            merged = dict(changes)
            for key in ("limits", "lengths"):  # merged per window; None removes a window
                if key in merged:
                    value = {**getattr(config, key), **merged[key]}
                    merged[key] = {k: float(v) for k, v in value.items() if v is not None}
            new = replace(config, **merged)
            new.validate()
            state.config = new
            for name in list(state.windows):
                if name not in new.limits:
                    del state.windows[name]
            return new

    def reset(self, account: str, window: str | None = None, in_seconds: float = 0.0) -> None:
        """Make ``window`` (every window when ``None``) reset ``in_seconds`` from now."""
        with self._lock:
            state = self._account(account)
            now = self.clock()
            names = list(state.config.limits) if window is None else [window]
            for name in names:
                if name not in state.config.limits:
                    raise ValueError(f"unknown window {name!r}")
                slot = state.windows.setdefault(name, _Window())
                if in_seconds <= 0:
                    state.windows[name] = _Window()
                else:
                    slot.resets_at = now + in_seconds

    # -- the counters ------------------------------------------------------------

    def _roll(self, state: _Account, now: float) -> None:
        for name in state.config.limits:
            slot = state.windows.setdefault(name, _Window())
            if slot.resets_at is not None and now >= slot.resets_at:
                state.windows[name] = _Window()

    def charge(self, account: str, model: str) -> tuple[int, dict[str, str]]:
        """Count one request for ``model``: ``(200 or 429, unified headers)``."""
        with self._lock:
            state = self._account(account)
            config = state.config
            now = self.clock()
            self._roll(state, now)
            charged = [
                name
                for name in config.limits
                if name not in MODEL_WINDOWS or MODEL_WINDOWS[name] in model.lower()
            ]
            over = any(
                state.windows[name].used + config.cost > config.limits[name] for name in charged
            )
            if over and not config.extra_usage:
                state.refused += 1
                headers = self._headers(state, now, in_use=False)
                reset = float(headers.get("anthropic-ratelimit-unified-reset", now + 60))
                headers["retry-after"] = str(max(1, math.ceil(reset - now)))
                return 429, headers
            for name in charged:
                slot = state.windows[name]
                if slot.resets_at is None:
                    slot.resets_at = now + config.lengths[name]
                slot.used += config.cost
            in_use = config.extra_usage and (over or config.bill_all_as_extra)
            if in_use:
                state.extra_used += config.cost
            state.requests += 1
            return 200, self._headers(state, now, in_use=in_use)

    def peek(self, account: str) -> dict[str, str]:
        """The headers an answer that costs nothing carries (an error after authentication)."""
        with self._lock:
            state = self._account(account)
            now = self.clock()
            self._roll(state, now)
            return self._headers(state, now, in_use=False)

    def _utilization(self, state: _Account, name: str) -> float:
        return state.windows[name].used / state.config.limits[name]

    def _reset_at(self, state: _Account, name: str, now: float) -> float:
        slot = state.windows[name]
        return slot.resets_at if slot.resets_at is not None else now + state.config.lengths[name]

    def _headers(self, state: _Account, now: float, *, in_use: bool) -> dict[str, str]:
        config = state.config
        prefix = HEADER_PREFIX
        headers: dict[str, str] = {}
        statuses = {}
        for name in config.limits:
            fraction = self._utilization(state, name)
            status = (
                "rejected"
                if fraction >= 1.0
                else "allowed_warning"
                if fraction >= WARNING_FRACTION
                else "allowed"
            )
            statuses[name] = status
            code = WINDOW_CODES.get(name, name)
            headers[f"{prefix}{code}-utilization"] = _fraction(fraction)
            headers[f"{prefix}{code}-reset"] = str(math.ceil(self._reset_at(state, name, now)))
            headers[f"{prefix}{code}-status"] = status
        values = set(statuses.values())
        overall = next((s for s in ("rejected", "allowed_warning") if s in values), "allowed")
        if config.limits:
            claim = max(config.limits, key=lambda n: self._utilization(state, n))
            headers[prefix + "status"] = overall
            headers[prefix + "representative-claim"] = claim
            headers[prefix + "reset"] = str(math.ceil(self._reset_at(state, claim, now)))
        if config.extra_usage:
            headers[prefix + "overage-status"] = "allowed"
            headers[prefix + "overage-utilization"] = _fraction(
                state.extra_used / config.extra_limit
            )
            headers[prefix + "overage-reset"] = str(math.ceil(now + EXTRA_USAGE_MONTH))
        else:
            headers[prefix + "overage-status"] = "rejected"
            headers[prefix + "overage-disabled-reason"] = "org_level_disabled"
        headers[prefix + "overage-in-use"] = "true" if in_use else "false"
        return headers

    def counters(self, account: str) -> dict[str, Any]:
        """What the counters say now: per window ``used``, ``limit``, ``utilization``
        (percent), ``resets_at`` (epoch or ``None``), ``status``; plus ``extra_used``,
        ``extra_usage``, ``requests`` (served) and ``refused`` (429)."""
        with self._lock:
            state = self._account(account)
            now = self.clock()
            self._roll(state, now)
            windows = {}
            for name, limit in state.config.limits.items():
                slot = state.windows[name]
                windows[name] = {
                    "used": slot.used,
                    "limit": limit,
                    "utilization": 100.0 * slot.used / limit,
                    "resets_at": slot.resets_at,
                }
            return {
                "windows": windows,
                "extra_used": state.extra_used,
                "extra_usage": state.config.extra_usage,
                "requests": state.requests,
                "refused": state.refused,
            }

    # -- the usage endpoint and the profile --------------------------------------

    def endpoint(self, account: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        """``GET /api/oauth/usage``: ``(status, body, headers)``."""
        with self._lock:
            state = self._account(account)
            config = state.config
            now = self.clock()
            last = state.endpoint_asked_at
            if last is not None and now - last < config.endpoint_min_interval:
                wait = math.ceil(config.endpoint_min_interval - (now - last))
                body = {
                    "type": "error",
                    "error": {"type": "rate_limit_error", "message": "Rate limited."},
                }
                return 429, body, {"retry-after": str(max(1, wait))}
            state.endpoint_asked_at = now
            self._roll(state, now)
            body: dict[str, Any] = {}
            if config.endpoint_form in ("windows", "both"):
                for name in ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet"):
                    body[name] = self._endpoint_window(state, name)
                body["seven_day_oauth_apps"] = None
            if config.endpoint_form in ("limits", "both"):
                body["limits"] = [self._endpoint_limit(state, name, now) for name in config.limits]
            body["extra_usage"] = {
                "is_enabled": config.extra_usage,
                "monthly_limit": config.extra_limit if config.extra_usage else None,
                "used_credits": state.extra_used if config.extra_usage else None,
                "utilization": (
                    round(100.0 * state.extra_used / config.extra_limit, 2)
                    if config.extra_usage
                    else None
                ),
            }
            return 200, body, {}

    def _endpoint_window(self, state: _Account, name: str) -> dict[str, Any] | None:
        if name not in state.config.limits:
            return None
        slot = state.windows[name]
        return {
            "utilization": round(100.0 * self._utilization(state, name), 2),
            "resets_at": _iso(slot.resets_at),
        }

    def _endpoint_limit(self, state: _Account, name: str, now: float) -> dict[str, Any]:
        fraction = self._utilization(state, name)
        severity = (
            "exceeded"
            if fraction >= 1.0
            else "warning"
            if fraction >= WARNING_FRACTION
            else "normal"
        )
        slot = state.windows[name]
        return {
            "kind": name,
            "percent": round(100.0 * fraction, 2),
            "severity": severity,
            "resets_at": _iso(slot.resets_at),
            "is_active": slot.resets_at is not None,
        }

    def plan_fields(self, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The profile's plan fields: ``(account fields, organization fields)``."""
        with self._lock:
            config = self._account(account).config
        preset = PLANS[config.plan]
        return (
            {"has_claude_max": preset["max"], "has_claude_pro": preset["pro"]},
            {
                "organization_type": preset["type"],
                "rate_limit_tier": config.tier or preset["tier"],
                "subscription_status": config.subscription_status,
            },
        )


def account_of(state: Any, token: str) -> str:
    """The account uuid an access token belongs to (the first account's for a token
    this emulator never issued, as the routes authenticate before asking)."""
    identity = state.identity_of_token(token)
    account = identity["account"] if identity is not None else state.account
    return str(account["uuid"])
