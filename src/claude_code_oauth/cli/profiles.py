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


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("profiles", help=HELP, description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from ..config import DEFAULT_PROFILE, env_name
    from ..errors import ProfileError
    from ..profiles.active import recorded_active_profile
    from ..profiles.listing import describe, list_profiles

    config = settings()
    if config.source("profile") != "default":
        config.profile  # noqa: B018 - a bad CLAUDE_CODE_OAUTH_PROFILE is an error here too
    now = time.time()
    try:
        active = recorded_active_profile(config)
    except ProfileError as exc:
        err(f"warning: {exc}")  # still list what is signed in
        active = DEFAULT_PROFILE
    summaries = list_profiles(config.with_profile(active), now=now)
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
