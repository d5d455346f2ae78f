"""``claude-code-oauth logout``: remove the tokens and our model entries."""

from __future__ import annotations

import argparse

from .output import PrintReporter, settings

HELP = "remove the stored tokens and the registered models"
DESCRIPTION = (
    "Remove the token file and exactly the models this tool registered. "
    "Safe to run when already signed out."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("logout", help=HELP, description=DESCRIPTION)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import operations

    operations.logout(settings(), PrintReporter())
    return 0
