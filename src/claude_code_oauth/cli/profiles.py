"""``claude-code-oauth profiles``: every sign-in, and which one is active."""

from __future__ import annotations

import argparse

from .output import err, out, settings

HELP = "list the sign-in profiles and which one is active"
DESCRIPTION = (
    "List every profile (a named sign-in; 'default' is claude_code_oauth.json) with its "
    "account, organization, plan where known, access-token and login expiry; '*' marks the "
    "active profile, which commands and the claude-code-<model> entries use unless "
    "--profile or CLAUDE_CODE_OAUTH_PROFILE says otherwise. Reads local files only."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("profiles", help=HELP, description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.profiles import environment_override, profile_list

    config = settings()
    if config.source("profile") != "default":
        config.profile  # noqa: B018 - a bad CLAUDE_CODE_OAUTH_PROFILE is an error here too
    listing = profile_list(config)
    if listing.problem is not None:
        err(f"warning: {listing.problem}")  # still list what is signed in
    if args.json:
        import json

        out(json.dumps(listing.to_json(), indent=2, ensure_ascii=False))
    else:
        if not listing.any_signed_in:
            out("No profile is signed in. Sign in with `claude-code-oauth login [--profile NAME]`.")
        for line in listing.lines():
            out(line)
    note = environment_override(config)
    if note is not None:
        err(f"note: {note}")
    return 0
