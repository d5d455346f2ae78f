"""The active-profile file: which profile a command uses when none is named.

``<data dir>/claude_code_oauth.active_profile`` holds one profile name and a
newline. It is written atomically with mode 0600 (never half-written, never
readable by others even for an instant) and read without following a symlink.
A missing file means ``default``. A file that names no valid profile is a
one-line :class:`~claude_code_oauth.errors.ProfileError` that says how to fix it;
it never silently selects another account.

This module is on the ``token`` fast path: it imports ``os`` and the storage
helpers the token store already loaded.
"""

from __future__ import annotations

import os

from ..errors import ProfileError
from ..storage.secure_file import atomic_write, ensure_private_dir, read_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings

#: A profile name is at most 32 characters; a file larger than this is refused unread.
_MAX_BYTES = 256


def read_active_profile(path: str) -> str | None:
    """The profile named in ``path``; ``None`` when the file does not exist."""
    from ..config_rules import is_profile_name

    raw = read_bytes(path, ProfileError, max_bytes=_MAX_BYTES, oversize_hint=_SWITCH_HINT)
    if raw is None:
        return None
    name = raw.decode("utf-8", "replace").strip()
    if not is_profile_name(name):
        raise ProfileError(
            f"The active-profile file {path} does not hold a profile name.", hint=_SWITCH_HINT
        )
    return name


_SWITCH_HINT = "Choose one with `claude-code-oauth switch NAME` (or /claude-code-switch NAME)."


def write_active_profile(settings: Settings, name: str) -> str:
    """Record ``name`` as the active profile (atomic, 0600); returns the file's path.

    The caller checks that ``name`` is a valid, signed-in profile.
    """
    path = settings.active_profile_path
    ensure_private_dir(os.path.dirname(path), ProfileError)
    atomic_write(path, (name + "\n").encode("ascii"), mode=0o600, error_cls=ProfileError)
    return path


class ActiveProfileWatch:
    """The active profile, re-read only when the file changed (one ``stat`` a call).

    For code that asks on every request (a model entry that follows the active
    profile). A switch replaces the file atomically, so its inode changes and
    the next call sees the new name. Thread-safe: the file's identity and the
    name read from it are kept as one tuple, replaced in one assignment.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._state: tuple[tuple[int, int, int, int], str | None] | None = None

    def current(self) -> str | None:
        """The name in the file, ``None`` when there is none (``default`` applies)."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError:
            return read_active_profile(self.path)  # says why in one line
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        state = self._state
        if state is None or state[0] != key:
            state = self._state = (key, read_active_profile(self.path))
        return state[1]


def recorded_active_profile(settings: Settings) -> str:
    """The profile the active-profile file names, ``default`` without one (overrides
    such as ``--profile`` or ``CLAUDE_CODE_OAUTH_PROFILE`` are not considered)."""
    from ..config_rules import DEFAULT_PROFILE

    return read_active_profile(settings.active_profile_path) or DEFAULT_PROFILE
