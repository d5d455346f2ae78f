"""``claude-code-oauth logout``: remove the tokens and our model entries."""

from __future__ import annotations

import argparse

from .output import PrintReporter, settings
from .profile_option import add_profile_option

HELP = "remove a profile's tokens (or Console API key) and the models registered for it"
DESCRIPTION = (
    "Remove the profile's token file and the models pinned to it (claude-code-PROFILE-*). "
    "The claude-code-<model> entries that follow the active profile are removed with the "
    "last sign-in; while another profile is signed in they stay. Other profiles and "
    "entries this tool did not write are never touched. Safe to run when already signed out. "
    "For a Console sign-in it removes the API key from this machine only: the key exists "
    "in the Anthropic Console until you revoke it there (there is no public API to revoke "
    "it), and the output names it."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("logout", help=HELP, description=DESCRIPTION)
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import operations

    operations.logout(settings(args), PrintReporter())
    return 0
