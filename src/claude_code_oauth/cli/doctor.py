"""``claude-code-oauth doctor``: check the setup, one line per item, with the fix."""

from __future__ import annotations

import argparse

from .output import err, out, settings

HELP = "check the setup: configuration, files, sign-in, libraries, endpoints (✓/✗ with the fix)"
DESCRIPTION = """\
Check, one line each (✓ or ✗ with the cause and the fix): the configuration;
that the data directory and token file are private; the sign-in (access-token
and login expiry); that this Python's anthropic SDK and pydantic-ai work
together (a request built and read back in memory; nothing to check without
Code Puppy); that the token endpoint answers (asked without any token:
the refresh token is never spent or probed); that the authorize endpoint still
exists; that the profile endpoint accepts the token (account, organization,
plan); that the models endpoint lists the account's models. With --inference,
one minimal request (the cheapest listed model, max_tokens 1) shows whether
Claude serves this sign-in to this client, naming the refusal if not; it
counts against your usage."""

EPILOG = """\
exit status: 0 when every check passes, 1 otherwise, 2 bad usage.
--json prints {"ok": BOOL, "checks": [{"name", "ok", "detail", "fix"}]}; the names
are configuration, files, sign_in, host_stack, token_endpoint, authorize_endpoint,
profile, models, inference (only with --inference)."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "doctor",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ..command_options import add_doctor_options, add_profile_option

    add_doctor_options(parser)
    add_profile_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.doctor import checkup

    # The notice goes to stderr, before the request is sent: stdout stays JSON.
    result = checkup(settings(args), inference=args.inference, notice=err)
    if args.json:
        out(result.json_text())
    else:
        for line in result.lines():
            out(line)
    return 0 if result.ok else 1
