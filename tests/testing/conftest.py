"""Fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator


@pytest.fixture
def emu() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, timeout=10) as c:
        yield c
