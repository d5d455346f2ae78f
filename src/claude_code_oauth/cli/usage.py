"""``claude-code-oauth usage``: the plan, each usage limit, and extra usage.

Without ``--refresh`` it reads only the token file and the usage snapshot
beside it (kept current from every answer Claude sends through our auth
layers): no network, no HTTP library, and — for the exact forms ``usage`` and
``usage --json`` — no argument parser either (see :func:`claude_code_oauth.cli.main`).
"""

from __future__ import annotations

from .output import err, out, settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

HELP = "show the plan, usage limits and extra usage (no network unless --refresh)"
DESCRIPTION = """\
Show the plan (Max 20x, Pro, Team, Enterprise or API, with its rate-limit tier),
each usage window (5-hour, 7-day, and the per-model weekly ones the usage
endpoint reports) as a percentage with its reset time, which window is binding,
whether extra usage (pay-as-you-go) is on and in use, one line for what Claude
offers at the limit (a slower lane, a wrap-up allowance, a fallback model,
upgrade paths: offers, not limits), and how old the figures are.

The figures come from the last answer Claude sent through claude-code-oauth
(Code Puppy models, or the library), and the plan from your profile as read at
sign-in; nothing is sent. --refresh asks Claude's usage endpoint and profile
instead, at most once a minute across all processes; after a 429 or 403 from it
nobody asks again before its Retry-After (else 5 min, at most 1 h), and the last
values are shown with their time.

--json prints the stable keys (new keys are added, none renamed): plan {name,
tier, display_name, extra_usage_enabled}, windows {NAME: {utilization (percent),
resets_at (ISO 8601), status, surpassed_threshold, severity, model}},
binding_window, extra_usage {status, in_use, utilization, resets_at,
disabled_reason, surpassed_threshold}, the offers fallback, grace, slow and
upgrade_paths (null when absent), as_of and source ("headers", "usage_endpoint"
or null). Not signed in: the same keys with nulls, and exit status 1.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    import argparse

    parser = sub.add_parser(
        "usage",
        help=HELP,
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..command_options import add_profile_option, add_usage_options

    add_usage_options(parser)
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace | None = None, *, json_output: bool = False) -> int:
    from ..app.usage import collect

    if args is not None:
        json_output = args.json
    result = collect(settings(args), refresh=bool(args is not None and args.refresh))
    for note in result.notes:
        err(f"note: {note}")
    if json_output:
        out(result.json_text())
        if not result.signed_in:
            err("error: not signed in to Claude.")
    else:
        for line in result.lines:
            out(line)
    return result.exit_code
