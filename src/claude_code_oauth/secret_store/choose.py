"""Which secret store serves this system: one factory, small strategies behind it.

:func:`open_secret_store` returns a :class:`~.interface.SecretStore` without touching
the keyring (no connection, no import of ``keyring``): the first call does that, within
its deadline. ``backend``:

* ``"auto"`` (the default) — the macOS Keychain or Windows Credential Manager through
  the ``keyring`` library on those systems; the Secret Service, spoken directly over
  D-Bus, everywhere else (Linux, the BSDs).
* ``"secret-service"`` — :class:`~.secret_service.SecretServiceStore`.
* ``"keyring-library"`` — :class:`~.keyring_library.KeyringLibraryStore` (also usable on
  Linux, where ``keyring`` picks its own backend).

An unknown name raises ``ValueError`` (a programming error: the setting that chooses
it is checked where it is read).
"""

from __future__ import annotations

import sys

from .interface import DEFAULT_PROMPT_TIMEOUT, DEFAULT_TIMEOUT, SecretStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

BACKENDS = ("auto", "secret-service", "keyring-library")


def backend_for(platform: str | None = None) -> str:
    """The backend ``"auto"`` means on ``platform`` (``sys.platform`` by default)."""
    platform = sys.platform if platform is None else platform
    if platform == "darwin" or platform.startswith("win"):
        return "keyring-library"
    return "secret-service"


#: What the user is told each backend is (``status``, ``doctor``, the login).
_LABELS = {
    "darwin": "OS keyring (macOS Keychain)",
    "win": "OS keyring (Windows Credential Manager)",
}


def describe(backend: str, platform: str | None = None) -> str:
    """``OS keyring (Secret Service)`` and the like: the store ``backend`` names, for
    people (no connection made, nothing imported)."""
    if backend == "auto":
        backend = backend_for(platform)
    if backend == "secret-service":
        return "OS keyring (Secret Service)"
    platform = sys.platform if platform is None else platform
    key = "win" if platform.startswith("win") else platform
    return _LABELS.get(key, "OS keyring (keyring library)")


def open_secret_store(
    backend: str = "auto",
    *,
    timeout: float = DEFAULT_TIMEOUT,
    prompt_timeout: float = DEFAULT_PROMPT_TIMEOUT,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> SecretStore:
    if backend not in BACKENDS:
        raise ValueError(f"unknown secret store backend {backend!r}")
    if backend == "auto":
        backend = backend_for(platform)
    if backend == "secret-service":
        from .secret_service import SecretServiceStore

        return SecretServiceStore(timeout=timeout, prompt_timeout=prompt_timeout, environ=environ)
    from .keyring_library import KeyringLibraryStore, platform_store_name

    return KeyringLibraryStore(timeout=timeout, name=platform_store_name(platform))
