"""What Claude offers at the limit, from its unified headers: these are **not windows**.

* ``…-grace-status`` (``eligible``) with ``…-grace-5h-utilization`` and
  ``…-grace-7d-utilization``: a wrap-up allowance (:class:`Grace`);
* ``…-slow-offer``, ``-slow-status``, ``-slow-retry-after``, ``-slow-max-wait``,
  ``-slow-budget-utilization``, ``-slow-budget-reset``: a slower lane
  (:class:`Slow`);
* ``…-fallback`` (``available``: a fallback model) and ``…-upgrade-paths``
  (``upgrade_plan``, ``overage``), kept as words by :mod:`.unified_limits`.

Claude's own client (2.1.332) never treats them as usage windows and never blocks on
them; neither does anything here (the extra-usage guard looks at windows only). What
a caller may rely on: the parsers never raise, numbers are percentages, seconds and
epoch times checked by :mod:`.header_values`, words are short lower-case words.
"""

from __future__ import annotations

from collections import namedtuple

from .header_values import epoch, percent, seconds, word

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

#: Claude's slow-lane statuses; another value reads ``unrecognized``, as in its client.
SLOW_STATUSES = frozenset(
    {"active", "not_needed", "slot_busy", "weekly_limit", "budget_exhausted", "ineligible", "off"}
)
#: The header names (after the prefix) of each offer.
GRACE_HEADERS = frozenset({"grace-status", "grace-5h-utilization", "grace-7d-utilization"})
SLOW_HEADERS = frozenset(
    {"slow-" + kind for kind in ("offer", "status", "retry-after", "max-wait")}
    | {"slow-budget-utilization", "slow-budget-reset"}
)


class Grace(namedtuple("Grace", ["status", "five_hour", "seven_day"], defaults=(None, None, None))):
    """A wrap-up allowance at the limit: ``status`` (``eligible``) and how much of it the
    5-hour and 7-day windows used (percent). Not a window: nothing waits on it."""

    __slots__ = ()
    status: str | None
    five_hour: float | None
    seven_day: float | None

    @property
    def offered(self) -> bool:
        """Claude says the allowance is available or in use."""
        return self.status == "eligible" or bool(self.five_hour) or bool(self.seven_day)


class Slow(
    namedtuple(
        "Slow",
        ["offer", "status", "retry_after", "max_wait", "budget_utilization", "budget_resets_at"],
        defaults=(None, None, None, None, None, None),
    )
):
    """A slower lane offered at the limit: ``offer`` (``treatment`` | ``control``),
    ``status`` (:data:`SLOW_STATUSES` or ``unrecognized``), ``retry_after`` and
    ``max_wait`` (seconds), its budget's utilization (percent) and reset (epoch
    seconds). Not a window: nothing waits on it."""

    __slots__ = ()
    offer: str | None
    status: str | None
    retry_after: float | None
    max_wait: float | None
    budget_utilization: float | None
    budget_resets_at: float | None

    @property
    def offered(self) -> bool:
        """Claude offers the lane now (or it is in use)."""
        return self.status == "active" or (self.offer == "treatment" and self.status is None)


def grace_from(get: Callable[[str], str | None]) -> Grace:
    """The :class:`Grace` of an answer's headers (``get``: name after the prefix → value)."""
    five, seven = get("grace-5h-utilization"), get("grace-7d-utilization")
    return Grace(
        word((get("grace-status") or "").lower()),
        None if five is None else percent(five),
        None if seven is None else percent(seven),
    )


def slow_from(get: Callable[[str], str | None], now: float) -> Slow:
    """The :class:`Slow` of an answer's headers (``get`` as for :func:`grace_from`)."""
    offer = (get("slow-offer") or "").strip().lower()
    status = get("slow-status")
    status = None if status is None else status.strip().lower()
    retry, wait = get("slow-retry-after"), get("slow-max-wait")
    budget, budget_reset = get("slow-budget-utilization"), get("slow-budget-reset")
    return Slow(
        offer if offer in ("treatment", "control") else None,
        None if status is None else status if status in SLOW_STATUSES else "unrecognized",
        None if retry is None else seconds(retry),
        None if wait is None else seconds(wait),
        None if budget is None else percent(budget),
        None if budget_reset is None else epoch(budget_reset, now),
    )


def paths_from(text: str) -> tuple[str, ...] | None:
    """``upgrade_plan, overage`` → ``("upgrade_plan", "overage")`` (words only, at most 8)."""
    paths = tuple(p for p in (word(part.lower()) for part in text.split(",")[:8]) if p)
    return paths or None
