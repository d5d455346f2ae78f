"""``claude-code-oauth login``, and the login options ``/claude-code-auth`` shares.

The sign-in's options are defined once, in
:func:`~claude_code_oauth.command_options.add_login_options`.
"""

from __future__ import annotations

import argparse

from ..command_options import add_login_options
from .output import PrintReporter, settings

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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("login", help=HELP, description=DESCRIPTION)
    add_login_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.sign_in import SignInOptions, sign_in

    options = SignInOptions.from_arguments(args)
    sign_in(settings(args), PrintReporter(), options)
    return 0
