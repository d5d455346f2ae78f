"""What the CLI and the Code Puppy adapter both do, with the output left to them.

Each operation reports through a :class:`Reporter` (print for the CLI,
``emit_*`` in Code Puppy) and raises a named :class:`ClaudeOAuthError` on
failure. No token ever reaches a reporter.

A reporter may also have (both optional, looked up with ``getattr``):

* ``hints`` — a :class:`~claude_code_oauth.hints.Hints` naming the user's next
  step *where they are* (``/claude-code-auth`` inside Code Puppy, a shell
  command in the CLI);
* ``flush()`` — called before the operation blocks (the login's wait) and after
  every notice during it, so a reporter that collects lines shows them in time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from .config import Settings
from .config_rules import DEFAULT_PROFILE
from .errors import ClaudeOAuthError, ModelsFileError
from .hints import hints_for
from .tokens.api_key import ApiKeyRecord
from .tokens.record import TokenRecord

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .login.flow import LoginResult
    from .models.registry import RegistryChange


class Reporter(Protocol):
    def info(self, text: str) -> None: ...

    def success(self, text: str) -> None: ...

    def warning(self, text: str) -> None: ...


def _flush(reporter: object) -> None:
    flush = getattr(reporter, "flush", None)
    if callable(flush):
        flush()


#: ``cancel_scope(cancel)`` returns a context manager inside which a user's
#: interrupt calls ``cancel()`` (a host whose Ctrl-C never reaches us otherwise).
CancelScope = Callable[[Callable[[], None]], "AbstractContextManager[object]"]


def login(
    settings: Settings,
    reporter: Reporter,
    *,
    open_browser: bool = True,
    timeout: float | None = None,
    console: bool = False,
    cancel_scope: CancelScope | None = None,
) -> LoginResult:
    """Run the interactive login; pastes are read from stdin while it waits. With
    ``console`` it is a Console sign-in: the login creates an API key, which is saved
    instead of the login's tokens.

    ``cancel_scope`` (optional) lets a host turn its own interrupt into
    :meth:`LoginFlow.cancel` while the login waits; the CLI needs none
    (Ctrl-C is a KeyboardInterrupt there).
    """
    from .login.browser import browser_expected, open_in_background
    from .login.flow import LoginFlow
    from .login.stdin_paste import StdinPasteReader

    where_to = "the Anthropic Console" if console else "Claude"
    with LoginFlow(settings, timeout=timeout, console=console) as flow:
        urls = flow.start()
        expected, reason = browser_expected()
        if not open_browser or not expected:
            why = "--no-browser was given" if not open_browser else reason
            reporter.info(f"Not opening a browser ({why}). Open this URL in a browser to sign in:")
        else:
            # The one-time loopback start address: the browser's command line (which
            # every local user can read) then holds no state or code_challenge.
            open_in_background(
                urls.start,
                lambda why: flow.notify(f"Could not open a browser ({why}); use the URL above."),
            )
            reporter.info(
                f"Opening your browser to sign in to {where_to}. If it does not open, visit:"
            )
        reporter.info(f"  {urls.browser}")
        reporter.info(
            "Signing in from another machine, or no browser here? Open this URL, approve, "
            "and paste the code it shows (CODE#STATE) here, then press Enter:"
        )
        reporter.info(f"  {urls.manual}")
        addresses = ", ".join(flow.listening_addresses)
        reporter.info(
            f"Waiting up to {flow.timeout:g} s for the sign-in (listening on {addresses} "
            f"port {urls.port}). Ctrl-C cancels."
        )

        def notice(text: str) -> None:
            reporter.warning(text)
            _flush(reporter)

        scope = cancel_scope(flow.cancel) if cancel_scope else contextlib.nullcontext()
        reader = StdinPasteReader(flow.submit_paste)
        with scope:
            reader.start()
            try:
                # Shown only now that Ctrl-C and pastes already work.
                _flush(reporter)
                result = flow.wait(on_notice=notice)
            finally:
                reader.stop()
    email = (result.record.account or {}).get("email_address")
    profile = settings.profile
    where = "" if profile == DEFAULT_PROFILE else f" to profile {profile}"
    if isinstance(result.record, ApiKeyRecord):
        _report_api_key(result, reporter, f"{f' as {email}' if email else ''}{where}")
    else:
        reporter.success(f"Signed in{f' as {email}' if email else ''}{where} (via {result.via}).")
        reporter.info(f"Tokens saved to {result.token_path} (mode 0600).")
        _remember_plan(settings, result, reporter)
    if result.replaced is not None:
        reporter.warning(
            f"This replaced the profile's previous Anthropic API key {result.replaced.label} "
            f"here; it still exists in the Anthropic Console until you revoke it there "
            f"({console_keys_url(settings)})."
        )
    _note_active_profile(settings, reporter)
    return result


def _remember_plan(settings: Settings, result: LoginResult, reporter: Reporter) -> None:
    """Read the plan once, so ``usage`` and ``profiles`` name it from the start (one
    profile call; a failure only means the plan shows as unknown until
    ``usage --refresh``)."""
    from .account.usage_endpoint import read_plan
    from .account.usage_lines import plan_text
    from .tokens.record import account_uuid

    plan = read_plan(settings, account_uuid(result.record))
    if plan is not None and (plan.name or plan.tier or plan.display_name):
        reporter.info(f"Plan: {plan_text(plan.name, plan.tier, plan.display_name)}.")


def console_keys_url(settings: Settings) -> str:
    """Where the Console lists (and revokes) API keys: ``/settings/keys`` on the host of
    ``console_auth_url`` (https://platform.claude.com/settings/keys by default)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(settings.console_auth_url)
    except ClaudeOAuthError:
        return "https://platform.claude.com/settings/keys"
    return f"{parts.scheme}://{parts.netloc}/settings/keys"


def _report_api_key(result: LoginResult, reporter: Reporter, who: str) -> None:
    record = result.record
    assert isinstance(record, ApiKeyRecord)
    org = record.organization_name
    reporter.success(
        f"Signed in to the Anthropic Console{who} (via {result.via}): created the API key "
        f"{record.label}" + (f" for {org}." if org else ".")
    )
    reporter.info(
        f"API key saved to {result.token_path} (mode 0600). The sign-in's OAuth tokens were "
        "used only to create it and were not kept. Requests with it are billed to the "
        "organization by the Console."
    )


def _note_active_profile(settings: Settings, reporter: Reporter) -> None:
    """After signing in to a profile other than the active one: make it active only if
    the active one has no sign-in at all (so the claude-code-* models work), else say
    how to switch. Never switches away from a signed-in profile."""
    from .profiles.active import recorded_active_profile, write_active_profile
    from .tokens import store as token_store

    profile = settings.profile
    try:
        active = recorded_active_profile(settings)
    except ClaudeOAuthError:
        active = None  # a damaged active-profile file: replaced below
    if active == profile:
        return
    if active is not None:
        try:
            loaded = token_store.load_sign_in(settings.with_profile(active).token_path)
            active_signed_in = loaded is not None
        except ClaudeOAuthError:
            active_signed_in = True  # a damaged token file is not ours to step over
        if active_signed_in:
            reporter.info(
                f"The active profile is still {active}; models named {settings.prefix}<model> "
                f"use it. Switch with {hints_for(reporter).switch(profile)}."
            )
            return
    write_active_profile(settings, profile)
    why = (
        "no usable active profile was recorded" if active is None else f"{active} is not signed in"
    )
    reporter.info(f"{profile} is now the active profile ({why}).")


def refresh_models(settings: Settings, reporter: Reporter, *, pin: bool = False) -> RegistryChange:
    """Discover the account's models and register them; nothing changes on failure.
    A Console sign-in discovers them with its API key and registers entries of the
    API-key model type.

    Without ``pin`` the entries that follow the active profile
    (``claude-code-<model>``) are made the account's models; with ``pin`` the
    entries pinned to ``settings.profile`` (``claude-code-<profile>-<model>``).
    """
    from .models.discovery import discover_models
    from .models.registry import register_models
    from .tokens import store as token_store
    from .tokens.provider import provider_for

    record = token_store.load_sign_in(settings.token_path)
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


def login_and_register(
    settings: Settings,
    reporter: Reporter,
    *,
    open_browser: bool = True,
    timeout: float | None = None,
    pin: bool = False,
    console: bool = False,
    cancel_scope: CancelScope | None = None,
) -> tuple[LoginResult, RegistryChange | None]:
    """Login (a Console sign-in with ``console``), then model registration (pinned to
    the profile with ``pin``); a registration failure is one warning, not a failure."""
    # A bad models setting is reported before the browser opens, not after the login.
    for key in ("models_path", "prefix", "default_context_length"):
        getattr(settings, key)
    result = login(
        settings,
        reporter,
        open_browser=open_browser,
        timeout=timeout,
        console=console,
        cancel_scope=cancel_scope,
    )
    try:
        change = refresh_models(settings, reporter, pin=pin)
    except ClaudeOAuthError as exc:
        # One message: what failed, and the one next step that works where the user is.
        command = hints_for(reporter).refresh_models(settings.profile, pin=pin)
        if isinstance(exc, ModelsFileError):
            advice = f"{exc.reason} Fix or remove the file, then run {command}."
        else:
            advice = f"{exc} Retry with {command}."
        reporter.warning(f"Signed in, but the models could not be registered: {advice}")
        return result, None
    return result, change


def logout(settings: Settings, reporter: Reporter) -> tuple[bool, tuple[str, ...]]:
    """Revoke the profile's login at Anthropic (best effort, :mod:`.tokens.revoke`), then
    remove its tokens or Console API key whatever the answer (under the lock), its usage
    snapshot, and the model entries pinned to it; idempotent. One line says whether
    Anthropic confirmed the revocation, could not be reached, or refused (and how). A
    removed API key is named, with a warning that it still exists in the Console until
    revoked there (a Console sign-in keeps no OAuth token, so nothing is posted).
    The entries that follow the active profile are removed only with the last
    sign-in: while another profile is signed in they stay, and say "not signed in
    (profile NAME)" until the user signs in again or switches. Returns whether a
    credential was removed, and the names of the model entries removed."""
    from .models.registry import unregister_models
    from .profiles.active import recorded_active_profile
    from .profiles.listing import profile_names
    from .tokens import store as token_store
    from .tokens.revoke import revoke_login

    path = settings.token_path
    profile = settings.profile
    revocation = None
    with token_store.held(token_store.token_lock(settings)):
        try:
            stored = token_store.load_sign_in(path)
        except ClaudeOAuthError:
            stored = None  # damaged: removed all the same
        if isinstance(stored, TokenRecord) and stored.refresh_token:
            # Under the lock: no other process can rotate the token being revoked.
            revocation = revoke_login(settings, stored.refresh_token)
        removed = token_store.delete(path)
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
    from .account.usage_snapshot import usage_path
    from .storage.file_lock import file_lock, held
    from .storage.secure_file import remove

    path = usage_path(settings)
    try:
        with held(file_lock(path + ".lock", settings.lock_timeout), "the usage snapshot"):
            remove(path)
    except ClaudeOAuthError:
        import logging

        logging.getLogger("claude_code_oauth").debug("could not remove %s", path)


def switch(settings: Settings, name: str, reporter: Reporter) -> str:
    """Make ``name`` (a valid profile name) the active profile; returns the file written.

    Raises :class:`ProfileError` when ``name`` has no sign-in (saying how to sign
    in) or its token file is damaged. The only way the active profile changes
    besides a first login: nothing switches on its own.
    """
    import time

    from .config_rules import env_name
    from .errors import ProfileError
    from .profiles.active import write_active_profile
    from .profiles.listing import summarize

    summary = summarize(settings, name, active=False, now=time.time())
    if not summary.signed_in:
        raise ProfileError(
            f"Profile {name} is not signed in.",
            hint=f"Sign in with {hints_for(reporter).login(name)}, then switch.",
        )
    if summary.error:
        raise ProfileError(f"Profile {name} cannot be used: {summary.error}")
    path = write_active_profile(settings, name)
    who = f" ({summary.email})" if summary.email else ""
    reporter.success(
        f"Switched to profile {name}{who}: models named {settings.prefix}<model> now use it."
    )
    if summary.needs_login:
        reporter.warning(
            f"Profile {name} needs a new login: run {hints_for(reporter).login(name)}."
        )
    variable = env_name("profile")
    overridden = settings.source("profile") == variable and str(settings.raw("profile")).strip()
    if overridden and str(settings.raw("profile")).strip() != name:
        reporter.warning(
            f"{variable}={settings.raw('profile')} is set in this environment and overrides "
            "the active profile here; unset it to follow the switch."
        )
    return path
