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
    import time

    from ..config_rules import env_name
    from ..profiles.listing import active_listing, describe

    config = settings()
    if config.source("profile") != "default":
        config.profile  # noqa: B018 - a bad CLAUDE_CODE_OAUTH_PROFILE is an error here too
    now = time.time()
    summaries, problem = active_listing(config, now=now)
    if problem is not None:
        err(f"warning: {problem}")  # still list what is signed in
    if args.json:
        import json

        out(json.dumps([s.to_json(now) for s in summaries], indent=2, ensure_ascii=False))
    else:
        if not any(s.signed_in for s in summaries):
            out("No profile is signed in. Sign in with `claude-code-oauth login [--profile NAME]`.")
        for summary in summaries:
            out(("* " if summary.active else "  ") + describe(summary, now))
    variable = env_name("profile")
    if config.source("profile") == variable and str(config.raw("profile")).strip():
        err(
            f"note: {variable}={config.raw('profile')} overrides the active profile "
            "in this environment."
        )
    return 0
