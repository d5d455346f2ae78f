"""What the emulator's usage model says on the wire: the unified rate-limit headers of an
API answer and the body of ``GET /api/oauth/usage``, as Claude Code 2.1.332 reads them
(``CONTEXT.md`` §2c).

Pure functions of an account's :class:`Reading` list (one per window, in its
configuration's order) and its :class:`~.usage.UsageConfig`; the book
(:mod:`.usage`) keeps the counters and the lock.

Headers. Per window, only the codes Claude sends and its client reads: ``5h``
(``five_hour``), ``7d`` (``seven_day``), ``7d_oi`` (``seven_day_overage_included``)
and ``overage`` (extra usage), each with ``-utilization`` (a fraction 0–1),
``-reset`` (epoch seconds), ``-status`` (not for the overage) and
``-surpassed-threshold`` (the highest warning threshold passed; 1 once rejected).
Per-model weekly windows (``seven_day_opus``, ``seven_day_sonnet``) carry no header:
only the usage endpoint's ``weekly_scoped`` rows report them. Then, per the
account's ``signals`` (each sent from a utilization of the most-used window on,
``0`` meaning always), the headers that are *not* windows: ``grace-status``
(``eligible``) with ``grace-5h/7d-utilization`` (a wrap-up allowance), ``slow-*``
(a slower lane offered at the limit), ``fallback: available`` (a fallback model)
and ``upgrade-paths`` (``upgrade_plan``, and ``overage`` while extra usage is off).

The usage endpoint. The window form (``five_hour``, ``seven_day``,
``seven_day_opus``, ``seven_day_sonnet``, ``seven_day_oauth_apps``, each
``{utilization 0–100, resets_at}`` or null) and/or ``limits[]``: one row per window,
``kind`` ``session`` | ``weekly_all`` | ``weekly_scoped`` (per-model rows name their
model in ``scope.model.display_name``), ``group`` ``session`` | ``weekly``,
``percent`` 0–100, ``resets_at``, ``severity`` (the colour: ``normal``, ``warning``
from 80 %, ``critical`` from 90 % — never a rejection) and ``is_active`` (the
most-used row); and ``extra_usage`` (``is_enabled`` is false while extra usage
cannot pay, with its ``disabled_reason``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .usage import UsageConfig

#: Every unified rate-limit header name starts with this.
HEADER_PREFIX = "anthropic-ratelimit-unified-"
#: Windows with headers of their own → their code in header names (Claude's only codes,
#: with ``overage`` for extra usage).
WINDOW_CODES = {"five_hour": "5h", "seven_day": "7d", "seven_day_overage_included": "7d_oi"}
WARNING_FRACTION = 0.8
CRITICAL_FRACTION = 0.9
#: Extra usage's warning thresholds (its ``overage-surpassed-threshold``).
OVERAGE_THRESHOLDS = (0.75, 0.95)
#: What the ``signals`` setting can switch on (see the module docs).
SIGNALS = ("grace", "slow", "fallback", "upgrade_paths")
SLOW_RETRY_AFTER = 30
SLOW_MAX_WAIT = 300
EXTRA_USAGE_MONTH = 30 * 86400
CURRENCY = "USD"


@dataclass(frozen=True)
class Reading:
    """One window now: its share used (``fraction``, 1.0 = the limit) and reset time
    (epoch seconds; a window not yet started reports when it would reset)."""

    name: str
    fraction: float
    resets_at: float
    started: bool


@dataclass(frozen=True)
class Extra:
    """Extra usage now: ``enabled`` (the account's setting), ``used`` of ``limit``."""

    enabled: bool
    used: float
    limit: float

    @property
    def out_of_credits(self) -> bool:
        return self.enabled and self.used >= self.limit

    @property
    def can_pay(self) -> bool:
        return self.enabled and not self.out_of_credits

    @property
    def disabled_reason(self) -> str | None:
        if not self.enabled:
            return "org_level_disabled"
        return "out_of_credits" if self.out_of_credits else None


def _fraction(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _status(fraction: float) -> str:
    if fraction >= 1.0:
        return "rejected"
    return "allowed_warning" if fraction >= WARNING_FRACTION else "allowed"


def _surpassed(fraction: float, thresholds: tuple[float, ...]) -> float | None:
    if fraction >= 1.0:
        return 1.0
    passed = [t for t in thresholds if fraction >= t]
    return max(passed) if passed else None


def unified_headers(
    config: UsageConfig, readings: list[Reading], extra: Extra, now: float, *, in_use: bool
) -> dict[str, str]:
    """The ``anthropic-ratelimit-unified-*`` headers of an answer (see the module docs)."""
    prefix = HEADER_PREFIX
    headers: dict[str, str] = {}
    for reading in readings:
        code = WINDOW_CODES.get(reading.name)
        if code is None:
            continue
        headers[f"{prefix}{code}-utilization"] = _fraction(reading.fraction)
        headers[f"{prefix}{code}-reset"] = str(math.ceil(reading.resets_at))
        headers[f"{prefix}{code}-status"] = _status(reading.fraction)
        threshold = _surpassed(reading.fraction, (WARNING_FRACTION,))
        if threshold is not None:
            headers[f"{prefix}{code}-surpassed-threshold"] = _fraction(threshold)
    if readings:
        statuses = {_status(r.fraction) for r in readings}
        overall = next((s for s in ("rejected", "allowed_warning") if s in statuses), "allowed")
        claim = max(readings, key=lambda r: r.fraction)
        headers[prefix + "status"] = overall
        headers[prefix + "representative-claim"] = claim.name
        headers[prefix + "reset"] = str(math.ceil(claim.resets_at))
    headers.update(_overage_headers(extra, now, in_use=in_use))
    headers.update(_signal_headers(config, readings, now))
    return headers


def _overage_headers(extra: Extra, now: float, *, in_use: bool) -> dict[str, str]:
    prefix = HEADER_PREFIX + "overage-"
    headers: dict[str, str] = {}
    if extra.enabled:
        fraction = extra.used / extra.limit
        headers[prefix + "utilization"] = _fraction(fraction)
        headers[prefix + "reset"] = str(math.ceil(now + EXTRA_USAGE_MONTH))
        threshold = _surpassed(fraction, OVERAGE_THRESHOLDS)
        if threshold is not None:
            headers[prefix + "surpassed-threshold"] = _fraction(threshold)
        status = "rejected" if extra.out_of_credits else "allowed"
        if status == "allowed" and threshold is not None:
            status = "allowed_warning"
        headers[prefix + "status"] = status
    else:
        headers[prefix + "status"] = "rejected"
    if extra.disabled_reason is not None:
        headers[prefix + "disabled-reason"] = extra.disabled_reason
    headers[prefix + "in-use"] = "true" if in_use else "false"
    return headers


def _signal_headers(config: UsageConfig, readings: list[Reading], now: float) -> dict[str, str]:
    """The headers that are not windows, for the signals whose threshold is reached."""
    prefix = HEADER_PREFIX
    top = max((r.fraction for r in readings), default=0.0)
    by_name = {r.name: r for r in readings}
    headers: dict[str, str] = {}
    for signal, start in config.signals.items():
        if top < start:
            continue
        if signal == "grace":
            headers[prefix + "grace-status"] = "eligible"
            headers[prefix + "grace-5h-utilization"] = "0"
            headers[prefix + "grace-7d-utilization"] = "0"
        elif signal == "slow":
            exhausted = config.slow_budget_used >= 1.0
            status = "not_needed" if top < 1.0 else "budget_exhausted" if exhausted else "active"
            week = by_name.get("seven_day")
            budget_reset = week.resets_at if week is not None else now + 7 * 86400
            headers[prefix + "slow-offer"] = "treatment"
            headers[prefix + "slow-status"] = status
            headers[prefix + "slow-retry-after"] = str(SLOW_RETRY_AFTER)
            headers[prefix + "slow-max-wait"] = str(SLOW_MAX_WAIT)
            headers[prefix + "slow-budget-utilization"] = _fraction(config.slow_budget_used)
            headers[prefix + "slow-budget-reset"] = str(math.ceil(budget_reset))
        elif signal == "fallback":
            headers[prefix + "fallback"] = "available"
        elif signal == "upgrade_paths":
            paths = ["upgrade_plan"] + ([] if config.extra_usage else ["overage"])
            headers[prefix + "upgrade-paths"] = ",".join(paths)
    return headers


# -- the usage endpoint ---------------------------------------------------------------


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="microseconds")


def _severity(fraction: float) -> str:
    if fraction >= CRITICAL_FRACTION:
        return "critical"
    return "warning" if fraction >= WARNING_FRACTION else "normal"


#: The window form's keys (``seven_day_oauth_apps`` is always null here).
ENDPOINT_WINDOWS = ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet")


def _row(config: UsageConfig, reading: Reading, active: bool) -> dict[str, Any]:
    if reading.name == "five_hour":
        kind, group, scope = "session", "session", None
    elif reading.name == "seven_day":
        kind, group, scope = "weekly_all", "weekly", None
    else:
        word = config.window_models.get(reading.name)
        kind, group = "weekly_scoped", "weekly"
        scope = {"model": {"display_name": word.title()}} if word else None
    return {
        "kind": kind,
        "group": group,
        "percent": round(100.0 * reading.fraction, 2),
        "resets_at": _iso(reading.resets_at) if reading.started else None,
        "severity": _severity(reading.fraction),
        "scope": scope,
        "is_active": active,
    }


def _order(reading: Reading) -> int:
    return {"five_hour": 0, "seven_day": 1}.get(reading.name, 2)


def endpoint_body(config: UsageConfig, readings: list[Reading], extra: Extra) -> dict[str, Any]:
    """The body of ``GET /api/oauth/usage`` in the account's ``endpoint_form``."""
    body: dict[str, Any] = {}
    by_name = {r.name: r for r in readings}
    if config.endpoint_form in ("windows", "both"):
        for name in ENDPOINT_WINDOWS:
            reading = by_name.get(name)
            body[name] = (
                None
                if reading is None
                else {
                    "utilization": round(100.0 * reading.fraction, 2),
                    "resets_at": _iso(reading.resets_at) if reading.started else None,
                }
            )
        body["seven_day_oauth_apps"] = None
    if config.endpoint_form in ("limits", "both"):
        ordered = sorted(readings, key=_order)
        top = max(ordered, key=lambda r: r.fraction) if ordered else None
        body["limits"] = [_row(config, r, r is top) for r in ordered]
    body["extra_usage"] = {
        "is_enabled": extra.can_pay,
        "monthly_limit": extra.limit if extra.enabled else None,
        "used_credits": extra.used if extra.enabled else None,
        "utilization": round(100.0 * extra.used / extra.limit, 2) if extra.enabled else None,
        "currency": CURRENCY,
        "disabled_reason": extra.disabled_reason,
    }
    return body
