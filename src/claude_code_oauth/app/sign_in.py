"""Sign in (``login``, ``/claude-code-auth``): the interactive login, then the account's
models registered; a Console sign-in keeps only the API key it creates.

:func:`sign_in` is the command: :func:`login` (reporting the URLs, the wait and
the outcome), then — unless ``register_models`` is off — :func:`~.models.refresh_models`,
whose failure is one warning, never a failed sign-in. Raises a named
:class:`~claude_code_oauth.errors.ClaudeOAuthError` when the login fails; nothing is
saved then.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from ..config import Settings
from ..config_rules import DEFAULT_PROFILE
from ..errors import ClaudeOAuthError, ModelsFileError
from ..hints import hints_for
from ..tokens.api_key import ApiKeyRecord
from .reporter import CancelScope, Reporter, flush

if TYPE_CHECKING:
    import argparse

    from ..login.flow import LoginResult
    from ..models.registry import RegistryChange


class SignInOptions:
    """What the sign-in's options (:func:`~claude_code_oauth.command_options.add_login_options`)
    ask for. A plain class: a dataclass costs milliseconds at import."""

    __slots__ = ("console", "open_browser", "pin", "register_models", "timeout")

    def __init__(
        self,
        *,
        open_browser: bool = True,
        timeout: float | None = None,
        console: bool = False,
        pin: bool = False,
        register_models: bool = True,
    ) -> None:
        self.open_browser = open_browser
        self.timeout = timeout
        self.console = console
        self.pin = pin
        self.register_models = register_models

    @classmethod
    def from_arguments(cls, args: argparse.Namespace) -> SignInOptions:
        """The options a parser built with ``add_login_options`` read (combinations that
        mean nothing are a one-line UsageError)."""
        from ..command_options import check_login_options

        check_login_options(args)
        return cls(
            open_browser=not args.no_browser,
            timeout=args.timeout,
            console=args.console,
            pin=args.pin,
            register_models=not args.no_models,
        )


def sign_in(
    settings: Settings,
    reporter: Reporter,
    options: SignInOptions,
    *,
    cancel_scope: CancelScope | None = None,
) -> tuple[LoginResult, RegistryChange | None]:
    """Login (a Console sign-in with ``options.console``), then model registration
    (pinned to the profile with ``options.pin``) unless ``options.register_models`` is
    off; a registration failure is one warning, not a failure. Returns the login's
    result and what was registered (``None``: nothing was).

    ``cancel_scope`` (optional) lets a host turn its own interrupt into
    :meth:`LoginFlow.cancel` while the login waits; the CLI needs none
    (Ctrl-C is a KeyboardInterrupt there)."""
    from .models import refresh_models

    if options.register_models:
        # A bad models setting is reported before the browser opens, not after the login.
        for key in ("models_path", "prefix", "default_context_length"):
            getattr(settings, key)
    result = login(
        settings,
        reporter,
        open_browser=options.open_browser,
        timeout=options.timeout,
        console=options.console,
        cancel_scope=cancel_scope,
    )
    if not options.register_models:
        return result, None
    try:
        change = refresh_models(settings, reporter, pin=options.pin)
    except ClaudeOAuthError as exc:
        # One message: what failed, and the one next step that works where the user is.
        command = hints_for(reporter).refresh_models(settings.profile, pin=options.pin)
        if isinstance(exc, ModelsFileError):
            advice = f"{exc.reason} Fix or remove the file, then run {command}."
        else:
            advice = f"{exc} Retry with {command}."
        reporter.warning(f"Signed in, but the models could not be registered: {advice}")
        return result, None
    return result, change


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
    instead of the login's tokens."""
    from ..login.browser import browser_expected, open_in_background
    from ..login.flow import LoginFlow
    from ..login.stdin_paste import StdinPasteReader

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
            flush(reporter)

        scope = cancel_scope(flow.cancel) if cancel_scope else contextlib.nullcontext()
        reader = StdinPasteReader(flow.submit_paste)
        with scope:
            reader.start()
            try:
                # Shown only now that Ctrl-C and pastes already work.
                flush(reporter)
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
        if result.keyring:
            reporter.info(
                f"Tokens saved in the {result.keyring}; {result.token_path} (mode 0600) "
                "keeps the rest."
            )
        else:
            reporter.info(f"Tokens saved to {result.token_path} (mode 0600).")
        _remember_plan(settings, result, reporter)
    if result.storage_notice:
        reporter.info(result.storage_notice)
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
    from ..account.usage_endpoint import read_plan
    from ..account.usage_lines import plan_text
    from ..tokens.record import account_uuid

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
    where = (
        f"in the {result.keyring}; {result.token_path} (mode 0600) keeps the rest"
        if result.keyring
        else f"to {result.token_path} (mode 0600)"
    )
    reporter.info(
        f"API key saved {where}. The sign-in's OAuth tokens were used only to create it "
        "and were not kept. Requests with it are billed to the organization by the Console."
    )


def _note_active_profile(settings: Settings, reporter: Reporter) -> None:
    """After signing in to a profile other than the active one: make it active only if
    the active one has no sign-in at all (so the claude-code-* models work), else say
    how to switch. Never switches away from a signed-in profile."""
    from ..profiles.active import recorded_active_profile, write_active_profile
    from ..tokens import store as token_store

    profile = settings.profile
    try:
        active = recorded_active_profile(settings)
    except ClaudeOAuthError:
        active = None  # a damaged active-profile file: replaced below
    if active == profile:
        return
    if active is not None:
        try:
            from ..tokens.keyring_item import StoreOpener

            other = settings.with_profile(active)
            loaded = token_store.load_sign_in(other.token_path, stores=StoreOpener(settings=other))
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
