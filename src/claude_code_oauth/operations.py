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
from .errors import ClaudeOAuthError, ModelsFileError
from .hints import hints_for

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from .login.flow import LoginResult
    from .models.registry import RegistryChange

LOGIN_COMMAND_HINT = "`claude-code-oauth login` (or /claude-code-auth in Code Puppy)"


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
    cancel_scope: CancelScope | None = None,
) -> LoginResult:
    """Run the interactive login; pastes are read from stdin while it waits.

    ``cancel_scope`` (optional) lets a host turn its own interrupt into
    :meth:`LoginFlow.cancel` while the login waits; the CLI needs none
    (Ctrl-C is a KeyboardInterrupt there).
    """
    from .login.browser import browser_expected, open_in_background
    from .login.flow import LoginFlow
    from .login.stdin_paste import StdinPasteReader

    with LoginFlow(settings, timeout=timeout) as flow:
        urls = flow.start()
        expected, reason = browser_expected()
        if not open_browser or not expected:
            why = "--no-browser was given" if not open_browser else reason
            reporter.info(f"Not opening a browser ({why}). Open this URL in a browser to sign in:")
        else:
            open_in_background(
                urls.browser,
                lambda why: flow.notify(f"Could not open a browser ({why}); use the URL above."),
            )
            reporter.info("Opening your browser to sign in to Claude. If it does not open, visit:")
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
    reporter.success(f"Signed in{f' as {email}' if email else ''} (via {result.via}).")
    reporter.info(f"Tokens saved to {result.token_path} (mode 0600).")
    return result


def refresh_models(settings: Settings, reporter: Reporter) -> RegistryChange:
    """Discover the account's models and register them; nothing changes on failure."""
    from .models.discovery import discover_models
    from .models.registry import register_models
    from .tokens.provider import provider_for

    models = discover_models(settings, provider_for(settings))
    change = register_models(settings, models)
    registered = change.registered
    if not models:
        reporter.warning("The account offers no models; nothing was registered.")
    else:
        reporter.success(
            f"Registered {len(registered)} model(s) in {change.path}: {', '.join(registered)}"
        )
    if change.removed:
        reporter.info(f"Removed {len(change.removed)} model(s) the account no longer offers.")
    for key in change.collisions:
        reporter.warning(f"{key} is a hand-written entry in {change.path}; it was left unchanged.")
    return change


def login_and_register(
    settings: Settings,
    reporter: Reporter,
    *,
    open_browser: bool = True,
    timeout: float | None = None,
    cancel_scope: CancelScope | None = None,
) -> tuple[LoginResult, RegistryChange | None]:
    """Login, then model registration; a registration failure is one warning, not a failure."""
    result = login(
        settings, reporter, open_browser=open_browser, timeout=timeout, cancel_scope=cancel_scope
    )
    try:
        change = refresh_models(settings, reporter)
    except ClaudeOAuthError as exc:
        # One message: what failed, and the one next step that works where the user is.
        command = hints_for(reporter).refresh_models
        if isinstance(exc, ModelsFileError):
            advice = f"{exc.summary} Fix or remove the file, then run {command}."
        else:
            advice = f"{exc} Retry with {command}."
        reporter.warning(f"Signed in, but the models could not be registered: {advice}")
        return result, None
    return result, change


def logout(settings: Settings, reporter: Reporter) -> tuple[bool, int]:
    """Remove the tokens (under the lock) and exactly our model entries; idempotent."""
    from .models.registry import unregister_models
    from .tokens import store as token_store

    path = settings.token_path
    with token_store.held(token_store.token_lock(settings)):
        removed = token_store.delete(path)
    reporter.info(f"Removed the tokens ({path})." if removed else "No tokens were stored.")
    change = unregister_models(settings)
    count = len(change.removed)
    reporter.info(
        f"Removed {count} registered model(s) from {change.path}."
        if count
        else "No registered models to remove."
    )
    return removed, count
