"""The registered models (``models``, and the registration after a sign-in): discover
the account's models and register them (:func:`refresh_models`), or list what is
registered and which profile serves each (:func:`registered_lines`).

Registration changes nothing on failure (a named
:class:`~claude_code_oauth.errors.ClaudeOAuthError`); entries this tool did not
write are never touched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..hints import CLI_HINTS, Hints
from ..tokens.api_key import ApiKeyRecord
from .reporter import Reporter

if TYPE_CHECKING:
    from ..models.registry import RegistryChange


def refresh_models(settings: Settings, reporter: Reporter, *, pin: bool = False) -> RegistryChange:
    """Discover the account's models and register them; nothing changes on failure.
    A Console sign-in discovers them with its API key and registers entries of the
    API-key model type.

    Without ``pin`` the entries that follow the active profile
    (``claude-code-<model>``) are made the account's models; with ``pin`` the
    entries pinned to ``settings.profile`` (``claude-code-<profile>-<model>``).
    """
    from ..models.discovery import discover_models
    from ..models.registry import register_models
    from ..tokens import store as token_store
    from ..tokens.keyring_item import StoreOpener
    from ..tokens.provider import provider_for

    record = token_store.load_sign_in(settings.token_path, stores=StoreOpener(settings=settings))
    api_key = isinstance(record, ApiKeyRecord)
    if isinstance(record, ApiKeyRecord):
        models = discover_models(settings, api_key=record.api_key)
    else:
        models = discover_models(settings, provider_for(settings))
    pinned = settings.profile if pin else None
    change = register_models(settings, models, pinned=pinned, api_key=api_key)
    registered = change.registered
    if not models:
        reporter.warning("The account offers no models; nothing was registered.")
    else:
        to = f" pinned to profile {pinned}" if pinned else ""
        reporter.success(
            f"Registered {len(registered)} model(s){to} in {change.path}: {', '.join(registered)}"
        )
    if change.removed:
        reporter.info(f"Removed {len(change.removed)} model(s) the account no longer offers.")
    for key in change.collisions:
        reporter.warning(
            f"{key} is already an entry in {change.path} (hand-written, or another "
            "profile's); it was left unchanged."
        )
    return change


def registered_entries(settings: Settings) -> dict[str, Any]:
    """The entries this tool registered, by name (what ``models --json`` prints)."""
    from ..models.registry import registered_models

    return registered_models(settings)


def registered_lines(
    settings: Settings, entries: dict[str, Any], *, hints: Hints = CLI_HINTS
) -> list[str]:
    """One line per entry (``key  (name, N tokens; served by)``); none registered: what
    to do (register the models, or sign in first when there is no sign-in to use)."""
    from ..models.registry import pinned_profile

    lines = []
    if not entries:
        import os

        if os.path.lexists(settings.token_path):
            lines.append(f"No Claude models are registered. Run {hints.refresh_models()}.")
        else:  # refreshing would only say "not signed in"
            lines.append(f"No Claude models are registered. Sign in with {hints.login()}.")
    for key, entry in entries.items():
        length = entry.get("context_length")
        pinned = pinned_profile(entry)
        served = f"profile {pinned}" if pinned else "the active profile"
        name = entry.get("display_name", entry.get("name", ""))
        lines.append(f"{key}  ({name}, {length} tokens; {served})")
    return lines
