"""A wall clock a test owns, so nothing a test checks depends on the hour it runs at.

:class:`WallClock` gives epoch seconds (as :func:`time.time` does): the real time
shifted by an offset the test chooses and moves, or a time that stands still until
the test moves it. What a test may rely on:

* The emulator reads one for everything it answers in wall-clock seconds — usage
  windows' resets, a refusal's reset, a Console key's creation time
  (``ClaudeEmulator(wall_clock=...)``; by default an unshifted one, as
  ``emulator.wall_clock``, so any test may :meth:`~WallClock.advance` it).
* Code under test takes it where it takes a clock (``clock=``) or calls it for its
  ``now=``.
* A Code Puppy run by ``tests/helpers/puppy_driver.py`` gets the same clock through
  its environment (:meth:`WallClock.env`): the driver shifts that process's
  ``time.time`` by :attr:`~WallClock.offset` before Code Puppy or this package is
  imported, and its ``sync_clock`` step takes a new offset mid-run. A shifted clock
  keeps running (a frozen one would stall whatever waits on ``time.time``).
* :meth:`WallClock.at_local` builds a clock whose local time (in the process's zone,
  ``TZ``) is a given time of day now: a test chooses the hour instead of inheriting it.

Standard library only. Thread-safe.
"""

from __future__ import annotations

import threading
import time

#: The variable that carries a clock's offset to a Code Puppy the tests drive.
OFFSET_VARIABLE = "PUPPY_DRIVER_CLOCK_OFFSET"


class WallClock:
    """Epoch seconds under a test's control: ``time.time() + offset``, or ``frozen_at``
    (standing still) when given. :meth:`advance` moves either kind forward."""

    def __init__(self, offset: float = 0.0, *, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = float(offset)
        self._frozen_at = None if frozen_at is None else float(frozen_at)

    @classmethod
    def at_local(cls, hour: int, minute: int = 0, second: int = 0) -> WallClock:
        """A running clock whose local time is today's ``hour:minute:second`` now."""
        now = time.time()
        today = time.localtime(now)
        target = time.mktime(
            (today.tm_year, today.tm_mon, today.tm_mday, hour, minute, second, 0, 0, -1)
        )
        return cls(offset=target - now)

    def __call__(self) -> float:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward (never back: ``seconds`` must be >= 0)."""
        if not seconds >= 0:
            raise ValueError("a wall clock only moves forward")
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    @property
    def offset(self) -> float:
        """Seconds this clock is ahead of the real time, now."""
        return self() - time.time()

    def env(self) -> dict[str, str]:
        """The environment that gives a driven Code Puppy this clock (see the module doc)."""
        return {OFFSET_VARIABLE: repr(self.offset)}
