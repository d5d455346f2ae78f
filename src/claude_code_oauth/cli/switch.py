"""``claude-code-oauth switch NAME``: make a signed-in profile the active one."""

from __future__ import annotations

import argparse

from .output import PrintReporter, settings

HELP = "make a signed-in profile the active one"
DESCRIPTION = (
    "Make profile NAME the active one: commands without --profile and the claude-code-<model> "
    "entries in Code Puppy (even in a running session, from its next request) use it. NAME "
    "must be signed in (`claude-code-oauth login --profile NAME`). Nothing ever switches "
    "profiles automatically, not even when a usage limit is reached."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("switch", help=HELP, description=DESCRIPTION)
    parser.add_argument("name", metavar="NAME", help="the profile to make active")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.switch import switch
    from ..config_rules import require_profile_name

    name = require_profile_name(args.name, "switch")
    switch(settings(), name, PrintReporter())
    return 0
