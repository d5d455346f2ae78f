"""The doctor's checks of where the credentials live (issue 22), one per concern:

* ``credential_store`` — the store the token file names: the file itself, or the OS
  keyring, probed (within ``keyring_timeout``, no item read). With ``storage = keyring``
  or ``auto`` and no sign-in in the keyring yet, where a new sign-in would go.
* ``keyring_item`` — a keyring sign-in's item: present, readable, of the file's kind,
  and of the file's generation (a difference means a save was cut short between the
  item and the file, or the item was replaced from elsewhere).
* ``stale_items`` — this service's items whose profile has no token file naming them,
  with the command that removes each (the Secret Service lists its items; the
  ``keyring`` library cannot, which the line says).

Each failure is one line (the store's own error: no traceback, never a secret); nothing
here writes or prompts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ClaudeOAuthError, SecretStoreDamaged, SecretStoreError
from ..tokens import store as token_store
from .check import Check

if TYPE_CHECKING:
    from ..config import Settings
    from ..tokens.keyring_item import Location, StoreOpener


def _location(settings: Settings) -> tuple[Location | None, str | None]:
    """Where the profile's secrets live (``None``: the file), or why that is unknown."""
    try:
        return token_store.secrets_location(settings.token_path), None
    except ClaudeOAuthError as exc:
        return None, exc.reason


def _opener(settings: Settings) -> StoreOpener:
    from ..tokens.keyring_item import StoreOpener

    return StoreOpener(settings=settings)


def credential_store(settings: Settings) -> Check:
    """The store holding the profile's credentials answers (see the module docstring)."""
    import os

    from ..secret_store.choose import describe

    location, unreadable = _location(settings)
    path = settings.token_path
    if unreadable is not None:
        return Check("credential_store", True, "not checked: the token file cannot be read")
    if location is None:
        if os.path.exists(path):
            return Check("credential_store", True, f"file {path} (its own 0600 file)")
        return _next_sign_in(settings)
    label = describe(location.store)
    try:
        _opener(settings)(location.store).probe()
    except SecretStoreError as exc:
        return Check("credential_store", False, f"{label}: {exc.reason}", exc.hint)
    return Check(
        "credential_store",
        True,
        f"{label} answers; the rest in {path} (item of profile {location.item})",
    )


def _next_sign_in(settings: Settings) -> Check:
    """No sign-in yet: where the next one would keep its credentials."""
    from ..tokens.storage_choice import choose

    mode = settings.storage
    if mode == "file":
        return Check("credential_store", True, "no sign-in yet; storage = file: the token file")
    try:
        chosen = choose(settings)
    except SecretStoreError as exc:
        return Check(
            "credential_store",
            False,
            f"no sign-in yet, and storage = keyring cannot use the keyring: {exc.reason}",
            exc.hint,
        )
    where = chosen.label or "the token file"
    return Check("credential_store", True, f"no sign-in yet; storage = {mode}: {where}")


def keyring_item(settings: Settings) -> Check:
    """A keyring sign-in's item is there, readable, and of the file's generation."""
    from ..tokens.keyring_item import item_generation

    location, unreadable = _location(settings)
    if location is None:
        why = "the token file cannot be read" if unreadable else "the credentials are in no keyring"
        return Check("keyring_item", True, f"not used: {why}")
    path = settings.token_path
    stores = _opener(settings)
    try:
        record = token_store.load_sign_in(path, stores=stores)
        raw = stores(location.store).get(location.item)
    except SecretStoreDamaged as exc:
        return Check("keyring_item", False, exc.reason, exc.hint)
    except SecretStoreError as exc:
        return Check("keyring_item", False, f"not read: {exc.reason}", exc.hint)
    except ClaudeOAuthError as exc:
        return Check("keyring_item", False, exc.reason, exc.hint)
    if record is None or raw is None:  # gone between the two reads
        return Check("keyring_item", False, "the sign-in went away while it was checked")
    stored = item_generation(raw, record.to_json())
    name = f"profile {location.item}'s item"
    if stored == location.generation:
        return Check("keyring_item", True, f"{name} is readable, generation {stored} as the file")
    if stored > location.generation:
        return Check(
            "keyring_item",
            False,
            f"{name} is at generation {stored}, {path} at generation {location.generation}: "
            "a save was cut short between the item and the file",
            "Nothing is lost: the item's tokens are the ones used, and the next refresh or "
            "sign-in rewrites the file.",
        )
    return Check(
        "keyring_item",
        False,
        f"{name} is at generation {stored}, older than {path} (generation "
        f"{location.generation}): it was replaced from elsewhere",
        f"If requests are refused, sign in again: {_login(settings)}.",
    )


def _login(settings: Settings) -> str:
    from ..hints import anywhere

    return anywhere().login(settings.profile)


def stale_items(settings: Settings) -> Check:
    """Items of this service that no profile's token file names."""
    from ..secret_store.choose import backend_for, describe

    backend = backend_for()
    label = describe(backend)
    if backend == "secret-service":
        from ..secret_store.dbus_connection import session_bus_address

        if session_bus_address(settings.environ) is None:
            return Check("stale_items", True, "no session bus here: no keyring to look in")
    try:
        names = _opener(settings)(backend).profiles()
    except SecretStoreError as exc:
        return Check("stale_items", True, f"not checked: {exc.reason}")
    if names is None:
        return Check("stale_items", True, f"not checked: {label} cannot list its items")
    stale = [name for name in names if name not in _named_items(settings, backend)]
    if not stale:
        return Check("stale_items", True, f"none ({len(names)} item(s) in the {label}, all named)")
    return Check(
        "stale_items",
        False,
        f"{len(stale)} item(s) in the {label} that no token file names: {', '.join(stale)}",
        f"Remove {'it' if len(stale) == 1 else 'each'} with `secret-tool clear service "
        f"claude-code-oauth profile {stale[0] if len(stale) == 1 else 'NAME'}` (nothing "
        "uses it), or sign in to that profile again to use the keyring there.",
    )


def _named_items(settings: Settings, backend: str) -> set[str]:
    """The items of ``backend`` that some profile's token file names."""
    from ..profiles.listing import profile_names

    named = set()
    for name in profile_names(settings):
        location, _ = _location(settings.with_profile(name))
        if location is not None and location.store == backend:
            named.add(location.item)
    return named
