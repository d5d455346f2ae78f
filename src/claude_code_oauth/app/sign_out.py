"""Sign out (``logout``, ``/claude-code-logout``): revoke the profile's login at
Anthropic, then remove its credential, its usage snapshot and its model entries.

:func:`sign_out` is idempotent and never leaves a credential behind because
Anthropic could not be reached: the revocation is best effort (:mod:`..tokens.revoke`),
the removal is not.
"""

from __future__ import annotations

from ..config import Settings
from ..config_rules import DEFAULT_PROFILE
from ..errors import ClaudeOAuthError
from ..hints import hints_for
from ..tokens.api_key import ApiKeyRecord
from ..tokens.record import TokenRecord
from .reporter import Reporter


def sign_out(settings: Settings, reporter: Reporter) -> tuple[bool, tuple[str, ...]]:
    """Revoke the profile's login at Anthropic (best effort, :mod:`..tokens.revoke`), then
    remove its tokens or Console API key whatever the answer (under the lock), its usage
    snapshot, and the model entries pinned to it; idempotent. One line says whether
    Anthropic confirmed the revocation, could not be reached, or refused (and how). A
    removed API key is named, with a warning that it still exists in the Console until
    revoked there (a Console sign-in keeps no OAuth token, so nothing is posted).
    The entries that follow the active profile are removed only with the last
    sign-in: while another profile is signed in they stay, and say "not signed in
    (profile NAME)" until the user signs in again or switches. Returns whether a
    credential was removed, and the names of the model entries removed."""
    from ..models.registry import unregister_models
    from ..profiles.active import recorded_active_profile
    from ..profiles.listing import profile_names
    from ..tokens import store as token_store
    from ..tokens.keyring_item import StoreOpener
    from ..tokens.revoke import revoke_login
    from .sign_in import console_keys_url

    path = settings.token_path
    profile = settings.profile
    revocation = None
    stores = StoreOpener(settings=settings)
    with token_store.held(token_store.token_lock(settings)):
        try:
            stored = token_store.load_sign_in(path, stores=stores)
        except ClaudeOAuthError:
            stored = None  # damaged: removed all the same
        if isinstance(stored, TokenRecord) and stored.refresh_token:
            # Under the lock: no other process can rotate the token being revoked.
            revocation = revoke_login(settings, stored.refresh_token)
        # The keyring item first: if the keyring fails, that is the error, and the
        # file (which names the item) stays for a later logout.
        removed = token_store.delete(path, stores=stores)
    named = "" if profile == DEFAULT_PROFILE else f" of profile {profile}"
    if removed and isinstance(stored, ApiKeyRecord):
        org = stored.organization_name
        reporter.info(f"Removed the Anthropic API key {stored.label}{named} from {path}.")
        reporter.warning(
            f"The key {stored.label} still exists in the Anthropic Console"
            + (f" ({org})" if org else "")
            + " and keeps working for anyone who has it until you revoke it there: "
            f"{console_keys_url(settings)} (there is no public API to revoke it)."
        )
    else:
        reporter.info(
            f"Removed the tokens{named} ({path})." if removed else f"No tokens{named} were stored."
        )
    if revocation is not None:
        assert isinstance(stored, TokenRecord)
        line = revocation.line(stored.refresh_token_expires_at)
        (reporter.info if revocation.confirmed else reporter.warning)(line)
    _forget_usage(settings)
    remaining = [name for name in profile_names(settings) if name != profile]
    groups: list[str | None] = [profile] if remaining else [profile, None]
    change = unregister_models(settings, groups)
    count = len(change.removed)
    reporter.info(
        f"Removed {count} registered model(s) from {change.path}."
        if count
        else "No registered models to remove."
    )
    try:
        active = recorded_active_profile(settings)
    except ClaudeOAuthError:
        active = None
    if remaining and active == profile:
        reporter.warning(
            f"{profile} is the active profile: models named {settings.prefix}<model> now say "
            f"'not signed in (profile {profile})'. Sign in again with "
            f"{hints_for(reporter).login(profile)}, or switch with "
            f"{hints_for(reporter).switch(remaining[0])} (signed in: {', '.join(remaining)})."
        )
    return removed, change.removed


def _forget_usage(settings: Settings) -> None:
    """Remove the profile's usage snapshot (figures and plan of the account signed out
    of; never a secret). Best effort: a snapshot left behind is ignored by the next
    sign-in of another account anyway. Its lock file stays, as the token lock does."""
    from ..account.usage_snapshot import usage_path
    from ..storage.file_lock import file_lock, held
    from ..storage.secure_file import remove

    path = usage_path(settings)
    try:
        with held(file_lock(path + ".lock", settings.lock_timeout), "the usage snapshot"):
            remove(path)
    except ClaudeOAuthError:
        import logging

        logging.getLogger("claude_code_oauth").debug("could not remove %s", path)
