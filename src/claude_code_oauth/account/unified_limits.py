"""Claude's usage-limit headers, parsed: ``anthropic-ratelimit-unified-*``.

Every answer from Claude's API to a subscription sign-in — success or error —
says where the account stands against its plan's limits. What is read, as Claude
Code 2.1.332 reads it (``CONTEXT.md`` §2c):

* overall: ``…-status`` (``allowed`` | ``allowed_warning`` | ``rejected``),
  ``…-representative-claim`` (the binding window, e.g. ``five_hour``),
  ``…-reset`` (epoch seconds);
* per window, **only** the codes ``5h`` (``five_hour``), ``7d`` (``seven_day``)
  and ``7d_oi`` (``seven_day_overage_included``, a per-model weekly allowance):
  ``…-W-utilization`` (a *fraction* 0–1), ``…-W-reset``, ``…-W-status``,
  ``…-W-surpassed-threshold`` (the highest warning threshold passed, 1 once
  rejected). Any other ``<code>-utilization`` header (``7d-sonnet``, which peers
  reported in 2026, or a code invented tomorrow) is **ignored**: Claude's own
  client ignores it, and a header we cannot place must not become a window the
  extra-usage guard acts on. Per-model weekly figures come from the usage
  endpoint's ``weekly_scoped`` rows instead (:mod:`.usage_endpoint`);
* extra usage (pay-as-you-go billing), the fourth code ``overage``:
  ``…-overage-status``, ``…-overage-in-use`` (``true``/``false``),
  ``…-overage-utilization``, ``…-overage-reset``,
  ``…-overage-surpassed-threshold``, ``…-overage-disabled-reason``
  (``org_level_disabled``, ``out_of_credits``, …);
* offers that are **not windows** and never limit anything here: ``…-grace-status``
  (``eligible``) with ``…-grace-5h/7d-utilization`` (a wrap-up allowance at the
  limit, :class:`Grace`); ``…-slow-offer``, ``-slow-status``, ``-slow-retry-after``,
  ``-slow-max-wait``, ``-slow-budget-utilization``, ``-slow-budget-reset`` (a slower
  lane offered at the limit, :class:`Slow`); ``…-fallback`` (``available``: a
  fallback model is offered); ``…-upgrade-paths`` (``upgrade_plan``, ``overage``)
  — see :mod:`.limit_offers`.

Observed in 2026: an account past its plan's limit with extra usage on is
answered 200 with ``…-status: rejected`` and ``…-overage-in-use: true``; with
extra usage off it gets 429 and ``…-overage-status: rejected``; some answers
carry only the overage headers (``…-representative-claim: overage``, no
per-window headers at all).

What a caller may rely on: :func:`parse` never raises, whatever the headers
hold; it returns ``None`` when the answer carries no unified header at all.
Window names are canonical (``five_hour``, ``seven_day``,
``seven_day_overage_included``; the usage endpoint adds ``seven_day_opus``,
``seven_day_sonnet``, …), utilization and thresholds are **percentages** 0–100
(the usage endpoint's unit, so both sources compare), times are epoch seconds,
and every number is finite and in a sane range or dropped (``None``); words the
server sends (statuses, reasons, paths) are kept only when they are short
lower-case words, so nothing a server echoes can carry a secret into a snapshot
(:mod:`.header_values`). This module and the two it uses import only the standard
library (it runs on every model answer: keep it cheap).
"""

from __future__ import annotations

import math
import time
from collections import namedtuple

from .header_values import boolean, epoch, percent, word
from .header_values import status as status_word
from .limit_offers import (
    GRACE_HEADERS,
    SLOW_HEADERS,
    Grace,
    Slow,
    grace_from,
    paths_from,
    slow_from,
)

# Not typing.TYPE_CHECKING, and namedtuples rather than dataclasses: `usage` reads
# snapshots on a start-up-sensitive path, and importing dataclasses costs ~8 ms here.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

PREFIX = "anthropic-ratelimit-unified-"

#: The per-window header codes Claude sends → canonical window names.
_WINDOW_CODES = {"5h": "five_hour", "7d": "seven_day", "7d_oi": "seven_day_overage_included"}
#: Canonical window names → what a person reads.
_DISPLAY = {
    "five_hour": "5-hour",
    "seven_day": "7-day",
    "seven_day_opus": "7-day Opus",
    "seven_day_sonnet": "7-day Sonnet",
    "seven_day_overage_included": "7-day included",
    "seven_day_oi": "7-day included",
    "seven_day_oauth_apps": "7-day OAuth apps",
}
#: Canonical window names → the compact form of a status line.
_SHORT = {
    "five_hour": "5 h",
    "seven_day": "7 d",
    "seven_day_opus": "7 d Opus",
    "seven_day_sonnet": "7 d Sonnet",
    "seven_day_overage_included": "7 d incl.",
    "seven_day_oi": "7 d incl.",
    "seven_day_oauth_apps": "7 d apps",
}


def window_name(code: str) -> str:
    """The canonical name of a window code: ``5h`` → ``five_hour``, ``7d_oi`` →
    ``seven_day_overage_included``; any other name is lower-cased with ``_`` for ``-``."""
    code = code.strip().lower()
    return _WINDOW_CODES.get(code) or code.replace("-", "_")


def display_name(window: str) -> str:
    """``five_hour`` → ``5-hour``; ``seven_day_fable`` → ``7-day fable``."""
    shown = _DISPLAY.get(window)
    if shown:
        return shown
    if window.startswith("seven_day_"):
        return "7-day " + window.removeprefix("seven_day_").replace("_", " ")
    return window.replace("_", " ")


def short_name(window: str) -> str:
    """``five_hour`` → ``5 h``, ``seven_day_opus`` → ``7 d Opus`` (status lines)."""
    return _SHORT.get(window) or display_name(window)


def window_label(window: Window) -> str:
    """What a person reads for ``window``: ``7-day`` and the model a scoped row names
    (``7-day Opus 4.1``), else :func:`display_name`."""
    if window.model:
        return f"7-day {window.model}" if window.name.startswith("seven_day") else window.model
    return display_name(window.name)


#: Overage statuses under which an answer over the plan's limit is billed, not refused.
EXTRA_USAGE_ON = frozenset({"allowed", "allowed_warning"})


class Window(
    namedtuple(
        "Window",
        ["name", "utilization", "resets_at", "status", "surpassed_threshold", "severity", "model"],
        defaults=(None, None, None, None, None, None),
    )
):
    """One limit window (immutable). ``utilization`` is a percentage (0–100, more
    with overage), ``resets_at`` epoch seconds, ``surpassed_threshold`` the highest
    warning threshold passed (percent; headers only), ``severity`` the usage
    endpoint's colour (``normal`` | ``warning`` | ``critical``: never a rejection),
    ``model`` the model a per-model row names (the usage endpoint's
    ``scope.model.display_name``)."""

    __slots__ = ()
    name: str
    utilization: float | None
    resets_at: float | None
    status: str | None
    surpassed_threshold: float | None
    severity: str | None
    model: str | None


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
            "overage_surpassed_threshold",
            "grace",
            "slow",
            "upgrade_paths",
        ],
        defaults=(
            None,
            None,
            None,
            _EMPTY,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
            None,
        ),
    )
):
    """Where the account stood when this answer was sent (immutable; do not
    mutate ``windows``, a dict of canonical name → :class:`Window`). ``grace``,
    ``slow``, ``fallback`` and ``upgrade_paths`` (a tuple of words) are offers,
    never windows, and nothing here acts on them."""

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
    overage_surpassed_threshold: float | None
    grace: Grace | None
    slow: Slow | None
    upgrade_paths: tuple[str, ...] | None

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


#: Per-window header kinds → their position in a window's fields.
_KINDS = {"utilization": 0, "reset": 1, "status": 2, "surpassed-threshold": 3}
#: Header name after the prefix → the window it belongs to and the field's position;
#: every other name is an overall one (kept by name) or unknown (ignored).
_PER_WINDOW = {
    f"{code}-{kind}": (window, position)
    for code, window in _WINDOW_CODES.items()
    for kind, position in _KINDS.items()
}
_OVERALL = frozenset(
    {"status", "reset", "representative-claim", "fallback", "upgrade-paths"}
    | {
        "overage-" + kind
        for kind in (
            "status",
            "in-use",
            "utilization",
            "reset",
            "disabled-reason",
            "surpassed-threshold",
        )
    }
)
#: Full lower-cased header name → (window, field position) for a window's header, or
#: the name after the prefix for one kept by name. Names repeat on every answer: one
#: dictionary lookup each, no slicing.
_SPECS: dict[str, tuple[str, int] | str] = {
    **{PREFIX + rest: rest for rest in _OVERALL | GRACE_HEADERS | SLOW_HEADERS},
    **{PREFIX + rest: spec for rest, spec in _PER_WINDOW.items()},
}


def parse(headers: Iterable[tuple[str, str]], now: float | None = None) -> UnifiedLimits | None:
    """The unified limits an answer's ``headers`` (name, value pairs) carry, or ``None``.

    Accepts ``httpx.Headers.multi_items()``, a dict's ``items()`` or any pairs;
    names are compared case-insensitively, the last value of a repeated header wins.
    """
    found = False
    overall: dict[str, str] = {}
    per_window: dict[str, list[str | None]] = {}
    for raw_name, value in headers:
        name = raw_name.lower()
        if not name.startswith(PREFIX):
            continue
        found = True
        spec = _SPECS.get(name)
        if spec is None:
            continue
        if isinstance(spec, str):
            overall[spec] = value
        else:
            window, position = spec
            fields = per_window.get(window)
            if fields is None:
                fields = per_window[window] = [None, None, None, None]
            fields[position] = value
    if not found:
        return None
    now = time.time() if now is None else now
    windows = {
        name: Window(
            name,
            None if util is None else percent(util),
            None if reset is None else epoch(reset, now),
            None if status is None else status_word(status),
            None if threshold is None else percent(threshold),
        )
        for name, (util, reset, status, threshold) in per_window.items()
    }
    get = overall.get
    claim = get("representative-claim", "").strip()
    status = get("status")
    reset = get("reset")
    overage_status = get("overage-status")
    in_use = get("overage-in-use")
    overage_util = get("overage-utilization")
    overage_reset = get("overage-reset")
    overage_threshold = get("overage-surpassed-threshold")
    paths = get("upgrade-paths")
    return UnifiedLimits(
        None if status is None else status_word(status),
        window_name(claim) if word(claim.lower()) else None,
        None if reset is None else epoch(reset, now),
        windows,
        None if overage_status is None else status_word(overage_status),
        None if in_use is None else boolean(in_use),
        None if overage_util is None else percent(overage_util),
        None if overage_reset is None else epoch(overage_reset, now),
        word(get("overage-disabled-reason", "").lower()),
        word(get("fallback", "").lower()),
        None if overage_threshold is None else percent(overage_threshold),
        grace_from(get) if not GRACE_HEADERS.isdisjoint(overall) else None,
        slow_from(get, now) if not SLOW_HEADERS.isdisjoint(overall) else None,
        None if paths is None else paths_from(paths),
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
