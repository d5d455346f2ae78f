"""The extra-usage guard: configuration key ``extra_usage`` (``CLAUDE_CODE_OAUTH_EXTRA_USAGE``).

Claude bills requests past the plan's limits — and, since mid-2026, some
third-party traffic — as *extra usage* (pay-as-you-go) when the account has it
on. The guard makes that visible, or stops it, for our Code Puppy models:

* ``warn`` (default): the first answer billed as extra usage prints one
  warning line; not again until an answer says it stopped and a later one says
  it started again (per process, that is per Code Puppy session).
* ``block``: :meth:`ExtraUsageGuard.check` raises :class:`ExtraUsageBlocked`
  (one line naming the window and its reset time) while the latest snapshot —
  this process's last answer or the usage file, whichever is newer — says
  requests would be billed as extra usage: the plan's limit is reached with extra
  usage on (until that window resets), or Claude billed the last answer as extra
  usage below the limits (until a newer snapshot — ``usage --refresh`` — no
  longer says so). Then requests are sent again.
* ``allow``: silent.

Only the plan's windows and the extra-usage headers decide: a window is reached
at 100 % or when Claude's status says ``rejected``. The usage endpoint's
``severity`` (``critical`` is a colour, from about 90 %), the grace (wrap-up
allowance) and slow-lane headers, a fallback model and upgrade paths are offers
or colours, never limits: the guard never refuses because of them.

``claude-code-oauth token`` is never affected: a credential helper does not
know what its token is used for. Standard library only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..errors import ExtraUsageBlocked
from .unified_limits import EXTRA_USAGE_ON, UnifiedLimits, Window, display_name, until
from .usage_capture import UsageCapture, capture_for
from .usage_snapshot import UsageSnapshot, for_account, load, usage_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings

SEE_USAGE = "/claude-code-usage (or `claude-code-oauth usage`)"
WARNING = (
    "Claude is billing these requests as extra usage (pay-as-you-go), not against your "
    f"plan's limits. See {SEE_USAGE}; to refuse such requests instead, set "
    "CLAUDE_CODE_OAUTH_EXTRA_USAGE=block."
)


def reached_window(limits: UnifiedLimits) -> Window | None:
    """The window whose limit is reached (the binding one first), if any."""
    reached = [
        w
        for w in limits.windows.values()
        if w.status == "rejected" or (w.utilization is not None and w.utilization >= 100.0)
    ]
    if not reached:
        return None
    for window in reached:
        if window.name == limits.binding_window:
            return window
    return max(reached, key=lambda w: w.utilization or 0.0)


def block_reason(limits: UnifiedLimits, now: float) -> tuple[str | None, float | None] | None:
    """``(window, resets_at)`` while requests would be billed as extra usage, else ``None``.

    Billed: the answer said so (``…-overage-in-use: true``), or the plan's limit is
    reached (overall or a window) while extra usage is on. ``window`` is the limit
    reached; ``"overage"`` when no plan limit is reached and Claude bills anyway (as it
    does for some third-party traffic since mid-2026) — then only the overall reset,
    when the representative claim is the overage, ends it; never a plan window that
    is not reached, nor the overage's spending cycle. ``resets_at`` is ``None`` when
    unknown. Once that time has passed: ``None``.
    """
    window = reached_window(limits)
    reached = window is not None or limits.limit_reached
    billed = limits.overage_in_use is True or (reached and limits.overage_status in EXTRA_USAGE_ON)
    if not billed:
        return None
    if reached:
        name = window.name if window is not None else limits.binding_window
        resets_at = (window.resets_at if window is not None else None) or limits.resets_at
    else:
        # The overage's own reset is its spending cycle's, not the end of the billing.
        name = "overage"
        resets_at = limits.resets_at if limits.binding_window in (None, "overage") else None
    if resets_at is not None and now >= resets_at:
        return None
    return name, resets_at


def refusal(window: str | None, resets_at: float | None, now: float) -> str:
    """The one line a blocked request gets."""
    if window and window != "overage":
        why = f"your plan's {display_name(window)} limit is reached and Claude would bill it"
    else:
        why = "Claude billed this account's last answer"
    when = (
        f"That resets at {until(resets_at, now)}"
        if resets_at is not None
        else "The reset time is unknown (`claude-code-oauth usage --refresh` asks Claude again)"
    )
    return (
        f"Not sent (extra_usage = block): {why} as extra usage. {when}; to send anyway, "
        "set CLAUDE_CODE_OAUTH_EXTRA_USAGE=warn."
    )


def _log_warning(text: str) -> None:
    import logging

    logging.getLogger("claude_code_oauth").warning("%s", text)


class ExtraUsageGuard:
    """Warns about, or blocks, requests billed as extra usage (see the module docs)."""

    def __init__(
        self,
        settings: Settings,
        capture: UsageCapture,
        *,
        warn: Callable[[str], None] = _log_warning,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self.capture = capture
        self._path = usage_path(settings)
        self._clock = clock
        self.warn = warn
        self._in_use = False
        self._lock = threading.Lock()
        capture.add_listener(self.observe)

    def mode(self) -> str:
        """The configured mode; an invalid value counts as ``warn`` here (it is
        reported when a model is built)."""
        try:
            return self._settings.extra_usage
        except Exception:
            return "warn"

    def observe(self, limits: UnifiedLimits) -> None:
        """Told about every parsed answer: warns once per stretch of extra usage (an
        answer that says nothing about extra usage neither starts nor ends one)."""
        if limits.overage_in_use is None and limits.overage_status is None:
            return
        billed = limits.billed_as_extra_usage
        with self._lock:
            started = billed and not self._in_use
            self._in_use = billed
        if started and self.mode() == "warn":
            self.warn(WARNING)

    def latest(self) -> UsageSnapshot | None:
        """This process's last snapshot or the file's (same account), whichever is newer."""
        mine = self.capture.latest
        try:
            usage = load(self._path)
            if usage.snapshot is None or (mine is not None and mine.as_of >= usage.snapshot.as_of):
                return mine  # nothing newer on disk: no need to ask whose it is
            stored = for_account(usage, self._account()).snapshot
        except Exception:
            stored = None
        return stored if stored is not None else mine

    def check(self) -> None:
        """Raise :class:`ExtraUsageBlocked` if ``block`` says not to send now."""
        if self.mode() != "block":
            return
        snapshot = self.latest()
        if snapshot is None:
            return
        now = self._clock()
        reason = block_reason(snapshot.limits, now)
        if reason is None:
            return
        window, resets_at = reason
        raise ExtraUsageBlocked(refusal(window, resets_at, now), window=window, resets_at=resets_at)

    def _account(self) -> str | None:
        from ..tokens import store as token_store

        # From the file alone: with the secrets in the keyring, no keyring call per answer.
        return token_store.account_in_file(self._settings.token_path)


_guards: dict[str, ExtraUsageGuard] = {}
_guards_lock = threading.Lock()


def guard_for(settings: Settings) -> ExtraUsageGuard:
    """The shared guard for ``settings``' sign-in (one per usage file per process),
    listening to that sign-in's shared capture; set its ``warn`` to where the host
    shows warnings."""
    path = usage_path(settings)
    with _guards_lock:
        guard = _guards.get(path)
        if guard is None:
            guard = _guards[path] = ExtraUsageGuard(settings, capture_for(settings))
        return guard
