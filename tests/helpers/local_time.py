"""Local time under the tests' control: a zone whose local time is a chosen time of day
now, and every text a formatter of ours can give for a moment known only within bounds.

The suite's ``time_sensitive`` tests run three times (see ``tests/conftest.py``): in the
zone the run has, and with ``TZ`` from :func:`zone_with_local_time` so that local time
is just before, then just after, midnight.
"""

from __future__ import annotations

import time
from collections.abc import Callable

DAY = 86400


def zone_with_local_time(seconds_of_day: int, now: float | None = None) -> str:
    """A POSIX ``TZ`` value under which local time is ``seconds_of_day`` past midnight at
    ``now`` (default: the real time), within 30 seconds: the UTC offset is whole minutes,
    as every real zone's is (``%z`` and ISO 8601 offsets show no seconds). It is within
    ±12 h."""
    now = time.time() if now is None else now
    shift = (seconds_of_day - int(now) % DAY) % DAY  # local = UTC + shift
    shift = (shift + 30) // 60 * 60 % DAY
    if shift > DAY // 2:
        shift -= DAY
    offset = -shift  # POSIX counts the other way: the time to add to local to get UTC
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return f"CCO{sign}{hours:02d}:{minutes:02d}"


def texts_between(format_at: Callable[[float], str], earliest: float, latest: float) -> set[str]:
    """Every text ``format_at(now)`` gives for a ``now`` between ``earliest`` and
    ``latest`` — for a line the code under test formatted at a moment the test knows only
    within bounds. Sampled every second (the finest unit our lines show) and at both ends."""
    times = [earliest + i for i in range(int(latest - earliest) + 1)] + [latest]
    return {format_at(t) for t in times}
