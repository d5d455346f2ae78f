"""The argument parser: one sub-command per module of this package.

A command module provides ``add_parser(subparsers)`` (which sets ``func``) and
``run(args) -> int``, which runs its use case (:mod:`claude_code_oauth.app`) and
prints the outcome. Adding a command is adding a module and a line to
:data:`COMMANDS`. ``run`` imports its use case when it runs: building the parser
imports every command module, and a command should pay only for its own work.
"""

from __future__ import annotations

import argparse
import importlib
from typing import NoReturn

from .. import __version__

#: Command modules, in the order ``--help`` lists them.
COMMANDS = (
    "login",
    "status",
    "print_token",
    "usage",
    "logout",
    "models",
    "profiles",
    "switch",
    "show_config",
    "doctor",
    "storage",
)

DESCRIPTION = """\
Sign in to Claude with OAuth (authorization code + PKCE, loopback callback),
keep the tokens fresh, and register the account's models for Code Puppy.
`login --console` signs in to an Anthropic Console (API-billed) account
instead and keeps only the API key that sign-in creates.

Tokens live in <data dir>/claude_code_oauth.json (mode 0600); the data dir is
$XDG_DATA_HOME/code_puppy if set, else ~/.code_puppy. `storage --to keyring`
moves them into the OS keyring (and `--to file` back). Several accounts can be
signed in side by side as profiles (login --profile NAME, stored in
claude_code_oauth.NAME.json); `switch NAME` makes one active, and --profile or
CLAUDE_CODE_OAUTH_PROFILE overrides it for one command. Every setting can be
overridden by an environment variable CLAUDE_CODE_OAUTH_<KEY>; see
`claude-code-oauth config`.
"""

EXIT_STATUS = """\
exit status: 0 success; 1 failure (message on stderr); 2 bad usage or
configuration; 130 cancelled."""


class OneLineParser(argparse.ArgumentParser):
    """Bad usage is one line on stderr, ``error: <what> (see <prog> --help)``, and exit
    status 2 — not argparse's usage block. Subcommand parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="claude-code-oauth",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser
