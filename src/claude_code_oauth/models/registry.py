"""Our entries in Code Puppy's ``extra_models.json``, and nothing else.

Code Puppy merges ``<data dir>/extra_models.json`` (a JSON object: model name →
model settings) into its model list. The file is shared with the user and with
Code Puppy itself, so this module only ever touches entries that carry our
marker (``"oauth_source": OAUTH_SOURCE``). Every byte outside our own entries
stays as it was — other entries as written (spacing, number spelling, escapes,
nested key order), the blanks and commas between them, the blanks after ``{``
and before ``}``, a byte-order mark and what follows the object — so a login
and a logout leave the file exactly as it was (see
:mod:`~claude_code_oauth.models.json_members` for how an entry's comma goes
with it). The one exception: an object left with no entries at all is written
``{}``.

What callers can rely on:

* Read-modify-write happens under a cross-process lock
  (``<models file>.lock``), so concurrent ``claude-code-oauth`` processes never
  lose each other's changes. Writers that do not take the lock (Code Puppy, an
  editor) are outside that promise; the atomic replace at least means every
  reader always sees a complete, valid file.
* The file is replaced atomically (never half-written) and keeps its
  permission bits; a new file is created 0600 because users may later add
  entries with literal API keys for other endpoints.
* A file that is not valid JSON, not a JSON object, or has duplicate keys
  (which a rewrite could not reproduce) is never written: the error names the
  file and, for a syntax error, the line and column.
* A symlink at the models path is refused, not followed.
* Nothing is written when the content would not change.
* Ordering: a marked entry that is still wanted keeps its position (updated in
  place if its settings changed); stale marked entries are removed; new
  entries are appended at the end in the order given.
* A user entry (without our marker) whose key equals one of ours is left alone
  and reported in :attr:`RegistryChange.collisions`.
* An entry's ``context_length`` is what the API reports (:func:`context_length`),
  and is only ever lowered afterwards (:func:`lower_context_length`).
* Our entries come in groups: those that follow the active profile
  (``claude-code-<model>``) and, per profile, those pinned to it
  (``claude-code-<profile>-<model>``, carrying ``"oauth_profile": "<profile>"``).
  Registering or unregistering one group leaves every other group exactly as
  it is, as if it were foreign.

Callers discover models first and register afterwards: the lock is never held
across the network.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ModelsFileError
from ..storage import secure_file
from ..storage.file_lock import file_lock, held
from .json_members import DuplicateKey, JsonObject, Member, generated, parse_object, render_object

if TYPE_CHECKING:
    from ..config import Settings
    from .discovery import DiscoveredModel

#: Marker that identifies the entries this package owns.
OAUTH_SOURCE = "claude-code-plugin"

#: The Code Puppy model type of entries registered from an OAuth (subscription) sign-in.
MODEL_TYPE = "claude_code_oauth_pkce"
#: The model type of entries registered from a Console sign-in (an API key): it sends
#: ``x-api-key``, never an OAuth header. Both types serve whichever credential the
#: profile behind the request holds.
API_KEY_MODEL_TYPE = "claude_code_oauth_api_key"
#: Every model type our adapter registers.
MODEL_TYPES = (MODEL_TYPE, API_KEY_MODEL_TYPE)

#: The field naming the profile an entry is pinned to (absent: it follows the active one).
PROFILE_FIELD = "oauth_profile"

#: Mode of a newly created models file (an existing file keeps its own).
NEW_FILE_MODE = 0o600


@dataclass(frozen=True)
class RegistryChange:
    """What a register/unregister call did.

    Key lists are in file order (``added`` in the order given). ``kept`` are our
    entries left exactly as they were, ``updated`` ours whose settings changed in
    place, ``collisions`` user entries we did not overwrite. ``written`` is False
    when the file already had the wanted content (or did not exist for unregister).
    """

    path: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    collisions: tuple[str, ...] = ()
    written: bool = False

    @property
    def registered(self) -> list[str]:
        """Our entries now in the file: kept, updated, then added."""
        return [*self.kept, *self.updated, *self.added]


def is_ours(value: Any) -> bool:
    """True for an entry this package registered (a dict carrying our marker)."""
    return isinstance(value, dict) and value.get("oauth_source") == OAUTH_SOURCE


def pinned_profile(value: Any) -> str | None:
    """The profile an entry of ours is pinned to; ``None`` when it follows the active one."""
    if isinstance(value, dict):
        name = value.get(PROFILE_FIELD)
        if isinstance(name, str) and name:
            return name
    return None


def model_key(settings: Settings, model: DiscoveredModel, pinned: str | None = None) -> str:
    """The models-file key of ``model``: the prefix, the pinned profile and ``-`` if any,
    then the model id (``claude-code-work-claude-sonnet-4-5``)."""
    return settings.prefix + (f"{pinned}-" if pinned else "") + model.id


def context_length(settings: Settings, model: DiscoveredModel) -> int:
    """The ``context_length`` registered for ``model``: the input limit the API reports
    for it, else ``default_context_length`` (200 000, the window every current Claude
    model accepts without a beta). Never more than the API says: a larger figure would
    let the host grow a conversation Claude refuses. (An account Claude then refuses
    the 1M-token context is lowered to 200 000 on its first request: see
    :mod:`.long_context`.)"""
    return model.max_input_tokens or settings.default_context_length


def model_entry(
    settings: Settings, model: DiscoveredModel, pinned: str | None = None, *, api_key: bool = False
) -> dict[str, Any]:
    """The entry for ``model``. Its ``api_key`` is a ``$VARIABLE`` reference, never a token
    (our model type ignores it and takes the profile's token itself). With ``api_key``
    (models of a Console sign-in) the entry has :data:`API_KEY_MODEL_TYPE` and no
    ``api_key`` member at all: the key stays in the profile's file."""
    endpoint = {"url": settings.api_base_url}
    if not api_key:
        endpoint["api_key"] = "$" + settings.api_key_env_var
    entry: dict[str, Any] = {
        "type": API_KEY_MODEL_TYPE if api_key else MODEL_TYPE,
        "name": model.id,
        "display_name": model.display_name + (f" ({pinned})" if pinned else ""),
        "custom_endpoint": endpoint,
        "context_length": context_length(settings, model),
        "oauth_source": OAUTH_SOURCE,
    }
    if pinned:
        entry[PROFILE_FIELD] = pinned
    return entry


# -- reading and writing ------------------------------------------------------------


def _parse(path: str, raw: bytes) -> JsonObject:
    unchanged = "it was left unchanged"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelsFileError(
            f"{path} is not valid UTF-8 (byte {exc.start}); {unchanged}.",
            hint="Fix or remove the file, then run the command again.",
        ) from None
    if not text.strip():
        # An empty file holds nothing that a rewrite could lose.
        return JsonObject([])
    try:
        return parse_object(text)
    except json.JSONDecodeError as exc:
        raise ModelsFileError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno};"
            f" {unchanged}.",
            hint="Fix or remove the file, then run the command again.",
        ) from None
    except DuplicateKey as exc:
        # json.loads would silently keep only the last one; a rewrite would then
        # drop data the user can still see in the file.
        raise ModelsFileError(
            f"{path} has the key {exc.key[:80]!r} more than once; {unchanged}.",
            hint="Remove the duplicate, then run the command again.",
        ) from None
    except TypeError as exc:
        raise ModelsFileError(
            f"{path} must hold a JSON object (model name → settings), not a {exc}; {unchanged}."
        ) from None
    except RecursionError:
        raise ModelsFileError(f"{path} is nested too deeply to read; {unchanged}.") from None


def _read(path: str) -> tuple[JsonObject, bytes | None]:
    try:
        raw = secure_file.read_bytes(path, ModelsFileError)
    except OSError as exc:
        raise ModelsFileError(f"Cannot read {path}: {exc.strerror}.") from None
    if raw is None:
        return JsonObject([]), None
    return _parse(path, raw), raw


def _apply(
    settings: Settings,
    wanted: dict[str, dict[str, Any]],
    *,
    create: bool,
    mine: Callable[[Any], bool] = is_ours,
) -> RegistryChange:
    """Make the entries ``mine`` accepts exactly ``wanted`` (under the lock); every other
    entry, ours or not, is kept as written."""
    path = settings.models_path
    if not create and not os.path.lexists(path):
        # Nothing to remove: do not create the directory, the lock or the file.
        return RegistryChange(path=path)
    secure_file.ensure_private_dir(settings.data_dir, ModelsFileError)
    with held(file_lock(path + ".lock", settings.lock_timeout), path):
        document, raw = _read(path)
        added: list[str] = []
        removed: list[str] = []
        kept: list[str] = []
        updated: list[str] = []
        collisions: list[str] = []
        result: list[Member] = []
        present: set[str] = set()
        for member in document.members:
            key, value = member.key, member.value
            if not mine(value):
                result.append(member)  # foreign, or another group of ours: kept as written
                if key in wanted:
                    collisions.append(key)
            elif key in wanted:
                same = value == wanted[key]
                result.append(member if same else member.replaced_by(generated(key, wanted[key])))
                (kept if same else updated).append(key)
            else:
                removed.append(key)
                continue
            present.add(key)
        for key, value in wanted.items():
            if key not in present:
                result.append(generated(key, value))
                added.append(key)
        change = RegistryChange(
            path=path,
            added=tuple(added),
            removed=tuple(removed),
            kept=tuple(kept),
            updated=tuple(updated),
            collisions=tuple(collisions),
        )
        if raw is None and not result:
            return change  # never create a file just to hold {}
        if raw is not None and not (added or removed or updated):
            # Nothing of ours changes: leave the file exactly as it is.
            return change
        _write(path, document, result, raw)
        return replace(change, written=True)


def _write(path: str, document: JsonObject, members: list[Member], raw: bytes | None) -> None:
    """Write ``members`` in ``document``'s layout, atomically, keeping the file's mode
    and byte-order mark (under the caller's lock)."""
    data = render_object(document, members).encode("utf-8")
    if raw is not None and raw.startswith(codecs.BOM_UTF8):
        data = codecs.BOM_UTF8 + data  # the user's byte-order mark stays too
    mode = secure_file.file_mode(path)
    secure_file.atomic_write(
        path,
        data,
        mode=NEW_FILE_MODE if mode is None else mode,
        error_cls=ModelsFileError,
    )


# -- public API ---------------------------------------------------------------------


def in_groups(groups: Iterable[str | None]) -> Callable[[Any], bool]:
    """Accepts our entries pinned to one of ``groups`` (``None``: the unpinned ones)."""
    chosen = frozenset(groups)
    return lambda value: is_ours(value) and pinned_profile(value) in chosen


def register_models(
    settings: Settings,
    models: Iterable[DiscoveredModel],
    *,
    pinned: str | None = None,
    api_key: bool = False,
) -> RegistryChange:
    """Make one group of our entries exactly ``models`` (first of a repeated id wins):
    the entries that follow the active profile, or with ``pinned`` those pinned to it.

    Stale entries of the group are removed; other groups and user entries are never
    touched. An empty ``models`` removes the whole group. ``api_key``: the models of a
    Console sign-in (entries of :data:`API_KEY_MODEL_TYPE`). Raises
    :class:`ModelsFileError` (file unusable; left unchanged) or :class:`LockTimeout`.
    """
    wanted: dict[str, dict[str, Any]] = {}
    for model in models:
        wanted.setdefault(
            model_key(settings, model, pinned),
            model_entry(settings, model, pinned, api_key=api_key),
        )
    return _apply(settings, wanted, create=True, mine=in_groups([pinned]))


def unregister_models(
    settings: Settings, groups: Iterable[str | None] | None = None
) -> RegistryChange:
    """Remove our entries of ``groups`` (profile names; ``None`` in it: the unpinned
    entries), or every entry of ours when ``groups`` is ``None``. A missing file
    stays missing (nothing is created)."""
    mine = is_ours if groups is None else in_groups(groups)
    return _apply(settings, {}, create=False, mine=mine)


def registered_models(settings: Settings) -> dict[str, dict[str, Any]]:
    """Our entries currently in the models file, in file order (read-only, no lock).

    A missing file gives ``{}``; an unusable one raises :class:`ModelsFileError`.
    """
    document, _ = _read(settings.models_path)
    return {m.key: m.value for m in document.members if is_ours(m.value)}


def lower_context_length(settings: Settings, key: str, length: int) -> bool:
    """Lower the ``context_length`` of our entry ``key`` to ``length`` (never raise it);
    every other byte of the file stays. Returns whether the file changed: ``False``
    when ``key`` is not ours, is gone, or is already at or below ``length``. Raises
    :class:`ModelsFileError` or :class:`LockTimeout` like the other writers."""
    path = settings.models_path
    if not os.path.lexists(path):
        return False
    with held(file_lock(path + ".lock", settings.lock_timeout), path):
        document, raw = _read(path)
        members = list(document.members)
        for index, member in enumerate(members):
            value = member.value
            if member.key != key or not is_ours(value):
                continue
            current = value.get("context_length")
            if isinstance(current, int) and not isinstance(current, bool) and current <= length:
                return False
            members[index] = member.replaced_by(generated(key, {**value, "context_length": length}))
            _write(path, document, members, raw)
            return True
    return False
