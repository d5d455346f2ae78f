"""The emulator's usage model: per-account counters behind the unified rate-limit
headers, ``GET /api/oauth/usage`` and the plan fields of the profile.

Each account (keyed by account uuid) has windows — ``five_hour``,
``seven_day``, per-model weekly ones (``seven_day_opus``, ``seven_day_sonnet``,
optionally ``seven_day_overage_included``) — each with a limit in *units* (every
``/v1/messages`` request costs ``cost`` units, default 1), a length, and a reset
time that starts with the first request of the window (as Claude's rolling windows
do). A window named in ``window_models`` is charged only for models whose id
contains its word. What Claude answers, and so what the emulator answers (the wire
forms are in :mod:`.usage_answers`):

* every answer after authentication carries ``anthropic-ratelimit-unified-*``
  headers: per window (only ``5h``, ``7d``, ``7d_oi``) utilization as a
  *fraction* 0–1, resets as epoch seconds, a status (``allowed``,
  ``allowed_warning`` from 80 %, ``rejected`` once the limit is reached) and the
  surpassed threshold; the overall status, the representative claim (the most
  used window), and the overage (extra usage) headers; and, where the account's
  ``signals`` ask, the grace, slow, fallback and upgrade-paths headers;
* a request past a limit with extra usage **on** is served (200), counted as
  extra usage: ``…-status: rejected``, ``…-overage-in-use: true``, utilization
  above 1.0 — until the extra usage's ``extra_limit`` is spent
  (``…-overage-disabled-reason: out_of_credits``);
* otherwise (extra usage off or spent) it is refused: 429 ``rate_limit_error``
  with the same headers, ``…-overage-status: rejected`` and a ``retry-after``;
* ``bill_all_as_extra`` models the mid-2026 billing of third-party traffic:
  every request is extra usage while extra usage can pay.

The usage endpoint answers in its window form, its ``limits[]`` form, or both, and
rate-limits (429) when asked again within ``endpoint_min_interval``. Nothing here
is secret. Thread-safe; wall-clock time (``clock``) because the headers carry epoch
seconds.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .usage_answers import (
    HEADER_PREFIX,
    SIGNALS,
    WINDOW_CODES,
    Extra,
    Reading,
    endpoint_body,
    unified_headers,
)

__all__ = ["HEADER_PREFIX", "PLANS", "WINDOW_CODES", "UsageBook", "UsageConfig", "account_of"]

WEEK = 7 * 86400.0

#: Plan presets: profile account/organization fields (``display``: the plan's name
#: as the profile's ``plan_display_name`` gives it; a Max or Pro tier's size follows).
PLANS: dict[str, dict[str, Any]] = {
    "max": {
        "max": True,
        "pro": False,
        "type": "claude_max",
        "tier": "default_claude_max_20x",
        "display": "Max",
    },
    "pro": {
        "max": False,
        "pro": True,
        "type": "claude_pro",
        "tier": "default_claude_pro",
        "display": "Pro",
    },
    "team": {
        "max": False,
        "pro": False,
        "type": "claude_team",
        "tier": "default_claude_team",
        "display": "Team",
    },
    "enterprise": {
        "max": False,
        "pro": False,
        "type": "claude_enterprise",
        "tier": "default_claude_enterprise",
        "display": "Enterprise",
    },
    "api": {"max": False, "pro": False, "type": "api", "tier": "default_api", "display": None},
}
ENDPOINT_FORMS = ("windows", "limits", "both")
#: Settings merged per key by :meth:`UsageBook.configure` (``None`` removes a key).
_PER_KEY = ("limits", "lengths", "window_models", "signals")
_TIER_SIZE = re.compile(r"_(\d+x)$")


@dataclass(frozen=True)
class UsageConfig:
    """One account's limits (units per window), window lengths (seconds), which
    windows count only some models, the signals it is sent, and its plan."""

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
            "seven_day": WEEK,
            "seven_day_opus": WEEK,
            "seven_day_sonnet": WEEK,
            "seven_day_overage_included": WEEK,
        }
    )
    #: Window → the word a model id must contain to be charged to it.
    window_models: dict[str, str] = field(
        default_factory=lambda: {"seven_day_opus": "opus", "seven_day_sonnet": "sonnet"}
    )
    cost: float = 1.0
    extra_usage: bool = False
    extra_limit: float = 100.0
    bill_all_as_extra: bool = False
    plan: str = "max"
    tier: str | None = None
    #: The profile's ``plan_display_name`` (``None``: the plan's own, e.g. ``Max 20x``).
    plan_display_name: str | None = None
    subscription_status: str = "active"
    endpoint_form: str = "windows"
    endpoint_min_interval: float = 0.0
    #: Signal (grace, slow, fallback, upgrade_paths) → the most-used window's fraction
    #: from which answers carry it (0: always). None are sent unless asked for.
    signals: dict[str, float] = field(default_factory=dict)
    #: How much of the slower lane's budget is used (a fraction; 1 = exhausted).
    slow_budget_used: float = 0.0

    def validate(self) -> None:
        for name, limit in self.limits.items():
            if not (isinstance(limit, (int, float)) and limit > 0):
                raise ValueError(f"limit of {name} must be a positive number")
            if name not in self.lengths or not self.lengths[name] > 0:
                raise ValueError(f"window {name} needs a positive length")
        for name, word in self.window_models.items():
            if not isinstance(word, str) or not word.strip():
                raise ValueError(f"window_models of {name} must be a word of model ids")
        for name, start in self.signals.items():
            if name not in SIGNALS:
                raise ValueError(f"signals must be among {SIGNALS}")
            if not (isinstance(start, (int, float)) and math.isfinite(start) and start >= 0):
                raise ValueError(f"signal {name} needs a fraction >= 0")
        if self.plan not in PLANS:
            raise ValueError(f"plan must be one of {sorted(PLANS)}")
        if self.endpoint_form not in ENDPOINT_FORMS:
            raise ValueError(f"endpoint_form must be one of {ENDPOINT_FORMS}")
        if not self.cost > 0:
            raise ValueError("cost must be positive")
        if not self.extra_limit > 0:
            raise ValueError("extra_limit must be positive")
        if not self.slow_budget_used >= 0:
            raise ValueError("slow_budget_used must be a fraction >= 0")

    def charges(self, window: str, model: str) -> bool:
        """Whether a request for ``model`` counts against ``window``."""
        word = self.window_models.get(window)
        return word is None or word.lower() in model.lower()


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


def _merged(key: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    value = {**old, **new}
    convert = str if key == "window_models" else float
    return {k: convert(v) for k, v in value.items() if v is not None}


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
        """Change one account's :class:`UsageConfig` (``limits``, ``lengths``,
        ``window_models`` and ``signals`` are merged per key; ``None`` removes one);
        raises ``ValueError``. Counters are kept."""
        names = {f.name for f in fields(UsageConfig)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown usage setting(s) {sorted(unknown)}")
        with self._lock:
            state = self._account(account)
            config = state.config
            merged = dict(changes)
            for key in _PER_KEY:
                if key in merged:
                    merged[key] = _merged(key, getattr(config, key), merged[key])
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
            charged = [name for name in config.limits if config.charges(name, model)]
            over = any(
                state.windows[name].used + config.cost > config.limits[name] for name in charged
            )
            can_pay = self._extra(state).can_pay
            if over and not can_pay:
                state.refused += 1
                headers = self._headers(state, now, in_use=False)
                reset = float(headers.get(HEADER_PREFIX + "reset", now + 60))
                headers["retry-after"] = str(max(1, math.ceil(reset - now)))
                return 429, headers
            for name in charged:
                slot = state.windows[name]
                if slot.resets_at is None:
                    slot.resets_at = now + config.lengths[name]
                slot.used += config.cost
            in_use = can_pay and (over or config.bill_all_as_extra)
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

    def _readings(self, state: _Account, now: float) -> list[Reading]:
        readings = []
        for name, limit in state.config.limits.items():
            slot = state.windows[name]
            started = slot.resets_at is not None
            resets_at = slot.resets_at
            if resets_at is None:
                resets_at = now + state.config.lengths[name]
            readings.append(Reading(name, slot.used / limit, resets_at, started))
        return readings

    @staticmethod
    def _extra(state: _Account) -> Extra:
        config = state.config
        return Extra(config.extra_usage, state.extra_used, config.extra_limit)

    def _headers(self, state: _Account, now: float, *, in_use: bool) -> dict[str, str]:
        return unified_headers(
            state.config, self._readings(state, now), self._extra(state), now, in_use=in_use
        )

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
            return 200, endpoint_body(config, self._readings(state, now), self._extra(state)), {}

    def plan_fields(self, account: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The profile's plan fields: ``(account fields, organization fields)``."""
        with self._lock:
            config = self._account(account).config
        preset = PLANS[config.plan]
        tier = config.tier or preset["tier"]
        display = config.plan_display_name
        if display is None and preset["display"] is not None:
            size = _TIER_SIZE.search(tier) if config.plan in ("max", "pro") else None
            display = preset["display"] + (f" {size.group(1)}" if size else "")
        organization: dict[str, Any] = {
            "organization_type": preset["type"],
            "rate_limit_tier": tier,
            "subscription_status": config.subscription_status,
            "has_extra_usage_enabled": config.extra_usage,
        }
        if display is not None:
            organization["plan_display_name"] = display
        return {"has_claude_max": preset["max"], "has_claude_pro": preset["pro"]}, organization


def account_of(state: Any, token: str) -> str:
    """The account uuid an access token belongs to (the first account's for a token
    this emulator never issued, as the routes authenticate before asking)."""
    identity = state.identity_of_token(token)
    account = identity["account"] if identity is not None else state.account
    return str(account["uuid"])
