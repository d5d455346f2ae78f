"""``claude-code-oauth status``: the sign-in as the local file describes it."""

from __future__ import annotations

import argparse
from typing import Any

from ..command_options import add_profile_option
from .output import out, settings

HELP = "show whether you are signed in (never shows a token)"
DESCRIPTION = (
    "Show the account, token and login expiry, scopes, one line of usage (from the "
    "last answer Claude sent; `claude-code-oauth usage` has the details), and the token "
    "file of the profile in use (or --profile NAME); --all shows every profile, the one "
    "in use first. No network access unless --verify. For a Console sign-in: the "
    "organization, the API key's name, when it was created and its last 4 characters "
    "(--verify asks the models endpoint whether it accepts the key); --json adds "
    "'credential' (oauth, api_key or null) and 'api_key'. Exit status 0 when the profile in "
    "use is signed in and usable."
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


def _usable(report: dict[str, Any]) -> bool:
    return (
        bool(report["signed_in"]) and not report["needs_login"] and report["verified"] is not False
    )


def run(args: argparse.Namespace) -> int:
    from ..account import status

    config = settings(args)
    if not args.all:
        report = status.collect(config, verify=args.verify)
        if args.json:
            import json

            out(json.dumps(report, indent=2))
        else:
            for line in status.render(report, status.usage_line(config, report)):
                out(line)
        return 0 if _usable(report) else 1

    from ..profiles.active import recorded_active_profile
    from ..profiles.listing import profile_names

    current = config.profile
    active = recorded_active_profile(config)
    names = [current] + [n for n in profile_names(config) if n != current]
    reports = [status.collect(config.with_profile(n), verify=args.verify) for n in names]
    if args.json:
        import json

        out(json.dumps({"active_profile": active, "profiles": reports}, indent=2))
    else:
        for index, report in enumerate(reports):
            if index:
                out()
            mark = " (active)" if report["profile"] == active else ""
            out(f"Profile {report['profile']}{mark}:")
            for line in status.render(
                report,
                status.usage_line(config.with_profile(report["profile"]), report),
                show_profile=False,
            ):
                out(f"  {line}")
    return 0 if _usable(reports[0]) else 1
