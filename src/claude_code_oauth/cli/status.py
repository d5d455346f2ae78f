"""``claude-code-oauth status``: the sign-in as the local file describes it."""

from __future__ import annotations

import argparse

from ..command_options import add_profile_option
from .output import out, settings

HELP = "show whether you are signed in (never shows a token)"
DESCRIPTION = (
    "Show the account, token and login expiry, scopes, one line of usage (from the "
    "last answer Claude sent; `claude-code-oauth usage` has the details), and where the "
    "credentials of the profile in use (or --profile NAME) live: the token file, or the OS "
    "keyring (whose item is read once, so a missing or damaged one is named); --all "
    "shows every profile, the one in use first. No network access unless --verify. "
    "For a Console sign-in: the "
    "organization, the API key's name, when it was created and its last 4 characters "
    "(--verify asks the models endpoint whether it accepts the key); --json adds "
    "'credential' (oauth, api_key or null), 'api_key' and 'credentials'. Exit status 0 "
    "when the profile in use is signed in and usable."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("status", help=HELP, description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--verify", action="store_true", help="ask the server whether it accepts the token"
    )
    parser.add_argument("--all", action="store_true", help="show every profile")
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..app.status import every_status, status

    config = settings(args)
    if not args.all:
        one = status(config, verify=args.verify)
        if args.json:
            out(json.dumps(one.report, indent=2))
        else:
            for line in one.lines:
                out(line)
        return 0 if one.usable else 1

    active, every = every_status(config, verify=args.verify)
    if args.json:
        reports = [each.report for each in every]
        out(json.dumps({"active_profile": active, "profiles": reports}, indent=2))
    else:
        for index, each in enumerate(every):
            if index:
                out()
            name = each.report["profile"]
            out(f"Profile {name}{' (active)' if name == active else ''}:")
            for line in each.lines:
                out(f"  {line}")
    return 0 if every[0].usable else 1
