"""A sign-in split between its token file and one OS keyring item.

With the secrets in the keyring, a profile's token file keeps what is not secret
(expiry, account, scope, usage bookkeeping) plus one member, ``secrets``, saying
where the secrets live: ``{"store": <backend>, "item": <profile>, "generation": N}``.
The keyring item holds the secrets as one small JSON value:

* an OAuth login — ``{"v": 1, "kind": "oauth", "access_token", "refresh_token",
  "expires_at", "generation"}``;
* a Console sign-in — ``{"v": 1, "kind": "api_key", "api_key", "generation"}``.

What a caller may rely on:

* :func:`split` turns a record's stored form (``record.to_json()``) into the file's
  form, with no secret in it, and the item's bytes; :func:`merge` turns them back
  into the stored form :func:`~.stored_form.from_data` reads. ``split`` then ``merge``
  gives back the same stored form (the round trip loses nothing).
* The generation grows by one at every save. The item is written before the file,
  so when a process dies between the two the item is the newer: :func:`merge` takes
  the tokens *and* ``expires_at`` from the item, whatever the file says, and the next
  save repairs the file.
* :func:`location_of` reads the ``secrets`` member (``None`` for a file that holds
  its own secrets, as every file did before); a malformed one, and an item that is
  not what :func:`split` writes, raise ``ValueError`` naming what is wrong, never
  showing a secret.
* :class:`StoreOpener` opens each store once with the configured deadline;
  :func:`next_location`, :func:`write_item`, :func:`with_secrets` and
  :func:`delete_item` are what :mod:`.store` does with an item (under the token
  lock, item before file); :func:`target_for` and :func:`check_keyring` are what a
  login does with the ``storage`` setting (where to save; ask before the browser).

On the ``token`` fast path: imports only ``json`` (the store is imported when an
item is read).
"""

from __future__ import annotations

import json

from .api_key import KIND as API_KEY_KIND

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from ..config import Settings
    from ..secret_store.interface import SecretStore

#: The version of the item's JSON value.
ITEM_VERSION = 1
#: The file member that says where the secrets live.
SECRETS = "secrets"
#: The item's kind for an OAuth login, and for a Console sign-in (whose file's kind
#: is :data:`~.api_key.KIND`).
OAUTH_KIND = "oauth"
KEY_KIND = "api_key"
#: What each kind keeps in the item (and only there, but ``expires_at``).
ITEM_FIELDS = {
    OAUTH_KIND: ("access_token", "refresh_token", "expires_at"),
    KEY_KIND: ("api_key",),
}
#: Fields of the item that are secrets: never in the file.
SECRET_FIELDS = frozenset({"access_token", "refresh_token", "api_key"})
#: The stores a ``secrets`` member may name (the backends of :mod:`..secret_store.choose`).
STORES = ("secret-service", "keyring-library")
#: Generations are counted up to this; far past any number of saves a login sees.
MAX_GENERATION = 2**53


class Location:
    """Where a profile's secrets live: ``store`` (a backend name), ``item`` (the
    item's profile name in that store) and the ``generation`` last written."""

    __slots__ = ("generation", "item", "store")

    def __init__(self, store: str, item: str, generation: int) -> None:
        self.store = store
        self.item = item
        self.generation = generation

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "item": self.item, "generation": self.generation}

    def next(self) -> Location:
        """The same place, one save later."""
        return Location(self.store, self.item, self.generation + 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self.to_json() == other.to_json()

    # Unhashable (no caller keys anything by a location): defining __eq__ without
    # __hash__ sets __hash__ to None.

    def __repr__(self) -> str:
        return f"<Location {self.store} item={self.item} generation={self.generation}>"


def _generation(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 < value <= MAX_GENERATION else None


def location_of(data: object) -> Location | None:
    """The ``secrets`` member of a token file's stored form, or ``None`` when the file
    holds its own secrets; ``ValueError`` when the member is malformed."""
    if not isinstance(data, dict) or SECRETS not in data:
        return None
    member = data[SECRETS]
    if not isinstance(member, dict):
        raise ValueError(f"{SECRETS} is not a JSON object")
    store, item = member.get("store"), member.get("item")
    if store not in STORES:
        raise ValueError(f"{SECRETS}.store names no known keyring")
    from ..config_rules import is_profile_name

    if not isinstance(item, str) or not is_profile_name(item):
        raise ValueError(f"{SECRETS}.item is not a profile name")
    generation = _generation(member.get("generation"))
    if generation is None:
        raise ValueError(f"{SECRETS}.generation is not a positive whole number")
    return Location(str(store), item, generation)


def _kind(data: Mapping[str, Any]) -> str:
    """The item kind of the sign-in whose stored (or file) form is ``data``."""
    return KEY_KIND if data.get("kind") == API_KEY_KIND else OAUTH_KIND


def split(stored: Mapping[str, Any], location: Location) -> tuple[dict[str, Any], bytes]:
    """``stored`` (a record's ``to_json()``) as the file's form without its secrets,
    naming ``location``, and the item's bytes (with ``location``'s generation)."""
    kind = _kind(stored)
    item: dict[str, Any] = {"v": ITEM_VERSION, "kind": kind}
    item.update((key, stored.get(key)) for key in ITEM_FIELDS[kind])
    item["generation"] = location.generation
    file_form = {k: v for k, v in stored.items() if k not in SECRET_FIELDS and k != SECRETS}
    file_form[SECRETS] = location.to_json()
    return file_form, json.dumps(item, allow_nan=False, separators=(",", ":")).encode("utf-8")


def parse_item(raw: bytes, kind: str) -> dict[str, Any]:
    """The item's value, checked to be of ``kind``; ``ValueError`` naming what is wrong."""
    try:
        item = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ValueError("it is not JSON") from None
    if not isinstance(item, dict) or item.get("v") != ITEM_VERSION:
        raise ValueError(f"it is not a version {ITEM_VERSION} item")
    if item.get("kind") != kind:
        raise ValueError(f"it holds {str(item.get('kind'))[:20]!r} secrets, the file {kind!r}")
    if _generation(item.get("generation")) is None:
        raise ValueError("its generation is not a positive whole number")
    return item


def merge(file_form: Mapping[str, Any], raw_item: bytes) -> dict[str, Any]:
    """The stored form of the sign-in whose file form is ``file_form`` and whose item
    holds ``raw_item``: the item's fields win (they were written first)."""
    kind = _kind(file_form)
    item = parse_item(raw_item, kind)
    data = {k: v for k, v in file_form.items() if k != SECRETS}
    for key in ITEM_FIELDS[kind]:
        if key in item:
            data[key] = item[key]
    return data


def item_generation(raw_item: bytes, stored: Mapping[str, Any]) -> int:
    """The generation written in the item of the sign-in whose stored (or file) form is
    ``stored`` (``ValueError`` when the item is not one of its kind)."""
    generation = _generation(parse_item(raw_item, _kind(stored)).get("generation"))
    assert generation is not None  # parse_item checked it
    return generation


class StoreOpener:
    """Opens the store a :class:`Location` names, once per backend, with ``timeout``
    seconds per call and ``environ`` (the process environment by default) — or, with
    ``settings``, its ``keyring_timeout`` and environment, read at the first open (so
    a bad ``keyring_timeout`` troubles only a sign-in that uses the keyring).

    With ``remember``, :meth:`read_item` keeps the last item it read and hands it out
    again, with no keyring call, while the token file naming it is the same file
    (inode, modification time, size) at the same generation: what a long-lived
    process reads before every request (a model request in Code Puppy) then costs no
    keyring call, and a keyring that went away does not stop a token that is still
    good. Any save replaces the file, so the next read asks the keyring again. Only
    for reads outside the token lock: a refresh reads the item afresh."""

    def __init__(
        self,
        timeout: float | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        settings: Settings | None = None,
        remember: bool = False,
    ) -> None:
        self.timeout = timeout
        self.environ = environ
        self._settings = settings
        self._open: dict[str, SecretStore] = {}
        self._remember = remember
        self._remembered: tuple[tuple[object, ...], bytes] | None = None

    def read_item(self, path: str, location: Location) -> bytes | None:
        """The raw item ``location`` names (``None``: missing) for the token file at
        ``path``; remembered as the class says when asked to."""
        key: tuple[object, ...] | None = None
        if self._remember:
            import os

            try:
                info = os.stat(path)
            except OSError:
                pass
            else:
                key = (location.store, location.item, location.generation, info.st_ino)
                key += (info.st_mtime_ns, info.st_size)
                remembered = self._remembered
                if remembered is not None and remembered[0] == key:
                    return remembered[1]
        raw = self(location.store).get(location.item)
        if key is not None and raw is not None:
            self._remembered = (key, raw)
        return raw

    def __call__(self, backend: str) -> SecretStore:
        store = self._open.get(backend)
        if store is None:
            from ..secret_store.choose import open_secret_store
            from ..secret_store.interface import DEFAULT_TIMEOUT

            timeout, environ = self.timeout, self.environ
            if self._settings is not None:
                timeout, environ = self._settings.keyring_timeout, self._settings.environ
            timeout = DEFAULT_TIMEOUT if timeout is None else timeout
            store = open_secret_store(backend, timeout=timeout, environ=environ)
            self._open[backend] = store
        return store


# -- what the token store does with them ---------------------------------------------------

#: ``save(…, secrets=IN_FILE)``: the secrets go into the file, wherever they were.
IN_FILE = "file"


class KeyringTarget:
    """``save(…, secrets=KeyringTarget(…))``: the secrets go to item ``item`` of the
    keyring ``store`` (a backend name of :mod:`..secret_store.choose`, never
    ``auto``); ``allow_prompt`` lets that write ask the user to unlock the keyring."""

    __slots__ = ("allow_prompt", "item", "store")

    def __init__(self, store: str, item: str, *, allow_prompt: bool = False) -> None:
        self.store = store
        self.item = item
        self.allow_prompt = allow_prompt


def target_for(settings: Settings) -> KeyringTarget | str:
    """Where a new sign-in's secrets go under the ``storage`` setting: the profile's
    item in this system's keyring for ``keyring`` (the write may prompt to unlock),
    else :data:`IN_FILE` (``auto`` too: its probe and choice are
    :func:`.storage_choice.choose`'s, which a login uses instead of this)."""
    if settings.storage == "keyring":
        from ..secret_store.choose import backend_for

        return KeyringTarget(backend_for(), settings.profile, allow_prompt=True)
    return IN_FILE


def check_keyring(settings: Settings) -> None:
    """Before a sign-in under ``storage = keyring``: raise the keyring's one-line
    :class:`~claude_code_oauth.errors.SecretStoreError` now (no session bus, no
    Secret Service, no answer in time) rather than after the code is spent. A locked
    keyring passes: the save asks the user to unlock it."""
    import contextlib

    from ..errors import SecretStoreLocked

    target = target_for(settings)
    if not isinstance(target, KeyringTarget):
        return
    with contextlib.suppress(SecretStoreLocked):
        StoreOpener(settings=settings)(target.store).probe()


def next_location(
    previous: Location | None, secrets: KeyringTarget | str | None
) -> Location | None:
    """Where a save puts the secrets (``None``: in the file), given where the file it
    replaces had them (``previous``) and what the caller asked (``secrets``: ``None``
    for wherever they were, :data:`IN_FILE`, or a :class:`KeyringTarget`)."""
    if secrets == IN_FILE:
        return None
    if secrets is None:
        return None if previous is None else previous.next()
    assert isinstance(secrets, KeyringTarget)
    if previous is not None and (previous.store, previous.item) == (secrets.store, secrets.item):
        return previous.next()
    return Location(secrets.store, secrets.item, 1)


def write_item(
    location: Location,
    item: bytes,
    secrets: KeyringTarget | str | None,
    stores: StoreOpener | None,
) -> None:
    """Write ``item`` at ``location``, prompting only if the :class:`KeyringTarget`
    allows it; a failure is the store's one-line
    :class:`~claude_code_oauth.errors.SecretStoreError`."""
    store = (stores or StoreOpener())(location.store)
    allow_prompt = isinstance(secrets, KeyringTarget) and secrets.allow_prompt
    store.set(location.item, item, allow_prompt=allow_prompt)


def delete_item(location: Location, stores: StoreOpener | None) -> bool:
    """Remove the item at ``location`` (the user may be asked to unlock the keyring);
    ``True`` if there was one. A failure is the store's one-line error."""
    store = (stores or StoreOpener())(location.store)
    return store.delete(location.item, allow_prompt=True)


def with_secrets(
    path: str, data: object, location: Location, stores: StoreOpener | None, hint: str
) -> dict[str, Any]:
    """``data`` (the file form at ``path``, naming ``location``) with the secrets of its
    item: one read through ``stores`` (the default deadline and environment when
    ``None``). A missing or damaged item is
    :class:`~claude_code_oauth.errors.SecretStoreDamaged` naming the profile and the
    store (with ``hint``). ``location.generation`` becomes the newer of the file's and
    the item's."""
    from ..errors import SecretStoreDamaged

    opener = stores or StoreOpener()
    store = opener(location.store)
    raw_item = opener.read_item(path, location)
    assert isinstance(data, dict)  # location_of found a member in it
    if raw_item is None:
        raise SecretStoreDamaged(
            f"The keyring item of profile {location.item} that {path} names is missing "
            f"from {store.name}.",
            hint=hint,
        )
    try:
        merged = merge(data, raw_item)
        # A process that died between the item and the file left the item a save
        # ahead: the next save counts on from the newer of the two.
        location.generation = max(location.generation, item_generation(raw_item, merged))
    except ValueError as exc:
        raise SecretStoreDamaged(
            f"The keyring item of profile {location.item} in {store.name} is damaged: {exc}.",
            hint=hint,
        ) from None
    return merged
