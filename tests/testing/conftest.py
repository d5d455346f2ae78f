"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from claude_code_oauth.testing.clock import WallClock
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

#: The emulator's wall clock in its own tests: a fixed instant (2026-05-28 20:26:40 UTC)
#: that moves only when a test advances it, so no answer depends on when the test runs.
FROZEN_AT = 1_780_000_000.0


@pytest.fixture
def emu() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator(wall_clock=WallClock(frozen_at=FROZEN_AT)) as emulator:
        yield emulator


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, timeout=10) as c:
        yield c
