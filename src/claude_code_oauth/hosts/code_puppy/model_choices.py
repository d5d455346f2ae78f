"""Code Puppy's per-model settings that change our requests: ``fast`` and
``interleaved_thinking`` (the keys Code Puppy's bundled Claude plugin uses), and
``/claude-code-fast``, which toggles ``fast`` for the selected model.

Code Puppy keeps per-model settings in ``puppy.cfg`` as
``model_settings_<model>_<key>``. :func:`choices_for` reads them for our model
before each request — re-parsed only when the file changed (one ``stat`` per
request otherwise: Code Puppy 0.0.716 parses the whole file on every read) — and
never fails a request: an unreadable setting counts as unset.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from ...models.capabilities import NO_CHOICES, HostChoices

FAST = "fast"
INTERLEAVED = "interleaved_thinking"
FAST_COST = "Fast mode is billed at a higher rate than standard speed."


def _flag(value: Any) -> bool | None:
    """A setting as Code Puppy stores it (a parsed scalar or text) as a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0"):
            return False
    return None


def read_choices(model_name: str) -> HostChoices:
    """What ``puppy.cfg`` says for ``model_name`` now (uncached)."""
    from code_puppy.config import get_all_model_settings

    found = get_all_model_settings(model_name)
    return HostChoices(
        fast=_flag(found.get(FAST)) is True, interleaved_thinking=_flag(found.get(INTERLEAVED))
    )


def _config_file() -> str:
    from code_puppy import config as cp_config

    return str(cp_config.CONFIG_FILE)


def choices_for(
    model_name: str,
    *,
    read: Callable[[str], HostChoices] = read_choices,
    config_file: Callable[[], str] = _config_file,
) -> Callable[[], HostChoices]:
    """A cheap per-request reader of ``model_name``'s choices: ``read`` runs again only
    when the file ``config_file()`` names changed (see the module doc)."""
    cache: list[Any] = [None, NO_CHOICES]

    def choices() -> HostChoices:
        try:
            path = config_file()
            info = os.stat(path)
            key = (path, info.st_ino, info.st_mtime_ns, info.st_size)
            if cache[0] != key:
                cache[1] = read(model_name)
                cache[0] = key
        except Exception:
            return NO_CHOICES
        current: HostChoices = cache[1]
        return current

    return choices


def toggle_fast(model_name: str, wanted: bool | None) -> bool:
    """Set ``fast`` for ``model_name`` (``None``: the opposite of now); returns it."""
    from code_puppy.config import set_model_setting

    value = not read_choices(model_name).fast if wanted is None else wanted
    set_model_setting(model_name, FAST, "true" if value else "false")
    return value
