"""Where a new sign-in's secrets go under the ``storage`` setting: decided once per
sign-in, before the browser opens, and for ``auto`` told to the user once.

What a caller may rely on:

* :func:`choose` returns a :class:`StorageChoice` whose ``target`` is what
  :func:`~.store.save` takes as ``secrets`` (:data:`~.keyring_item.IN_FILE` or a
  :class:`~.keyring_item.KeyringTarget`):

  - ``file``: the file; no keyring call.
  - ``keyring``: this system's keyring. Its probe (within ``keyring_timeout``) failing
    — no session bus, no Secret Service, no answer in time — is raised now, one line
    (:func:`~.keyring_item.check_keyring`); a locked keyring passes (the save asks the
    user to unlock it).
  - ``auto``: the keyring when its probe answers within ``keyring_timeout`` and it is
    unlocked; otherwise the file, never an error. With the Secret Service and no
    session bus there is no attempt at all (no socket, no wait). A **locked** keyring
    means the file: on a headless box whose login keyring nobody unlocks, a keyring
    sign-in would fail at every refresh (reads never prompt), while the file works;
    the user is told, and ``storage = keyring`` is there for whoever wants the
    keyring regardless.

* :attr:`StorageChoice.notice` is, for ``auto`` only, the one line that says which
  store was chosen (and why not the keyring), or ``None`` when that same choice was
  already told. :meth:`StorageChoice.told` remembers it (in
  ``<data dir>/<stem>.default.storage-auto.json``; call it once the sign-in is saved),
  so later sign-ins say nothing — until ``auto`` chooses differently: a change is
  told again, so credentials never move to the file unannounced. Remembering is best
  effort: a file that cannot be written only means the line is said again.
"""

from __future__ import annotations

import json

from ..config_rules import DEFAULT_PROFILE
from ..errors import SecretStoreError
from .keyring_item import IN_FILE, KeyringTarget, StoreOpener, check_keyring, target_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings

#: The side-file kind (:meth:`~claude_code_oauth.config.Settings.side_path`) that
#: remembers which choice of ``auto`` was told.
TOLD_KIND = "storage-auto"


class StorageChoice:
    """Where this sign-in's secrets go (``target``), and what to tell the user;
    ``label`` names the keyring for people (``None``: the file)."""

    __slots__ = ("_memo", "key", "label", "notice", "target")

    def __init__(
        self,
        target: KeyringTarget | str,
        *,
        notice: str | None = None,
        key: str | None = None,
        memo: str | None = None,
    ) -> None:
        self.target = target
        self.label: str | None = None
        if isinstance(target, KeyringTarget):
            from ..secret_store.choose import describe

            self.label = describe(target.store)
        self.notice = notice
        self.key = key
        self._memo = memo

    def told(self) -> None:
        """Remember that :attr:`notice` was said (nothing to do without one)."""
        if self.notice is None or self._memo is None or self.key is None:
            return
        from ..storage.secure_file import atomic_write

        data = (json.dumps({"told": self.key}) + "\n").encode("utf-8")
        try:
            atomic_write(self._memo, data)  # mode 0600
        except Exception:  # best effort: the line is said again next time
            return


def choose(settings: Settings) -> StorageChoice:
    """Where a new sign-in to ``settings``' profile keeps its secrets (see the module
    docstring); raises only for ``storage = keyring`` (the keyring's one-line error)."""
    mode = settings.storage
    if mode == "keyring":
        check_keyring(settings)
        return StorageChoice(target_for(settings))
    if mode != "auto":
        return StorageChoice(IN_FILE)
    from ..secret_store.choose import backend_for, describe

    backend = backend_for()
    label = describe(backend)
    why = _unusable(settings, backend)
    memo = settings.with_profile(DEFAULT_PROFILE).side_path(TOLD_KIND)
    if why is None:
        target: KeyringTarget | str = KeyringTarget(backend, settings.profile, allow_prompt=True)
        key = f"keyring:{backend}"
        text = (
            f"storage = auto: this sign-in's credentials are kept in the {label}, which "
            "answered; `status` shows where each profile's are (said once)."
        )
    else:
        target, key = IN_FILE, "file"
        text = (
            f"storage = auto: this sign-in's credentials are kept in the file "
            f"{settings.token_path} (mode 0600), not the {label}: {why} "
            "(said once; `doctor` checks the keyring, `storage = keyring` insists on it)."
        )
    notice = None if _told(memo) == key else text
    return StorageChoice(target, notice=notice, key=key, memo=memo)


def _unusable(settings: Settings, backend: str) -> str | None:
    """Why ``auto`` keeps the file (one sentence ending in a full stop), or ``None``
    when the keyring answered in time, unlocked."""
    if backend == "secret-service":
        from ..secret_store.dbus_connection import session_bus_address

        if session_bus_address(settings.environ) is None:
            return "there is no session bus here."
    try:
        StoreOpener(settings=settings)(backend).probe()
    except SecretStoreError as exc:
        return exc.reason
    return None


def _told(path: str) -> object:
    """The choice last told, from ``path`` (``None``: none, or unreadable; compared
    with a choice's key, so any value that is not one means "not told")."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(4096))
    except (OSError, ValueError):
        return None
    return data.get("told") if isinstance(data, dict) else None
