"""What every secret store offers, and the deadline each of its calls keeps.

A secret store keeps one opaque value per profile in the OS keyring: the profile's
secrets (tokens or a Console key) serialised by the caller. What a caller may rely on,
whichever store :func:`~.choose.open_secret_store` returns:

* :meth:`SecretStore.get` returns exactly the bytes last given to :meth:`~SecretStore.set`
  for that profile, or ``None`` when the profile has no item. It never prompts the user.
* :meth:`SecretStore.set` replaces the profile's item as a whole (never two items, never
  a half-written one that reads as a value); :meth:`SecretStore.delete` removes it and
  says whether there was one. Both prompt the user (to unlock a keyring) only when
  called with ``allow_prompt=True``; otherwise a locked keyring is
  :class:`~claude_code_oauth.errors.SecretStoreLocked`.
* :meth:`SecretStore.probe` answers whether the store is usable here, in time, with a
  one-line description of it, without reading or writing any item.
* :meth:`SecretStore.profiles` names the profiles that have an item in this store
  (locked ones included, never reading a secret), or ``None`` when the store cannot
  list its items (the ``keyring`` library cannot); it never prompts.
* Every call returns or raises within its deadline (``timeout`` seconds, 2 by default;
  ``prompt_timeout`` while a prompt the caller allowed is on screen). Every failure is a
  :class:`~claude_code_oauth.errors.SecretStoreError` subclass with a one-line message
  that never holds a secret: unavailable, locked, prompt dismissed, timed out, damaged,
  too large. Nothing else escapes (no traceback, no hang).
* Values are at most :data:`MAX_SECRET_BYTES`; larger ones raise
  :class:`~claude_code_oauth.errors.SecretTooLarge` before anything is written.
"""

from __future__ import annotations

import time

from ..errors import SecretStoreTimeout, SecretTooLarge

TYPE_CHECKING = False  # typing is not imported at run time: this is on the fast path
if TYPE_CHECKING:
    from collections.abc import Callable

#: The service name every item carries (the ``service`` attribute, or keyring's service).
SERVICE = "claude-code-oauth"
#: Seconds one keyring call may take.
DEFAULT_TIMEOUT = 2.0
#: Seconds a prompt the caller allowed may stay on screen.
DEFAULT_PROMPT_TIMEOUT = 120.0
#: A profile's secrets are a few hundred bytes; this leaves room for any future field.
MAX_SECRET_BYTES = 16 * 1024


class SecretStore:
    """The interface; see the module docstring for the contract."""

    #: What the user is told this store is ("the Secret Service", "the macOS Keychain").
    name = "the keyring"

    def get(self, profile: str) -> bytes | None:
        raise NotImplementedError

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        raise NotImplementedError

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        raise NotImplementedError

    def probe(self) -> str:
        raise NotImplementedError

    def profiles(self) -> list[str] | None:
        return None


def check_size(secret: bytes, store: str) -> None:
    """Raise :class:`SecretTooLarge` for a value over :data:`MAX_SECRET_BYTES`."""
    if len(secret) > MAX_SECRET_BYTES:
        raise SecretTooLarge(
            f"Refusing to store {len(secret)} bytes in {store}: a profile's secrets are "
            f"at most {MAX_SECRET_BYTES} bytes."
        )


class Deadline:
    """A point in time a call must finish by; :meth:`remaining` raises once it passed."""

    def __init__(
        self,
        seconds: float,
        store: str,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.store = store
        self.what = what
        self._clock = clock
        self._end = clock() + seconds

    def remaining(self) -> float:
        """Seconds left (> 0); raises :class:`SecretStoreTimeout` when none are."""
        left = self._end - self._clock()
        if left <= 0:
            raise self.expired()
        return left

    def expired(self) -> SecretStoreTimeout:
        return SecretStoreTimeout(
            f"{self.store[:1].upper()}{self.store[1:]} did not answer within "
            f"{self.seconds:g} s ({self.what}); the call was abandoned.",
            hint="If it keeps happening, check the keyring daemon, or keep the "
            "credentials in the file instead.",
        )
