"""The macOS Keychain and Windows Credential Manager, through the ``keyring`` library.

``keyring`` is the library Code Puppy itself installs, so inside Code Puppy this adds no
dependency; the plain command gets it with ``pip install 'claude-code-oauth[keyring]'``.
It is imported only when this store is used, never on import of this module. Beyond the
contract of :class:`~.interface.SecretStore`, a caller may rely on:

* Every operation — importing ``keyring`` included, on first use — runs in a worker
  thread and is waited for at most ``timeout`` seconds; past that the caller gets
  :class:`~claude_code_oauth.errors.SecretStoreTimeout` and the worker is abandoned (a
  daemon thread: it cannot keep the process alive). While an abandoned worker is still
  stuck, further calls fail the same way at once instead of piling up threads.
* Values are stored in parts under Windows' 2 560-byte limit (see :mod:`.chunking`):
  one entry per profile in the common case (a value up to ~750 bytes), more for larger
  ones. A new value's parts are written before its head, so a failure midway leaves the
  previous value readable; a missing part or a checksum that does not match is
  :class:`~claude_code_oauth.errors.SecretStoreDamaged`, never other bytes.
* No ``keyring`` installed, or only its "fail" backend: ``SecretStoreUnavailable``. A
  locked keyring: ``SecretStoreLocked``; the user cancelling the system's prompt:
  ``SecretStorePromptDismissed``. Other failures name the store and the exception's
  class, never its text (which no one vouches is free of secrets).
* ``allow_prompt`` is accepted for the interface; the operating system decides whether
  its keychain asks (macOS may ask once per item for a program not yet allowed).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import (
    SecretStoreDamaged,
    SecretStoreError,
    SecretStoreLocked,
    SecretStorePromptDismissed,
    SecretStoreUnavailable,
    SecretTooLarge,
)
from . import chunking
from .interface import DEFAULT_TIMEOUT, SERVICE, Deadline, SecretStore, check_size

_T = TypeVar("_T")


def platform_store_name(platform: str | None = None) -> str:
    platform = sys.platform if platform is None else platform
    if platform == "darwin":
        return "the macOS Keychain"
    if platform.startswith("win"):
        return "Windows Credential Manager"
    return "the system keyring (keyring library)"


def load_keyring_backend() -> Any:
    """The ``keyring`` library's backend for this system (imports ``keyring``)."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        raise SecretStoreUnavailable(
            "The keyring library is not installed, so the system keyring cannot be used.",
            hint="Install it: pip install 'claude-code-oauth[keyring]'.",
        ) from None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        raise SecretStoreUnavailable(
            "The keyring library found no usable keyring on this system.",
            hint="Keep the credentials in the file.",
        )
    return backend


class KeyringLibraryStore(SecretStore):
    """A profile's secrets through ``keyring``; see the module docstring."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        load_backend: Callable[[], Any] = load_keyring_backend,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.name = platform_store_name() if name is None else name
        self._load_backend = load_backend
        self._backend: Any = None
        self._clock = clock
        self._stuck: threading.Thread | None = None

    # -- the four calls ------------------------------------------------------------------

    def get(self, profile: str) -> bytes | None:
        return self._run(f"reading profile {profile}'s item", lambda b: self._get(b, profile))

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        check_size(secret, self.name)
        self._run(f"storing profile {profile}'s item", lambda b: self._set(b, profile, secret))

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        return self._run(f"deleting profile {profile}'s item", lambda b: self._delete(b, profile))

    def probe(self) -> str:
        def probe(backend: Any) -> str:
            backend.get_password(SERVICE, "probe (never stored)")
            kind = getattr(backend, "name", None) or type(backend).__name__
            return f"{self.name} through the keyring library ({kind})"

        return self._run("answering whether it works", probe)

    # -- what runs in the worker -----------------------------------------------------------

    def _get(self, backend: Any, profile: str) -> bytes | None:
        text = backend.get_password(SERVICE, profile)
        if text is None:
            return None
        try:
            head = chunking.parse_head(text)
            rest = [
                backend.get_password(SERVICE, chunking.part_name(profile, head, index))
                for index in range(1, head.parts)
            ]
            return chunking.join(head, rest)
        except ValueError as exc:
            raise SecretStoreDamaged(
                f"Profile {profile}'s item in {self.name} is damaged: {exc}.",
                hint="Sign in again to replace it.",
            ) from None

    def _set(self, backend: Any, profile: str, secret: bytes) -> None:
        old = self._head_or_none(backend, profile)
        head, rest = chunking.split(secret)
        written = []
        try:
            for index, text in enumerate(rest, start=1):
                name = chunking.part_name(profile, head, index)
                backend.set_password(SERVICE, name, text)
                written.append(name)
            backend.set_password(SERVICE, profile, chunking.head_text(head))
        except BaseException:
            for name in written:  # the old value is whole: drop the new parts
                _forget(backend, name)
            raise
        if old is not None and old.generation != head.generation:
            for index in range(1, old.parts):
                _forget(backend, chunking.part_name(profile, old, index))

    def _delete(self, backend: Any, profile: str) -> bool:
        if backend.get_password(SERVICE, profile) is None:
            return False
        head = self._head_or_none(backend, profile)
        if head is not None:
            for index in range(1, head.parts):
                _forget(backend, chunking.part_name(profile, head, index))
        backend.delete_password(SERVICE, profile)
        return True

    @staticmethod
    def _head_or_none(backend: Any, profile: str) -> chunking.Head | None:
        text = backend.get_password(SERVICE, profile)
        try:
            return None if text is None else chunking.parse_head(text)
        except ValueError:
            return None

    # -- the worker ------------------------------------------------------------------------

    def _run(self, what: str, work: Callable[[Any], _T]) -> _T:
        deadline = Deadline(self.timeout, self.name, what, self._clock)
        if self._stuck is not None:
            if self._stuck.is_alive():
                raise deadline.expired()
            self._stuck = None
        box: dict[str, Any] = {}

        def worker() -> None:
            try:
                if self._backend is None:
                    self._backend = self._load_backend()
                box["value"] = work(self._backend)
            except SecretStoreError as exc:
                box["error"] = exc
            except BaseException as exc:
                box["error"] = self._translate(exc, what)

        thread = threading.Thread(target=worker, name="claude-code-oauth-keyring", daemon=True)
        thread.start()
        thread.join(deadline.remaining())
        if thread.is_alive():
            self._stuck = thread
            raise deadline.expired()
        if "error" in box:
            raise box["error"]
        value: _T = box["value"]  # the worker set it: it ended without an error
        return value

    def _translate(self, exc: BaseException, what: str) -> SecretStoreError:
        kinds = {cls.__name__ for cls in type(exc).__mro__}
        text = str(exc).lower()
        if kinds & {"NoKeyringError", "InitError"}:
            return SecretStoreUnavailable(f"{self.name} is not usable here ({what}).")
        if "KeyringLocked" in kinds:
            return SecretStoreLocked(f"{self.name} is locked ({what}).")
        # macOS: errSecUserCanceled (-128), errSecAuthFailed (-25293) from its prompt.
        if "-128" in text or "-25293" in text or "user cancel" in text:
            return SecretStorePromptDismissed(
                f"{self.name} asked for permission and was refused ({what}); nothing was changed."
            )
        if "1783" in text:  # Windows: the credential blob is too large
            return SecretTooLarge(f"{self.name} refused a value as too large ({what}).")
        return SecretStoreError(f"{self.name} failed with {type(exc).__name__} while {what}.")


def _forget(backend: Any, name: str) -> None:
    """Delete one entry, ignoring failure (an orphaned part is harmless)."""
    with contextlib.suppress(Exception):
        backend.delete_password(SERVICE, name)
