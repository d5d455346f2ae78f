"""An in-memory Secret Service for the unit tier, in addition to the real gnome-keyring
of the ``keyring`` tier: the store code runs unchanged, only the store it opens is this.

:func:`install` makes :func:`claude_code_oauth.secret_store.choose.open_secret_store`
hand out one :class:`MemorySecretService` for the ``secret-service`` backend, reachable only
through an environment whose ``DBUS_SESSION_BUS_ADDRESS`` is :data:`BUS` (as a real one
is reachable only through its bus): code that opens the store with another
environment (the process's own, say) gets the one-line
:class:`~claude_code_oauth.errors.SecretStoreUnavailable` a machine without a session
bus gives. Each open is recorded (``opened``: the deadline and whether the bus was
right).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from claude_code_oauth.errors import SecretStoreError, SecretStoreUnavailable
from claude_code_oauth.secret_store import choose
from claude_code_oauth.secret_store.interface import SecretStore

#: The session bus address under which the memory Secret Service answers.
BUS = "unix:path=/nonexistent/memory-keyring-bus"
#: An environment that reaches it.
ENV = {"DBUS_SESSION_BUS_ADDRESS": BUS}


class MemorySecretService(SecretStore):
    """One value per profile in a dict. ``failure``, while set, is raised by every call
    (a locked keyring, one that does not answer); ``prompts`` records whether each
    write and delete was allowed to ask the user to unlock it."""

    name = "the memory Secret Service"

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}
        self.failure: SecretStoreError | None = None
        self.opened: list[tuple[float, bool]] = []
        #: ``allow_prompt`` of every write and delete, in order.
        self.prompts: list[bool] = []

    def _answer(self) -> None:
        if self.failure is not None:
            raise self.failure

    def get(self, profile: str) -> bytes | None:
        self._answer()
        return self.items.get(profile)

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        self.prompts.append(allow_prompt)
        self._answer()
        self.items[profile] = bytes(secret)

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        self.prompts.append(allow_prompt)
        self._answer()
        return self.items.pop(profile, None) is not None

    def probe(self) -> str:
        self._answer()
        return self.name


def install(monkeypatch: pytest.MonkeyPatch) -> MemorySecretService:
    """Put a fresh :class:`MemorySecretService` behind ``open_secret_store`` for this test."""
    keyring = MemorySecretService()

    def open_secret_store(
        backend: str = "auto",
        *,
        timeout: float = 2.0,
        prompt_timeout: float = 120.0,
        environ: Mapping[str, str] | None = None,
        platform: str | None = None,
    ) -> SecretStore:
        reachable = (
            backend == "secret-service" and (environ or {}).get("DBUS_SESSION_BUS_ADDRESS") == BUS
        )
        keyring.opened.append((timeout, reachable))
        if not reachable:
            raise SecretStoreUnavailable("No session bus: the Secret Service cannot be used.")
        return keyring

    monkeypatch.setattr(choose, "open_secret_store", open_secret_store)
    return keyring
