"""Why did a login die? Classify the emulator's replays against the processes killed.

A login dies when a spent refresh token is presented again (a replay: Claude then
revokes the whole login). With processes being killed, one death is expected
now and then: the server rotated the refresh token and the process holding the
token lock was killed before it saved the new one — the window no client can
close. Anything else is a bug: the new refresh token was lost by the client.

:func:`classify` decides per replay from what the emulator logged (each grant's
spent and issued refresh token, and whether the issued one was ever presented)
and the kills the caller recorded, each with whether the victim held the token
lock just before (:func:`lock_holders`, from ``/proc/locks``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .emulator.control import ClaudeEmulator

WINDOW = "unavoidable window"
BUG = "bug"


@dataclass(frozen=True)
class Kill:
    """A process killed at ``at`` (the emulator's clock: ``time.monotonic()``)."""

    at: float
    pid: int
    held_lock: bool


@dataclass(frozen=True)
class Death:
    """One replay, classified as :data:`WINDOW` or :data:`BUG`, and why."""

    at: float
    kind: str
    why: str


def lock_holders(lock_file: str) -> set[int]:
    """The PIDs holding a lock on ``lock_file`` now (Linux ``/proc/locks``; else empty)."""
    try:
        inode = str(os.stat(lock_file).st_ino)
        with open("/proc/locks") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return set()
    holders = set()
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 12345 08:01:1234567 0 EOF"; waiters carry "->".
        fields = line.split()
        if "->" in fields or len(fields) < 6:
            continue
        if fields[5].rsplit(":", 1)[-1] == inode:
            holders.add(int(fields[4]))
    return holders


def classify(emulator: ClaudeEmulator, kills: list[Kill]) -> list[Death]:
    """Every replay the emulator saw, as a :class:`Death`, oldest first."""
    grants = {grant.spent: grant for grant in emulator.refresh_grants}
    deaths = []
    for replay in emulator.replay_log:
        grant = grants.get(replay.token)
        if grant is None:
            deaths.append(Death(replay.at, BUG, "the replayed token was never spent by a grant"))
            continue
        if emulator.was_presented(grant.issued):
            deaths.append(
                Death(
                    replay.at,
                    BUG,
                    "the token that replaced it was saved and used, yet it came back",
                )
            )
            continue
        killed = [k for k in kills if k.held_lock and grant.at <= k.at <= replay.at]
        if killed:
            why = f"process {killed[0].pid} was killed holding the lock after the server rotated"
            deaths.append(Death(replay.at, WINDOW, why))
        else:
            why = "the new refresh token was lost, but no lock holder was killed after the grant"
            deaths.append(Death(replay.at, BUG, why))
    return deaths
