"""``claude-code-oauth models``: list (or re-discover) the registered models."""

from __future__ import annotations

import argparse

from ..command_options import add_profile_option
from .output import PrintReporter, StderrReporter, out, settings

HELP = "list the registered claude-code-* models"
DESCRIPTION = (
    "List the models registered in extra_models.json and which profile serves each: "
    "claude-code-<model> follows the active profile, claude-code-PROFILE-<model> is pinned. "
    "--refresh discovers the models again from the profile's account first and updates "
    "the claude-code-<model> entries (with --pin: the profile's pinned entries)."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("models", help=HELP, description=DESCRIPTION)
    parser.add_argument("--refresh", action="store_true", help="re-discover and re-register")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="with --refresh: register claude-code-PROFILE-<model> entries pinned to the profile",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.models import refresh_models, registered_entries, registered_lines
    from ..errors import UsageError

    if args.pin and not args.refresh:
        raise UsageError("models: --pin only goes with --refresh.")
    config = settings(args)
    if args.refresh:
        # With --json, progress goes to stderr so stdout stays parseable.
        reporter = StderrReporter() if args.json else PrintReporter()
        refresh_models(config, reporter, pin=args.pin)
    entries = registered_entries(config)
    if args.json:
        import json

        out(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    if not args.refresh:
        for line in registered_lines(config, entries):
            out(line)
    return 0
