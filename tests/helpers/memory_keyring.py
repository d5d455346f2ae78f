"""An in-memory ``keyring`` backend, so unit tests reach the keyring paths in-process.

:func:`memory_keyring` makes a :class:`MemoryKeyring` the ``keyring`` library's backend
for one test (``keyring.set_keyring``) and puts back whatever was there after it. Through
it the project's real :class:`~claude_code_oauth.secret_store.keyring_library.KeyringLibraryStore`
(backend name ``keyring-library``: worker thread, deadline, parts under Windows' limit,
error translation) stores items in a dict instead of a desktop keyring. It is a fake in
addition to the keyring-marked tests on the private gnome-keyring, never instead of them.

``locked`` makes every call raise keyring's own ``KeyringLocked`` (what a locked keyring
raises), ``error`` any other exception, as a real backend would, and ``hold`` (an event)
makes every call wait until it is set: a daemon that stopped answering.

The keyring library cannot show whether a write was allowed to prompt (the OS decides);
:class:`UnlockingStore` can: a :class:`~claude_code_oauth.secret_store.interface.SecretStore`
in memory that behaves like a locked Secret Service whose unlock prompt the user accepts
(reads never prompt; a write or delete with ``allow_prompt`` unlocks it, one without is
:class:`~claude_code_oauth.errors.SecretStoreLocked`). :func:`unlocking_store` makes it
what :func:`~claude_code_oauth.secret_store.choose.open_secret_store` opens for one test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import keyring
import keyring.core
from jaraco.classes.properties import classproperty
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked, PasswordDeleteError

from claude_code_oauth.errors import SecretStoreLocked
from claude_code_oauth.secret_store import choose
from claude_code_oauth.secret_store.interface import SERVICE, SecretStore

#: The backend name a :class:`~claude_code_oauth.tokens.keyring_item.Location` gives for
#: the keyring library (the store a :class:`MemoryKeyring` serves).
STORE = "keyring-library"


class MemoryKeyring(KeyringBackend):
    """Passwords in a dict keyed by (service, username)."""

    @classproperty
    def priority(cls) -> float:
        # Never chosen by keyring's own detection: only a test sets it.
        raise RuntimeError("the in-memory keyring is set by a test, never detected")

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.locked = False
        self.error: BaseException | None = None
        self.hold: threading.Event | None = None
        self.calls = 0

    def _enter(self) -> None:
        self.calls += 1
        if self.hold is not None:
            self.hold.wait(60)
        if self.locked:
            raise KeyringLocked("the keyring is locked")
        if self.error is not None:
            raise self.error

    def get_password(self, service: str, username: str) -> str | None:
        self._enter()
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._enter()
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._enter()
        if self.entries.pop((service, username), None) is None:
            raise PasswordDeleteError("Password not found")

    def item(self, profile: str) -> str | None:
        """The head entry of ``profile``'s item, as the store wrote it (no call counted)."""
        return self.entries.get((SERVICE, profile))


@contextmanager
def memory_keyring() -> Iterator[MemoryKeyring]:
    """A fresh :class:`MemoryKeyring` as the ``keyring`` library's backend while inside."""
    previous = keyring.core._keyring_backend  # None until something asked for one
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        if backend.hold is not None:
            backend.hold.set()  # let an abandoned keyring call end
        keyring.core._keyring_backend = previous


class UnlockingStore(SecretStore):
    """A locked keyring, in memory, that a prompt the caller allows unlocks."""

    name = "the test keyring"

    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}
        self.locked = True
        self.prompts = 0

    def _unlock(self, allow_prompt: bool, what: str) -> None:
        if not self.locked:
            return
        if not allow_prompt:
            raise SecretStoreLocked(f"{self.name} is locked ({what}).")
        self.prompts += 1
        self.locked = False

    def get(self, profile: str) -> bytes | None:
        if self.locked:
            raise SecretStoreLocked(f"{self.name} is locked (reading).")
        return self.items.get(profile)

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        self._unlock(allow_prompt, "storing")
        self.items[profile] = secret

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        self._unlock(allow_prompt, "deleting")
        return self.items.pop(profile, None) is not None

    def probe(self) -> str:
        if self.locked:
            raise SecretStoreLocked(f"{self.name} is locked (answering whether it works).")
        return self.name


@contextmanager
def unlocking_store() -> Iterator[UnlockingStore]:
    """An :class:`UnlockingStore` as every store ``open_secret_store`` opens while inside."""
    store = UnlockingStore()
    real = choose.open_secret_store

    def opened(backend: str = "auto", **_: object) -> SecretStore:
        return store

    choose.open_secret_store = opened
    try:
        yield store
    finally:
        choose.open_secret_store = real
