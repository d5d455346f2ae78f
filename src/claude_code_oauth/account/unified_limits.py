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
  ``…-overage-reset``, ``…-overage-disabled-reason`` (``org_level_disabled``,
  ``out_of_credits``, …); sometimes ``…-fallback``.

Observed in 2026: an account past its plan's limit with extra usage on is
answered 200 with ``…-status: rejected`` and ``…-overage-in-use: true``; with
extra usage off it gets 429 and ``…-overage-status: rejected``; some answers
carry only the overage headers (``…-representative-claim: overage``, no
per-window headers at all).

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
from collections import namedtuple

# Not typing.TYPE_CHECKING, and namedtuples rather than dataclasses: `usage` reads
# snapshots on a start-up-sensitive path, and importing dataclasses costs ~8 ms here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

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
    "seven_day_oauth_apps": "7-day OAuth apps",
}
#: Canonical window names → the compact form of a status line.
_SHORT = {
    "five_hour": "5 h",
    "seven_day": "7 d",
    "seven_day_opus": "7 d Opus",
    "seven_day_sonnet": "7 d Sonnet",
    "seven_day_oi": "7 d incl.",
    "seven_day_oauth_apps": "7 d apps",
}
#: Reset times further than this from now are not believed.
_MAX_RESET_DISTANCE = 400 * 86400
#: Utilization above this many percent is not believed (overage can exceed 100 %).
#: The largest percentage believed (extra usage passes 100 %).
MAX_PERCENT = 10_000.0
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


def short_name(window: str) -> str:
    """``five_hour`` → ``5 h``, ``seven_day_opus`` → ``7 d Opus`` (status lines)."""
    return _SHORT.get(window) or display_name(window)


#: Overage statuses under which an answer over the plan's limit is billed, not refused.
EXTRA_USAGE_ON = frozenset({"allowed", "allowed_warning"})


class Window(
    namedtuple("Window", ["name", "utilization", "resets_at", "status"], defaults=(None,) * 3)
):
    """One limit window (immutable). ``utilization`` is a percentage (0–100, more
    with overage), ``resets_at`` epoch seconds."""

    __slots__ = ()
    name: str
    utilization: float | None
    resets_at: float | None
    status: str | None


_EMPTY: dict[str, Window] = {}


class UnifiedLimits(
    namedtuple(
        "UnifiedLimits",
        [
            "status",
            "binding_window",
            "resets_at",
            "windows",
            "overage_status",
            "overage_in_use",
            "overage_utilization",
            "overage_resets_at",
            "overage_disabled_reason",
            "fallback",
        ],
        defaults=(None, None, None, _EMPTY, None, None, None, None, None, None),
    )
):
    """Where the account stood when this answer was sent (immutable; do not
    mutate ``windows``, a dict of canonical name → :class:`Window`)."""

    __slots__ = ()
    status: str | None
    binding_window: str | None
    resets_at: float | None
    windows: dict[str, Window]
    overage_status: str | None
    overage_in_use: bool | None
    overage_utilization: float | None
    overage_resets_at: float | None
    overage_disabled_reason: str | None
    fallback: str | None

    @property
    def limit_reached(self) -> bool:
        """The plan's limit is reached (``…-status: rejected``)."""
        return self.status == "rejected"

    @property
    def billed_as_extra_usage(self) -> bool:
        """This answer was billed as extra usage: ``…-overage-in-use: true``, or (when
        that header is absent) the plan's limit reached while extra usage is on."""
        if self.overage_in_use is not None:
            return self.overage_in_use
        return self.limit_reached and self.overage_status in EXTRA_USAGE_ON

    def binding(self) -> Window | None:
        """The binding window (representative claim), if the answer named one."""
        if self.binding_window is None:
            return None
        return self.windows.get(self.binding_window) or Window(
            self.binding_window, resets_at=self.resets_at
        )

    def binding_resets_at(self) -> float | None:
        """When the binding window resets, else the overall reset (``None`` if unknown)."""
        binding = self.binding()
        return (binding.resets_at if binding else None) or self.resets_at


def _percent(text: str) -> float | None:
    try:
        value = float(text) * 100.0
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= MAX_PERCENT else None


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


#: Per-window header kinds → their position in a window's fields.
_KINDS = {"utilization": 0, "reset": 1, "status": 2}
#: Lower-cased header name → (window, kind position) or (None, overall key), or None
#: for a name we do not use. Names repeat on every answer: classify each once.
_CLASSIFIED: dict[str, tuple[str | None, object] | None] = {}
_CLASSIFIED_MAX = 512


def _classify(name: str) -> tuple[str | None, object] | None:
    rest = name[len(PREFIX) :]
    if rest in _OVERALL or rest.startswith("overage-"):
        spec: tuple[str | None, object] | None = (None, rest)
    else:
        code, _, kind = rest.rpartition("-")
        spec = (window_name(code), _KINDS[kind]) if code and kind in _KINDS else None
    if len(_CLASSIFIED) < _CLASSIFIED_MAX:
        _CLASSIFIED[name] = spec
    return spec


def parse(headers: Iterable[tuple[str, str]], now: float | None = None) -> UnifiedLimits | None:
    """The unified limits an answer's ``headers`` (name, value pairs) carry, or ``None``.

    Accepts ``httpx.Headers.multi_items()``, a dict's ``items()`` or any pairs;
    names are compared case-insensitively, the last value of a repeated header wins.
    """
    found = False
    overall: dict[object, str] = {}
    per_window: dict[str, list[str | None]] = {}
    for raw_name, value in headers:
        name = raw_name.lower()
        if not name.startswith(PREFIX):
            continue
        found = True
        spec = _CLASSIFIED[name] if name in _CLASSIFIED else _classify(name)
        if spec is None:
            continue
        window, key = spec
        if window is None:
            overall[key] = value
        else:
            fields = per_window.get(window)
            if fields is None:
                fields = per_window[window] = [None, None, None]
            fields[key] = value  # type: ignore[index]
    if not found:
        return None
    now = time.time() if now is None else now
    windows = {
        name: Window(
            name,
            None if util is None else _percent(util),
            None if reset is None else _epoch(reset, now),
            None if status is None else _status(status),
        )
        for name, (util, reset, status) in per_window.items()
    }
    get = overall.get
    claim = get("representative-claim", "").strip()
    status = get("status")
    reset = get("reset")
    overage_status = get("overage-status")
    in_use = get("overage-in-use")
    overage_util = get("overage-utilization")
    overage_reset = get("overage-reset")
    return UnifiedLimits(
        None if status is None else _status(status),
        window_name(claim) if claim else None,
        None if reset is None else _epoch(reset, now),
        windows,
        None if overage_status is None else _status(overage_status),
        None if in_use is None else _boolean(in_use),
        None if overage_util is None else _percent(overage_util),
        None if overage_reset is None else _epoch(overage_reset, now),
        get("overage-disabled-reason", "").strip()[:64] or None,
        get("fallback", "").strip()[:32] or None,
    )


def until(resets_at: float, now: float | None = None) -> str:
    """``14:05 (in 1 h 12 min)`` — local clock time (with the date when not today)
    and the time left (``in 40 s`` under a minute); ``now`` once it has passed."""
    now = time.time() if now is None else now
    # Rounded up: "now" only once it has passed, never while a fraction is left.
    left = math.ceil(resets_at - now)
    return f"{clock_time(resets_at, now)} ({_left(left)})"


def clock_time(ts: float, now: float | None = None) -> str:
    """``14:05`` in local time, or ``Tue 02 Dec 14:05`` when not today."""
    now = time.time() if now is None else now
    when = time.localtime(ts)
    same_day = when[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M" if same_day else "%a %d %b %H:%M", when)


def iso_local(ts: float | None) -> str | None:
    """``ts`` as ISO 8601 local time with its UTC offset (``2026-11-30T14:05:00+01:00``)."""
    if ts is None:
        return None
    try:
        when = time.localtime(ts)
    except (OverflowError, OSError, ValueError):  # out of the platform's range
        return None
    offset = time.strftime("%z", when)
    return time.strftime("%Y-%m-%dT%H:%M:%S", when) + offset[:3] + ":" + offset[3:]


def _left(left: int) -> str:
    if left <= 0:
        return "now"
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if left < 60:
        span = f"{left} s"
    elif days:
        span = f"{days} d {hours} h"
    elif hours:
        span = f"{hours} h {minutes} min"
    else:
        span = f"{minutes} min"
    return f"in {span}"
