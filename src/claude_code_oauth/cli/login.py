"""``claude-code-oauth login``, and the login options ``/claude-code-auth`` shares.

:func:`add_login_options` is the one definition of the sign-in's options; the
CLI and every host's slash command build their parsers from it, so an option
added here exists in both.
"""

from __future__ import annotations

import argparse

from .output import PrintReporter, settings
from .profile_option import add_profile_option

HELP = "sign in with your browser (--console: create an API key) and register the models"
DESCRIPTION = (
    "Sign in: opens a browser on a one-time http://localhost:PORT/start/... address "
    "that redirects to Claude's sign-in page (or prints the URL), and waits for the "
    "loopback callback on http://localhost:PORT/callback; you can also paste CODE#STATE "
    "from the manual page, or the callback URL, on stdin. Then discovers and registers "
    "the models. Problems that would make saving fail are reported before the browser opens. "
    "With --profile NAME the sign-in is stored as profile NAME (several accounts side by side); "
    "it becomes the active profile only if the active one is not signed in. "
    "--console signs in to an Anthropic Console (API-billed) account instead: the same "
    "browser or paste-back sign-in on the Console's page (console_auth_url), after which "
    "the login creates an Anthropic API key; only the key is kept (0600, in the profile's "
    "file), the login's OAuth tokens are not. An API key is billed by the Console and is "
    "allowed in any client under Anthropic's terms."
)


def add_login_options(parser: argparse.ArgumentParser) -> None:
    """The sign-in's options (shared by ``login`` and ``/claude-code-auth``)."""
    add_profile_option(parser)
    parser.add_argument(
        "--console",
        action="store_true",
        help="sign in to an Anthropic Console (API-billed) account and create an API key "
        "for this profile, instead of a Claude subscription sign-in",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="register the models as claude-code-PROFILE-<model>, always served by this "
        "profile (so two accounts' models can be used side by side); without it they are "
        "claude-code-<model> and follow the active profile",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="print the URL instead of opening a browser (automatic over SSH or without a display)",
    )
    # A plain float: the login flow checks the range and says so in one line.
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the sign-in (default: callback_timeout, 180)",
    )
    parser.add_argument(
        "--no-models", action="store_true", help="skip model discovery and registration"
    )


def check_login_options(args: argparse.Namespace) -> None:
    """Reject combinations that cannot mean anything (a one-line UsageError)."""
    if args.pin and args.no_models:
        from ..errors import UsageError

        raise UsageError("--pin registers models pinned to the profile; drop --no-models.")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("login", help=HELP, description=DESCRIPTION)
    add_login_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import operations

    check_login_options(args)
    config = settings(args)
    reporter = PrintReporter()
    if args.no_models:
        operations.login(
            config,
            reporter,
            open_browser=not args.no_browser,
            timeout=args.timeout,
            console=args.console,
        )
    else:
        operations.login_and_register(
            config,
            reporter,
            open_browser=not args.no_browser,
            timeout=args.timeout,
            pin=args.pin,
            console=args.console,
        )
    return 0
