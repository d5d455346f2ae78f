"""Where a sign-in's credentials live, and moving them without a new login
(``storage [--to keyring|file]``, ``/claude-code-storage [keyring|file]``).

What a caller may rely on:

* :func:`where_stored` reads the token files only (never the keyring, never a
  prompt) and returns one line per signed-in profile saying where its secrets are,
  then one saying where new sign-ins put theirs (the ``storage`` setting).
* :func:`move_storage` moves each asked profile's secrets (access and refresh
  token, or Console key) under that profile's token lock, copy, then switch, then
  delete:

  - to the keyring: the profile's item is written (the keyring may ask to be
    unlocked: the user ran this), read back and compared, and only then is the token
    file rewritten, atomically, without any secret (``store.save`` writes item then
    file);
  - to the file: the item is read, the full 0600 file written atomically, and only
    then the item removed.

  A failure before the switch changes nothing: the sign-in keeps working from where
  it was, and the error (:class:`~claude_code_oauth.errors.MoveFailed`, one line)
  says so. A failure to remove the old item after the switch is a warning naming
  the item, not an error. A profile already there is said so. The access token is
  the same before and after: nothing is refreshed, nothing is asked of Claude.
* After a move to the keyring, files under the data directory that may still hold
  tokens of the moved profiles (``.corrupt-*`` copies set aside, files a save kept
  or an interrupted write left) are named, never removed: they are the user's, and
  the token store promises set-aside copies are never deleted.
* The ``storage`` setting is not changed; the lines say what it means for new
  sign-ins and how to change it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ..config import Settings
from ..errors import (
    ClaudeOAuthError,
    MoveFailed,
    ProfileError,
    SecretStoreDamaged,
    SecretStoreError,
    UsageError,
)
from ..secret_store.interface import SecretStore
from ..tokens import store as token_store
from ..tokens.api_key import ApiKeyRecord
from ..tokens.keyring_item import IN_FILE, KeyringTarget, Location, StoreOpener, delete_item
from ..tokens.record import TokenRecord
from .reporter import Message, Reporter

KEYRING = "keyring"
FILE = "file"
#: Where ``--to`` may send the credentials.
DESTINATIONS = (KEYRING, FILE)
#: How the variable that sets ``storage`` is named (new sign-ins follow it).
STORAGE_VARIABLE = "CLAUDE_CODE_OAUTH_STORAGE"


def where_stored(settings: Settings, *, only: str | None = None) -> list[Message]:
    """One line per signed-in profile (or only profile ``only``) saying where its
    secrets live, then what the ``storage`` setting does for new sign-ins."""
    from ..profiles.listing import profile_names

    names = [only] if only is not None else profile_names(settings)
    stores = StoreOpener(settings=settings)
    lines: list[Message] = []
    for name in names:
        path = settings.with_profile(name).token_path
        try:
            present, location = token_store.stored_location(path)
        except ClaudeOAuthError as exc:
            lines.append(("warning", f"{name}: {exc.reason}"))
            continue
        if not present:
            lines.append(("info", f"{name}: not signed in"))
        elif location is None:
            lines.append(("info", f"{name}: in its token file {path} (mode 0600)"))
        else:
            lines.append(("info", f"{name}: in {_item(location, stores)}; {path} holds no secret"))
    if not names:
        lines.append(("info", "No profile is signed in."))
    lines.append(("info", _setting_line(settings)))
    return lines


def _item(location: Location, stores: StoreOpener) -> str:
    """``the Secret Service (item NAME)``: opening a store does not touch the keyring."""
    return f"{stores(location.store).name} (item {location.item})"


def _setting_line(settings: Settings) -> str:
    try:
        value = settings.storage
    except ClaudeOAuthError as exc:
        return f"New sign-ins: {exc.reason}"
    where = "the OS keyring" if value == KEYRING else "their token file"
    if value == "auto":
        where = "the keyring where one answers, else their token file (storage = auto)"
    return f"New sign-ins keep their secrets in {where} (the storage setting, {STORAGE_VARIABLE})."


def move_storage(
    settings: Settings,
    to: str,
    reporter: Reporter,
    *,
    every_profile: bool = False,
    stores: StoreOpener | None = None,
) -> None:
    """Move the secrets of ``settings.profile`` (of every signed-in profile with
    ``every_profile``) to ``to`` (:data:`KEYRING` or :data:`FILE`); see the module
    docstring. Raises :class:`ProfileError` when nothing is signed in, and a one-line
    :class:`ClaudeOAuthError` when a profile could not be moved (after trying the
    others); ``stores`` opens the keyring (the settings' deadline by default)."""
    from ..profiles.listing import profile_names

    if to not in DESTINATIONS:
        raise UsageError(f"--to takes {' or '.join(DESTINATIONS)}, not {to!r}.")
    names = profile_names(settings) if every_profile else [settings.profile]
    if not names:
        raise ProfileError("No profile is signed in: there is nothing to move.")
    stores = stores or StoreOpener(settings=settings)
    move = _to_keyring if to == KEYRING else _to_file
    failures: list[ClaudeOAuthError] = []
    for name in names:
        try:
            config = settings.with_profile(name)
            if not token_store.stored_location(config.token_path)[0]:
                # Before the lock: a profile that does not exist gets no lock file either.
                raise ProfileError(f"Profile {name} is not signed in: there is nothing to move.")
            move(config, reporter, stores)
        except ClaudeOAuthError as exc:
            if len(names) == 1:
                raise
            failures.append(exc)
            reporter.warning(str(exc))
    if to == KEYRING:
        _name_leftovers(settings, names, reporter)
        _name_profiles_left_in_files(settings, names, reporter)
    _note_setting(settings, to, reporter)
    if failures:
        raise MoveFailed(
            f"{len(failures)} of {len(names)} profiles could not be moved (see above); "
            "each still works from where it was."
        )


def _load(
    config: Settings, stores: StoreOpener, where_to: str
) -> tuple[TokenRecord | ApiKeyRecord, Location | None]:
    """The profile's sign-in (a kept newer copy adopted first) and where its secrets
    are now. Hold the token lock. Not signed in, a damaged file, a missing or damaged
    item: one line, as the store says it; a keyring that fails: :func:`_failed`."""
    path = config.token_path
    _, before = token_store.stored_location(path)
    try:
        record = token_store.load_sign_in(path, stores=stores)
    except SecretStoreDamaged:
        raise  # the sign-in does not work where it is: the store's line says what to do
    except SecretStoreError as exc:
        assert before is not None  # only an item is read from the keyring
        raise _failed(config.profile, where_to, exc, _item(before, stores)) from None
    if record is None:
        raise ProfileError(f"Profile {config.profile} is not signed in: there is nothing to move.")
    # A save that could not replace the file kept a newer sign-in beside it: that one moves.
    adopted = token_store.adopt_kept(path, record) or record
    _, location = token_store.stored_location(path)
    return adopted, location


def _to_keyring(config: Settings, reporter: Reporter, stores: StoreOpener) -> None:
    from ..secret_store.choose import backend_for

    name, path = config.profile, config.token_path
    backend = backend_for()
    where_to = f"to {stores(backend).name}"
    with token_store.held(token_store.token_lock(config)):
        record, before = _load(config, stores, where_to)
        if before is not None and (before.store, before.item) == (backend, name):
            reporter.info(
                f"Profile {name}'s credentials are already in {_item(before, stores)}; "
                "nothing to move."
            )
            return
        checked = _ReadBackOpener(stores)
        try:
            token_store.save(
                path,
                record,
                secrets=KeyringTarget(backend, name, allow_prompt=True),
                stores=checked,
            )
        except ClaudeOAuthError as exc:
            if checked.mismatch:
                _forget(stores(backend), name)  # what was written is not the sign-in
            where = "its token file" if before is None else _item(before, stores)
            raise _failed(name, where_to, exc, where) from None
        after = Location(backend, name, 1)
        reporter.success(
            f"Moved profile {name}'s credentials to {_item(after, stores)}: its token file "
            f"{path} no longer holds any secret."
        )
        if before is not None:
            _remove_old_item(before, name, reporter, stores)


def _to_file(config: Settings, reporter: Reporter, stores: StoreOpener) -> None:
    name, path = config.profile, config.token_path
    where_to = f"to its token file {path}"
    with token_store.held(token_store.token_lock(config)):
        record, before = _load(config, stores, where_to)
        if before is None:
            reporter.info(
                f"Profile {name}'s credentials are already in its token file {path}; "
                "nothing to move."
            )
            return
        try:
            token_store.save(path, record, secrets=IN_FILE, stores=stores)
        except ClaudeOAuthError as exc:
            raise _failed(name, where_to, exc, _item(before, stores)) from None
        reporter.success(
            f"Moved profile {name}'s credentials to its token file {path} (mode 0600)."
        )
        _remove_old_item(before, name, reporter, stores)


def _failed(name: str, where_to: str, exc: ClaudeOAuthError, where_now: str) -> MoveFailed:
    return MoveFailed(
        f"Could not move profile {name}'s credentials {where_to} ({exc.reason.rstrip('.')}); "
        f"nothing was changed or lost: it still signs in from {where_now}.",
        hint=exc.hint,
    )


def _remove_old_item(
    location: Location, name: str, reporter: Reporter, stores: StoreOpener
) -> None:
    """After the switch: the old item goes; failing that, a warning naming it."""
    try:
        delete_item(location, stores)
    except SecretStoreError as exc:
        store = stores(location.store)
        how = (
            f" (`secret-tool clear service claude-code-oauth profile {location.item}`)"
            if location.store == "secret-service"
            else ""
        )
        reporter.warning(
            f"Profile {name} now signs in from its new place, but its old item "
            f"{location.item} in {store.name} could not be removed "
            f"({exc.reason.rstrip('.')}); it still holds the credentials: remove it "
            f"yourself{how}."
        )


def _forget(store: SecretStore, name: str) -> None:
    """Best effort: remove an item whose read-back did not match (the file never named it)."""
    import contextlib

    with contextlib.suppress(SecretStoreError):
        store.delete(name)


class _ReadBack(SecretStore):
    """A store whose :meth:`set` reads the value back and compares it: what was written
    is what the file will point at. A mismatch is :class:`SecretStoreDamaged`."""

    def __init__(self, store: SecretStore, seen: Callable[[], None]) -> None:
        self._store = store
        self._seen = seen
        self.name = store.name

    def get(self, profile: str) -> bytes | None:
        return self._store.get(profile)

    def set(self, profile: str, secret: bytes, *, allow_prompt: bool = False) -> None:
        import hmac

        self._store.set(profile, secret, allow_prompt=allow_prompt)
        back = self._store.get(profile)
        if back is None or not hmac.compare_digest(back, secret):
            self._seen()
            raise SecretStoreDamaged(
                f"{self.name[:1].upper()}{self.name[1:]} did not give back what was written "
                f"to profile {profile}'s item."
            )

    def delete(self, profile: str, *, allow_prompt: bool = False) -> bool:
        return self._store.delete(profile, allow_prompt=allow_prompt)

    def probe(self) -> str:
        return self._store.probe()


class _ReadBackOpener(StoreOpener):
    """``stores`` whose stores check every write by reading it back (:class:`_ReadBack`)."""

    def __init__(self, stores: StoreOpener) -> None:
        super().__init__()
        self._stores = stores
        self.mismatch = False

    def _saw_mismatch(self) -> None:
        self.mismatch = True

    def __call__(self, backend: str) -> SecretStore:
        return _ReadBack(self._stores(backend), self._saw_mismatch)


# -- after a move to the keyring: what may still hold tokens in a file ----------------------


def leftovers(settings: Settings, names: list[str]) -> list[str]:
    """Files in the data directory that may hold tokens of profiles ``names`` though
    the token file does not: ``.corrupt-*`` copies of their token files, and files a
    save kept or an interrupted write left (:mod:`..storage.temp_files`) whose content
    is not a bare reservation. Sorted paths; reads only the first byte of each."""
    from ..storage.temp_files import scan

    directory = settings.data_dir
    targets = {os.path.basename(settings.with_profile(n).token_path) for n in names}
    found: list[str] = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return []
    for entry in entries:
        stem, marker, _ = entry.partition(".corrupt-")
        if marker and stem in targets:
            found.append(os.path.join(directory, entry))
    for temp in scan(directory):
        if temp.target_name in targets and _may_hold_data(temp.path):
            found.append(temp.path)
    return sorted(found)


def _may_hold_data(path: str) -> bool:
    """Whether a temporary file holds anything but a reservation's zeros."""
    try:
        with open(path, "rb") as handle:
            return handle.read(1) not in (b"", b"\0")
    except OSError:
        return False


def _name_leftovers(settings: Settings, names: list[str], reporter: Reporter) -> None:
    found = leftovers(settings, names)
    if found:
        reporter.warning(
            "These files under the data directory may still hold tokens in plain text "
            "(copies set aside or kept by earlier saves; the sign-in does not use them): "
            f"{', '.join(found)}. Delete them once you no longer need them."
        )


def _name_profiles_left_in_files(settings: Settings, names: list[str], reporter: Reporter) -> None:
    from ..profiles.listing import profile_names

    in_files = []
    for other in profile_names(settings):
        if other in names:
            continue
        try:
            present, location = token_store.stored_location(settings.with_profile(other).token_path)
        except ClaudeOAuthError:
            continue
        if present and location is None:
            in_files.append(other)
    if in_files:
        which = "its token file: profile" if len(in_files) == 1 else "their token files: profiles"
        reporter.info(
            f"Still in {which} {', '.join(in_files)} (--all-profiles moves every profile)."
        )


def _note_setting(settings: Settings, to: str, reporter: Reporter) -> None:
    try:
        value = settings.storage
    except ClaudeOAuthError as exc:
        reporter.warning(exc.reason)
        return
    if value == to:
        return
    where = "the OS keyring" if to == KEYRING else "their token file"
    reporter.info(
        f"This does not change the storage setting ({value}): new sign-ins follow it. "
        f"To keep new sign-ins in {where} too, set {STORAGE_VARIABLE}={to}."
    )
