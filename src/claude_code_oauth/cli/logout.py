"""``claude-code-oauth logout``: revoke the login, remove the tokens and our model entries."""

from __future__ import annotations

import argparse

from ..command_options import add_profile_option
from .output import PrintReporter, settings

HELP = "revoke a profile's login, remove its tokens (or Console API key) and its models"
DESCRIPTION = (
    "Revoke the profile's login at Anthropic (POST {token_url}/revoke with the refresh "
    "token, as Claude Code does: its refresh and access tokens then stop working wherever "
    "a copy is; best effort, at most 5 s), then remove the profile's token file whatever "
    "the answer, and the models pinned to it (claude-code-PROFILE-*). One line says whether "
    "Anthropic confirmed the revocation, could not be reached, or refused it (and how). "
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
    from ..app.sign_out import sign_out

    sign_out(settings(args), PrintReporter())
    return 0
