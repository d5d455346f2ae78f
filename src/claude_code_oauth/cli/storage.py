"""``claude-code-oauth storage [--to keyring|file]``: where each profile's credentials
live, or move them there without a new login."""

from __future__ import annotations

import argparse

from .output import PrintReporter, settings

HELP = "show where each profile's credentials live, or move them (--to keyring|file)"
DESCRIPTION = """\
Without --to: one line per signed-in profile saying where its credentials (access
and refresh token, or Console API key) live: in its 0600 token file, or in an OS
keyring item (the file then holds no secret); then where new sign-ins put theirs.
Reads the token files only: the keyring is not asked.

With --to keyring|file: move the credentials of the profile in use (--profile NAME
for another, --all-profiles for every one) without signing in again, under that
profile's token lock. To the keyring: the item is written (the keyring may ask you
to unlock it), read back and compared, and only then is the token file rewritten
without any secret. To the file: the item is read, the whole 0600 file written, and
only then the item removed. A failure at any step before the switch changes nothing
and says so: the sign-in keeps working from where it was. An old item that cannot
be removed after the switch is a warning that names it. Files under the data
directory that may still hold tokens of a profile moved to the keyring (.corrupt-*
copies, files kept by a failed save) are named, never deleted.

Moving does not change the storage setting, which decides where new sign-ins put
their secrets: set CLAUDE_CODE_OAUTH_STORAGE=keyring (or file) for that."""

EPILOG = """\
exit status: 0 moved, or already there; 1 not signed in, or a profile could not be
moved (the line says what happened; nothing was lost); 2 bad usage."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from ..command_options import add_storage_options

    parser = sub.add_parser(
        "storage",
        help=HELP,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--to",
        choices=("keyring", "file"),
        help="move the credentials to the OS keyring, or back into the token file",
    )
    add_storage_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..app.move_storage import move_storage, where_stored
    from ..app.reporter import report

    config = settings(args)
    reporter = PrintReporter()
    if args.to is None:
        only = config.profile if args.profile is not None else None
        report(reporter, where_stored(config, only=only))
        return 0
    move_storage(config, args.to, reporter, every_profile=args.all_profiles)
    return 0
