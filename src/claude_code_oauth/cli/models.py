"""``claude-code-oauth models``: list (or re-discover) the registered models."""

from __future__ import annotations

import argparse

from .output import PrintReporter, StderrReporter, out, settings

HELP = "list the registered claude-code-* models"
DESCRIPTION = (
    "List the models registered in extra_models.json; --refresh discovers "
    "them again from the account first."
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("models", help=HELP, description=DESCRIPTION)
    parser.add_argument("--refresh", action="store_true", help="re-discover and re-register")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import operations
    from ..models.registry import registered_models

    config = settings()
    if args.refresh:
        # With --json, progress goes to stderr so stdout stays parseable.
        reporter = StderrReporter() if args.json else PrintReporter()
        operations.refresh_models(config, reporter)
    entries = registered_models(config)
    if args.json:
        import json

        out(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    if not args.refresh:
        if not entries:
            import os

            if os.path.lexists(config.token_path):
                out("No Claude models are registered. Run `claude-code-oauth models --refresh`.")
            else:  # --refresh would only say "not signed in"
                out("No Claude models are registered. Sign in with `claude-code-oauth login`.")
        for key, entry in entries.items():
            length = entry.get("context_length")
            out(f"{key}  ({entry.get('display_name', entry.get('name', ''))}, {length} tokens)")
    return 0
