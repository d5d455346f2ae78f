"""The freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet ≥ 5.97), spoken
directly over the session bus.

One item per profile, found by its attributes ``service=claude-code-oauth`` and
``profile=<name>``, created in the default collection with ``replace=true`` and content
type ``text/plain`` (so ``secret-tool lookup service claude-code-oauth profile NAME``
shows it). Beyond the contract of :class:`~.interface.SecretStore`, a caller may rely on:

* No session bus: :class:`~claude_code_oauth.errors.SecretStoreUnavailable` at once,
  without a socket opened. A bus where nothing owns ``org.freedesktop.secrets``: the
  same, as soon as the bus says so.
* :meth:`SecretServiceStore.get` never unlocks and never prompts: an item found only in
  a locked collection is :class:`~claude_code_oauth.errors.SecretStoreLocked`. When
  several unlocked items match (copies in two collections), the most recently modified
  is read.
* :meth:`~SecretServiceStore.set` and :meth:`~SecretServiceStore.delete` show the
  Secret Service's own prompt (to unlock the collection, or to confirm) only with
  ``allow_prompt=True``; the user then has ``prompt_timeout`` seconds, after which the
  prompt is dismissed. A dismissed or denied prompt is
  :class:`~claude_code_oauth.errors.SecretStorePromptDismissed`. Without
  ``allow_prompt`` a prompt the service asks for is dismissed at once and the call
  raises :class:`~claude_code_oauth.errors.SecretStoreLocked`.

The session algorithm is ``plain``: the secret crosses the bus socket unencrypted. The
alternative, ``dh-ietf1024-sha256-aes128-cbc-pkcs7``, protects against a reader of the
bus's traffic — and the only processes that can read it (this user's, with the bus's
monitoring rights, and root) can call ``GetSecrets`` themselves. It would need AES,
which the standard library lacks, and hand-written cryptography is the last thing a
credential path should hold; libsecret, too, falls back to ``plain``.
"""

from __future__ import annotations

import os
import time

from ..errors import (
    SecretStoreDamaged,
    SecretStoreError,
    SecretStoreLocked,
    SecretStorePromptDismissed,
    SecretStoreTimeout,
    SecretStoreUnavailable,
    SecretTooLarge,
)
from .dbus_connection import BusConnection, DBusError, session_bus_address
from .dbus_wire import Variant
from .interface import (
    DEFAULT_PROMPT_TIMEOUT,
    DEFAULT_TIMEOUT,
    MAX_SECRET_BYTES,
    SERVICE,
    Deadline,
    SecretStore,
    check_size,
)

TYPE_CHECKING = False  # typing is not imported at run time: this is on the fast path
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    T = TypeVar("T")

SECRETS = "org.freedesktop.secrets"
SERVICE_PATH = "/org/freedesktop/secrets"
SERVICE_IFACE = "org.freedesktop.Secret.Service"
COLLECTION_IFACE = "org.freedesktop.Secret.Collection"
ITEM_IFACE = "org.freedesktop.Secret.Item"
PROMPT_IFACE = "org.freedesktop.Secret.Prompt"
PROPERTIES_IFACE = "org.freedesktop.DBus.Properties"
NO_PROMPT = "/"
CONTENT_TYPE = "text/plain"

_UNAVAILABLE_HINT = (
    "Start a Secret Service (gnome-keyring, KeePassXC with its Secret Service "
    "integration), or keep the credentials in the file."
)
_LOCKED_HINT = "Unlock it (sign in to the desktop, or open your keyring manager) and try again."


def attributes(profile: str) -> dict[str, str]:
    """The attributes that find a profile's item."""
    return {"service": SERVICE, "profile": profile}


class SecretServiceStore(SecretStore):
    """A profile's secrets in the Secret Service; see the module docstring."""

    name = "the Secret Service"

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.prompt_timeout = prompt_timeout
        self._environ = os.environ if environ is None else environ
        self._clock = clock

    # -- the four calls ----------------------------------------------------------------

    def get(self, profile: str) -> bytes | None:
        return self._with_bus(f"reading profile {profile}'s item", lambda bus: _get(bus, profile))

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        check_size(secret, self.name)
        self._with_bus(
            f"storing profile {profile}'s item",
            lambda bus: self._set(bus, profile, bytes(secret), allow_prompt),
        )

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        return self._with_bus(
            f"deleting profile {profile}'s item",
            lambda bus: self._delete(bus, profile, allow_prompt),
        )

    def probe(self) -> str:
        return self._with_bus("answering whether it works", _probe)

    def profiles(self) -> list[str]:
        """The profiles with an item of this service, sorted (attributes only: no
        secret is read, a locked collection is listed too)."""
        return self._with_bus("listing its items", _profiles)

    # -- the connection, writes, prompts ------------------------------------------------

    def _with_bus(self, what: str, work: Callable[[BusConnection], T]) -> T:
        """``work`` on a new connection within the deadline; error replies translated."""
        address = session_bus_address(self._environ)
        if address is None:
            raise SecretStoreUnavailable(
                "There is no session bus here (DBUS_SESSION_BUS_ADDRESS is not set), so "
                "no Secret Service to keep the credentials in.",
                hint="Use it inside a desktop session (or dbus-run-session), or keep the "
                "credentials in the file.",
            )
        deadline = Deadline(self.timeout, self.name, what, self._clock)
        try:
            connection = BusConnection(address, deadline)
        except SecretStoreUnavailable as exc:
            # The bus's own words say nothing of credentials: name the keyring first.
            raise SecretStoreUnavailable(
                f"The Secret Service (the keyring) is out of reach ({what}): "
                f"{exc.reason[:1].lower()}{exc.reason[1:]}",
                hint=exc.hint,
            ) from None
        try:
            with connection as bus:
                return work(bus)
        except DBusError as exc:
            raise _translate(exc, what) from None

    def _set(self, bus: BusConnection, profile: str, secret: bytes, allow_prompt: bool) -> None:
        session = _open_session(bus)
        collection = _default_collection(bus)
        properties = {
            "org.freedesktop.Secret.Item.Label": Variant("s", label(profile)),
            "org.freedesktop.Secret.Item.Attributes": Variant("a{ss}", attributes(profile)),
        }
        body = (properties, (session, b"", secret, CONTENT_TYPE), True)
        for attempt in (1, 2):
            try:
                _item, prompt = bus.call(
                    SECRETS, collection, COLLECTION_IFACE, "CreateItem", "a{sv}(oayays)b", body
                )
            except DBusError as exc:
                if exc.name != "org.freedesktop.Secret.Error.IsLocked" or attempt == 2:
                    raise
                if not allow_prompt:
                    raise SecretStoreLocked(
                        f"The keyring to store profile {profile}'s credentials in is locked; "
                        "nothing was stored.",
                        hint=_LOCKED_HINT,
                    ) from None
                self._unlock(bus, [collection], "unlock the keyring to store credentials")
                continue
            if prompt != NO_PROMPT:
                self._run_prompt(bus, prompt, allow_prompt, "store credentials")
            return

    def _delete(self, bus: BusConnection, profile: str, allow_prompt: bool) -> bool:
        unlocked, locked = _search(bus, profile)
        if locked:
            if not allow_prompt:
                raise SecretStoreLocked(
                    f"The keyring holding profile {profile}'s credentials is locked; "
                    "nothing was deleted.",
                    hint=_LOCKED_HINT,
                )
            unlocked += self._unlock(bus, locked, "unlock the keyring to delete credentials")
        for path in unlocked:
            (prompt,) = bus.call(SECRETS, path, ITEM_IFACE, "Delete")
            if prompt != NO_PROMPT:
                self._run_prompt(bus, prompt, allow_prompt, "delete credentials")
        return bool(unlocked or locked)

    def _unlock(self, bus: BusConnection, objects: list[str], what: str) -> list[str]:
        unlocked, prompt = bus.call(
            SECRETS, SERVICE_PATH, SERVICE_IFACE, "Unlock", "ao", (objects,)
        )
        if prompt != NO_PROMPT:
            result = self._run_prompt(bus, prompt, True, what)
            unlocked = list(result) if isinstance(result, list) else []
        return list(unlocked)

    def _run_prompt(self, bus: BusConnection, prompt: str, allow: bool, what: str) -> Any:
        """Show the service's prompt and wait for the user; the prompt's result."""
        if not allow:
            _dismiss(bus, prompt)
            raise SecretStoreLocked(
                f"The Secret Service wants to ask you before it will {what}, and this call "
                "may not prompt; nothing was changed.",
                hint=_LOCKED_HINT,
            )
        rule = f"type='signal',interface='{PROMPT_IFACE}',member='Completed',path='{prompt}'"
        bus.add_match(rule)
        bus.call(SECRETS, prompt, PROMPT_IFACE, "Prompt", "s", ("",))
        wait = Deadline(
            self.prompt_timeout,
            self.name,
            f"waiting for you to answer its prompt to {what}",
            self._clock,
        )
        try:
            signal = bus.wait_signal(prompt, PROMPT_IFACE, "Completed", wait)
        except SecretStoreTimeout:
            bus.deadline = Deadline(self.timeout, self.name, "dismissing its prompt", self._clock)
            _dismiss(bus, prompt)
            raise
        dismissed, result = (*signal.body, True, None)[:2]
        if dismissed is not False:
            raise SecretStorePromptDismissed(
                f"The Secret Service's prompt to {what} was dismissed or denied; "
                "nothing was changed.",
                hint="Try again and answer the prompt (it needs a desktop to show on).",
            )
        return result.value if isinstance(result, Variant) else None


def _get(bus: BusConnection, profile: str) -> bytes | None:
    session = _open_session(bus)
    unlocked, locked = _search(bus, profile)
    if not unlocked:
        if locked:
            raise SecretStoreLocked(
                f"The keyring holding profile {profile}'s credentials is locked.",
                hint=_LOCKED_HINT,
            )
        return None
    path = unlocked[0] if len(unlocked) == 1 else _newest(bus, unlocked)
    (secrets,) = bus.call(
        SECRETS, SERVICE_PATH, SERVICE_IFACE, "GetSecrets", "aoo", ([path], session)
    )
    secret = secrets.get(path) if isinstance(secrets, dict) else None
    if not (isinstance(secret, tuple) and len(secret) == 4):
        raise SecretStoreDamaged(
            f"The Secret Service found profile {profile}'s item but gave no secret for it.",
            hint="Sign in again to replace it.",
        )
    value: bytes = secret[2]
    if len(value) > MAX_SECRET_BYTES:
        raise SecretTooLarge(
            f"Profile {profile}'s keyring item holds {len(value)} bytes, more than a "
            "profile's secrets can be: it is not ours as written.",
            hint="Sign in again to replace it.",
        )
    return value


def _probe(bus: BusConnection) -> str:
    _open_session(bus)
    collection = _default_collection(bus)
    name = _property(bus, collection, COLLECTION_IFACE, "Label")
    if _property(bus, collection, COLLECTION_IFACE, "Locked") is True:
        raise SecretStoreLocked(
            f"The Secret Service's default keyring ({name!r}) is locked.", hint=_LOCKED_HINT
        )
    return f"the Secret Service on the session bus (default keyring {name!r}, unlocked)"


def _profiles(bus: BusConnection) -> list[str]:
    unlocked, locked = bus.call(
        SECRETS, SERVICE_PATH, SERVICE_IFACE, "SearchItems", "a{ss}", ({"service": SERVICE},)
    )
    names = set()
    for path in [*unlocked, *locked]:
        found = _property(bus, path, ITEM_IFACE, "Attributes")
        name = found.get("profile") if isinstance(found, dict) else None
        if isinstance(name, str) and found.get("service") == SERVICE:
            names.add(name)
    return sorted(names)


def label(profile: str) -> str:
    """The item's label, as keyring managers show it."""
    return f"Claude sign-in, profile {profile} (claude-code-oauth)"


def _open_session(bus: BusConnection) -> str:
    session: str
    _output, session = bus.call(
        SECRETS, SERVICE_PATH, SERVICE_IFACE, "OpenSession", "sv", ("plain", Variant("s", ""))
    )
    return session


def _search(bus: BusConnection, profile: str) -> tuple[list[str], list[str]]:
    unlocked, locked = bus.call(
        SECRETS, SERVICE_PATH, SERVICE_IFACE, "SearchItems", "a{ss}", (attributes(profile),)
    )
    return list(unlocked), list(locked)


def _default_collection(bus: BusConnection) -> str:
    path: str
    (path,) = bus.call(SECRETS, SERVICE_PATH, SERVICE_IFACE, "ReadAlias", "s", ("default",))
    if path == NO_PROMPT:
        raise SecretStoreUnavailable(
            "The Secret Service has no default keyring to keep the credentials in.",
            hint="Create one in your keyring manager (for example Passwords and Keys), "
            "or keep the credentials in the file.",
        )
    return path


def _property(bus: BusConnection, path: str, interface: str, name: str) -> Any:
    (value,) = bus.call(SECRETS, path, PROPERTIES_IFACE, "Get", "ss", (interface, name))
    return value.value if isinstance(value, Variant) else value


def _newest(bus: BusConnection, paths: list[str]) -> str:
    """The most recently modified of several matching items."""
    stamps = []
    for path in paths:
        modified = _property(bus, path, ITEM_IFACE, "Modified")
        stamps.append((modified if isinstance(modified, int) else 0, path))
    return max(stamps)[1]


def _dismiss(bus: BusConnection, prompt: str) -> None:
    try:  # noqa: SIM105 - contextlib is not imported on the fast path
        bus.call(SECRETS, prompt, PROMPT_IFACE, "Dismiss")
    except (DBusError, SecretStoreError):
        pass  # it is going away either way


_NAMED = {
    "org.freedesktop.DBus.Error.ServiceUnknown": SecretStoreUnavailable,
    "org.freedesktop.DBus.Error.NameHasNoOwner": SecretStoreUnavailable,
    "org.freedesktop.DBus.Error.Spawn.ChildExited": SecretStoreUnavailable,
    "org.freedesktop.DBus.Error.NotSupported": SecretStoreUnavailable,
    "org.freedesktop.Secret.Error.IsLocked": SecretStoreLocked,
    "org.freedesktop.DBus.Error.NoReply": SecretStoreTimeout,
    "org.freedesktop.DBus.Error.Timeout": SecretStoreTimeout,
    "org.freedesktop.DBus.Error.TimedOut": SecretStoreTimeout,
    "org.freedesktop.Secret.Error.NoSuchObject": SecretStoreDamaged,
    "org.freedesktop.DBus.Error.UnknownObject": SecretStoreDamaged,
    "org.freedesktop.DBus.Error.UnknownMethod": SecretStoreDamaged,
}


def _translate(exc: DBusError, what: str) -> SecretStoreError:
    """A named one-line error for an error reply (the peer's own text is not shown)."""
    cls = _NAMED.get(exc.name, SecretStoreError)
    if exc.name in (
        "org.freedesktop.DBus.Error.ServiceUnknown",
        "org.freedesktop.DBus.Error.NameHasNoOwner",
    ):
        return cls(
            "No Secret Service is running on the session bus "
            "(nothing owns org.freedesktop.secrets).",
            hint=_UNAVAILABLE_HINT,
        )
    if cls is SecretStoreLocked:
        return cls(f"The keyring is locked ({what}).", hint=_LOCKED_HINT)
    return cls(f"The Secret Service answered {exc.name} while {what}.")
