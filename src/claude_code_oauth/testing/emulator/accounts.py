"""The emulator's users: each account with its organization, what the organization
withholds from every grant, and whether the account is on hold.

Claude leaves a scope out of a grant, silently, where the organization forbids it
(``org:create_api_key`` where members may not create API keys; a grant without
``user:inference`` is what a Console, API-billed account gets): :meth:`AccountBook.granted`
is the requested scope without what the account's organization withholds. An account
on hold has every refresh refused with ``account_on_hold`` and an ``error_uri``
(CONTEXT §2c). Guarded by the emulator state's lock, which is passed in.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

from .records import HOLD_URI


class AccountBook:
    """Every emulated user, in the order added; ``identities[i]`` is
    ``{"account": {...}, "organization": {...}}`` of account index ``i``."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self.identities: list[dict[str, dict[str, Any]]] = []
        #: Account index → the scopes its organization withholds from every grant.
        self._withheld: dict[int, frozenset[str]] = {}
        #: Account index → the ``error_uri`` of its hold.
        self._holds: dict[int, str] = {}

    def add(
        self,
        email: str,
        display_name: str | None = None,
        *,
        organization: str | None = None,
        organization_type: str = "claude_max",
        withheld_scopes: tuple[str, ...] = (),
    ) -> dict[str, dict[str, Any]]:
        """Add a user with an organization of its own; returns its identity.
        ``withheld_scopes``: what that organization leaves out of every grant."""
        with self._lock:
            if any(a["account"]["email_address"] == email for a in self.identities):
                raise ValueError(f"an account {email!r} already exists")
            if organization is None:
                first = not self.identities
                organization = "Emulated Organization" if first else f"Organization of {email}"
            identity = {
                "account": {
                    "uuid": str(uuid.uuid4()),
                    "email_address": email,
                    "display_name": display_name or email.split("@")[0],
                },
                "organization": {
                    "uuid": str(uuid.uuid4()),
                    "name": organization,
                    "organization_type": organization_type,
                },
            }
            self.identities.append(identity)
            if withheld_scopes:
                self._withheld[len(self.identities) - 1] = frozenset(withheld_scopes)
            return identity

    def index(self, email: str) -> int:
        """The index of the account with ``email``; ``ValueError`` if there is none."""
        with self._lock:
            for index, identity in enumerate(self.identities):
                if identity["account"]["email_address"] == email:
                    return index
        raise ValueError(f"no emulated account {email!r}")

    def emails(self) -> list[str]:
        with self._lock:
            return [identity["account"]["email_address"] for identity in self.identities]

    def withhold(self, email: str, scopes: tuple[str, ...]) -> None:
        """From now on the account's organization leaves ``scopes`` out of every grant:
        new sign-ins are granted without them, and its existing logins lose them at
        their next refresh. ``()`` withholds nothing any more."""
        with self._lock:
            self._withheld[self.index(email)] = frozenset(scopes)

    def granted(self, scope: str, index: int) -> str:
        """``scope`` without what account ``index``'s organization withholds, order kept."""
        with self._lock:
            withheld = self._withheld.get(index, frozenset())
        return " ".join(s for s in scope.split() if s not in withheld)

    def hold(self, email: str, error_uri: str | None = HOLD_URI) -> None:
        """Put the account on hold with ``error_uri``, or lift its hold (``None``)."""
        with self._lock:
            index = self.index(email)
            if error_uri is None:
                self._holds.pop(index, None)
            else:
                self._holds[index] = error_uri

    def hold_of(self, index: int) -> str | None:
        """The ``error_uri`` of account ``index``'s hold, ``None`` when not on hold."""
        with self._lock:
            return self._holds.get(index)
