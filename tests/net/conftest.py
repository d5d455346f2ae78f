"""Fixtures of the network tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def fresh_shared_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As in a fresh process: the shared client is made by the test that asks for it.

    What ``fetch`` installs into the shared client (the deadline backend, the bounded
    decoding hook) is then installed by the code under test, not inherited from a
    client an earlier test made — or, under mutmut, from the parent process that forks
    each mutant, whose client the unmutated code set up (docs/mutation.md)."""
    from claude_code_oauth.net import http_client

    monkeypatch.setattr(http_client, "_client", None)
    yield
    made = http_client._client
    if made is not None:
        made.close()
