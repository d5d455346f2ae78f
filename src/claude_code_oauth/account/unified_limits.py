"""Claude's usage-limit headers, parsed: ``anthropic-ratelimit-unified-*``.

Every answer from Claude's API to a subscription sign-in — success or error —
says where the account stands against its plan's limits:

* overall: ``…-status`` (``allowed`` | ``allowed_warning`` | ``rejected``),
  ``…-representative-claim`` (the binding window, e.g. ``five_hour``),
  ``…-reset`` (epoch seconds);
* per window ``W`` (``5h``, ``7d``, ``7d_oi``, ``7d-sonnet``, …):
  ``…-W-utilization`` (a *fraction* 0–1), ``…-W-reset``, ``…-W-status``;
* extra usage (pay-as-you-go billing): ``…-overage-status``,
  ``…-overage-in-use`` (``true``/``false``), ``…-overage-utilization``,
  ``…-overage-reset``; sometimes ``…-fallback``.

What a caller may rely on: :func:`parse` never raises, whatever the headers
hold; it returns ``None`` when the answer carries no unified header at all.
Window names are canonical (``five_hour``, ``seven_day``, ``seven_day_opus``,
``seven_day_sonnet``, …), utilization is a **percentage** 0–100 (the usage
endpoint's unit, so both sources compare), times are epoch seconds, and every
number is finite and in a sane range or dropped (``None``). Nothing here is a
secret, and this module imports only the standard library (it runs on every
model answer: keep it cheap).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

PREFIX = "anthropic-ratelimit-unified-"

#: Header window codes → canonical window names (the usage endpoint's keys).
_WINDOW_CODES = {"5h": "five_hour", "7d": "seven_day"}
#: Canonical window names → what a person reads.
_DISPLAY = {
    "five_hour": "5-hour",
    "seven_day": "7-day",
    "seven_day_opus": "7-day Opus",
    "seven_day_sonnet": "7-day Sonnet",
    "seven_day_oi": "7-day (included models)",
}
#: Reset times further than this from now are not believed.
_MAX_RESET_DISTANCE = 400 * 86400
#: Utilization above this many percent is not believed (overage can exceed 100 %).
_MAX_PERCENT = 10_000.0
_OVERALL = frozenset({"status", "reset", "representative-claim", "fallback"})
_STATUSES = frozenset({"allowed", "allowed_warning", "rejected"})


def window_name(code: str) -> str:
    """The canonical name of a window code: ``5h`` → ``five_hour``,
    ``7d-sonnet`` → ``seven_day_sonnet``; an already canonical name is kept."""
    code = code.strip().lower().replace("-", "_")
    head, sep, tail = code.partition("_")
    if head in _WINDOW_CODES:
        return _WINDOW_CODES[head] + (sep + tail if tail else "")
    return code


def display_name(window: str) -> str:
    """``five_hour`` → ``5-hour``; unknown names are shown with spaces."""
    return _DISPLAY.get(window) or window.replace("_", " ")


@dataclass(frozen=True)
class Window:
    """One limit window. ``utilization`` is a percentage (0–100, more with overage)."""

    name: str
    utilization: float | None = None
    resets_at: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class UnifiedLimits:
    """Where the account stood when this answer was sent."""

    status: str | None = None
    binding_window: str | None = None
    resets_at: float | None = None
    windows: dict[str, Window] = field(default_factory=dict)
    overage_status: str | None = None
    overage_in_use: bool | None = None
    overage_utilization: float | None = None
    overage_resets_at: float | None = None
    fallback: str | None = None

    @property
    def limit_reached(self) -> bool:
        """The plan's limit is reached (``…-status: rejected``)."""
        return self.status == "rejected"

    @property
    def billed_as_extra_usage(self) -> bool:
        """This answer was billed as extra usage (``…-overage-in-use: true``)."""
        return self.overage_in_use is True

    def binding(self) -> Window | None:
        """The binding window (representative claim), if the answer named one."""
        if self.binding_window is None:
            return None
        return self.windows.get(self.binding_window) or Window(
            self.binding_window, resets_at=self.resets_at
        )


def _percent(text: str) -> float | None:
    try:
        value = float(text) * 100.0
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= _MAX_PERCENT else None


def _epoch(text: str, now: float) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or abs(value - now) > _MAX_RESET_DISTANCE:
        return None
    return float(int(value))


def _status(text: str) -> str | None:
    value = text.strip().lower()
    return value if value in _STATUSES else (value[:32] or None)


def _boolean(text: str) -> bool | None:
    value = text.strip().lower()
    return True if value == "true" else False if value == "false" else None


def parse(headers: Iterable[tuple[str, str]], now: float | None = None) -> UnifiedLimits | None:
    """The unified limits an answer's ``headers`` (name, value pairs) carry, or ``None``.

    Accepts ``httpx.Headers.multi_items()``, a dict's ``items()`` or any pairs;
    names are compared case-insensitively, the last value of a repeated header wins.
    """
    found = False
    overall: dict[str, str] = {}
    per_window: dict[str, dict[str, str]] = {}
    for raw_name, value in headers:
        name = raw_name.lower()
        if not name.startswith(PREFIX):
            continue
        found = True
        rest = name[len(PREFIX) :]
        if rest in _OVERALL or rest.startswith("overage-"):
            overall[rest] = value
        else:
            code, _, kind = rest.rpartition("-")
            if code and kind in ("utilization", "reset", "status"):
                per_window.setdefault(window_name(code), {})[kind] = value
    if not found:
        return None
    now = time.time() if now is None else now
    windows = {
        name: Window(
            name,
            utilization=_percent(fields["utilization"]) if "utilization" in fields else None,
            resets_at=_epoch(fields["reset"], now) if "reset" in fields else None,
            status=_status(fields["status"]) if "status" in fields else None,
        )
        for name, fields in per_window.items()
    }
    claim = overall.get("representative-claim", "").strip()
    return UnifiedLimits(
        status=_status(overall["status"]) if "status" in overall else None,
        binding_window=window_name(claim) if claim else None,
        resets_at=_epoch(overall["reset"], now) if "reset" in overall else None,
        windows=windows,
        overage_status=(
            _status(overall["overage-status"]) if "overage-status" in overall else None
        ),
        overage_in_use=(
            _boolean(overall["overage-in-use"]) if "overage-in-use" in overall else None
        ),
        overage_utilization=(
            _percent(overall["overage-utilization"]) if "overage-utilization" in overall else None
        ),
        overage_resets_at=(
            _epoch(overall["overage-reset"], now) if "overage-reset" in overall else None
        ),
        fallback=overall.get("fallback", "").strip()[:32] or None,
    )


def until(resets_at: float, now: float | None = None) -> str:
    """``14:05 (in 1 h 12 min)`` — local clock time (with the date when not today)
    and the time left; ``now`` for once it has passed."""
    from datetime import datetime

    now = time.time() if now is None else now
    when = datetime.fromtimestamp(resets_at).astimezone()
    today = datetime.fromtimestamp(now).astimezone().date()
    clock = when.strftime("%H:%M") if when.date() == today else when.strftime("%a %d %b %H:%M")
    left = int(resets_at - now)
    if left <= 0:
        return f"{clock} (now)"
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = max(1, rest // 60) if not (days or hours) else rest // 60
    if days:
        span = f"{days} d {hours} h"
    elif hours:
        span = f"{hours} h {minutes} min"
    else:
        span = f"{minutes} min"
    return f"{clock} (in {span})"
