"""Runs the checks of :mod:`.local`, :mod:`.host_stack` and :mod:`.remote` in
:data:`~.check.NAMES` order (see the package's docstring for what each may do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .check import Check

if TYPE_CHECKING:
    from ..config import Settings


def run_checks(settings: Settings, *, inference: bool = False) -> list[Check]:
    """Every check, in :data:`NAMES` order (``inference`` only when asked; for a Console
    sign-in without ``token_endpoint`` and ``profile``)."""
    from ..tokens.api_key import ApiKeyRecord
    from . import credential_store, local, remote
    from .host_stack import host_stack

    checks = [local.configuration(settings), local.files(settings)]
    checks += [
        credential_store.credential_store(settings),
        credential_store.keyring_item(settings),
        credential_store.stale_items(settings),
    ]
    sign_in, record = local.sign_in(settings)
    checks += [sign_in, host_stack()]
    # A Console sign-in (always usable once read) has no token endpoint and no profile.
    api_key = record.api_key if isinstance(record, ApiKeyRecord) else None
    if api_key is None:
        checks.append(remote.token_endpoint(settings))
    checks.append(remote.authorize_endpoint(settings, console=api_key is not None))
    usable = record is not None and sign_in.ok
    why = "not checked: not signed in" if record is None else "not checked: see the sign-in"
    if api_key is None:
        checks.append(
            remote.profile(settings) if usable else remote.skipped(settings, "profile", why)
        )
    found = remote.models(settings, api_key=api_key) if usable else None
    checks.append(found[0] if found else remote.skipped(settings, "models", why))
    if inference:
        if found and found[1]:
            checks.append(remote.inference(settings, found[1], api_key=api_key))
        else:
            checks.append(
                remote.skipped(
                    settings,
                    "inference",
                    "no model is listed to try",
                    "See the models check above.",
                )
            )
    return checks
