"""``claude-code-oauth status``: the sign-in as the local file describes it."""

from __future__ import annotations

import argparse

from .output import out, settings

HELP = "show whether you are signed in (never shows a token)"
DESCRIPTION = (
    "Show the account, token and login expiry, scopes, one line of usage (from the "
    "last answer Claude sent; `claude-code-oauth usage` has the details), and the token "
    "file. No network access unless --verify. Exit status 0 when signed in and usable."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("status", help=HELP, description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--verify", action="store_true", help="ask the server whether it accepts the token"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..account import status

    config = settings()
    report = status.collect(config, verify=args.verify)
    if args.json:
        import json

        out(json.dumps(report, indent=2))
    else:
        for line in status.render(report, status.usage_line(config, report)):
            out(line)
    usable = report["signed_in"] and not report["needs_login"] and report["verified"] is not False
    return 0 if usable else 1
