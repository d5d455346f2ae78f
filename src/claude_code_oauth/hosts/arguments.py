"""Arguments of a host's slash commands, parsed with the options every front end shares
(:mod:`claude_code_oauth.command_options`).

A slash command such as ``/claude-code-auth --timeout 60`` arrives as one string.
:func:`parse` splits it like a shell would and parses it with a
:class:`SlashCommandParser` — an :class:`argparse.ArgumentParser` that never
prints and never exits the host: a bad argument raises
:class:`~claude_code_oauth.errors.UsageError` whose one line ends with the
command's usage, and ``--help`` comes back as text for the host to show.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable

from ..errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


class SlashCommandParser(argparse.ArgumentParser):
    """An argument parser for a slash command: raises instead of printing or exiting."""

    def __init__(self, command: str, description: str) -> None:
        super().__init__(
            prog=f"/{command}",
            description=description,
            add_help=False,
            exit_on_error=False,
            allow_abbrev=False,
        )
        self.add_argument("-h", "--help", action="store_true", help="show this help")

    def one_line_usage(self) -> str:
        return " ".join(self.format_usage().split()).removeprefix("usage: ")

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}. Usage: {self.one_line_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(f"{self.prog}: {(message or 'bad arguments').strip()}")


def parse(parser: SlashCommandParser, text: str) -> argparse.Namespace | str:
    """The parsed arguments of ``text`` (the whole command line, command name first),
    or the help text when ``--help`` was given. Raises :class:`UsageError`."""
    try:
        words = shlex.split(text)
    except ValueError as exc:  # an unbalanced quote
        raise UsageError(f"{parser.prog}: {exc}. Usage: {parser.one_line_usage()}") from None
    try:
        args = parser.parse_args(words[1:])
    except argparse.ArgumentError as exc:
        parser.error(str(exc))
        raise  # unreachable: error() raises
    if args.help:
        return parser.format_help()
    return args


def build(
    command: str, description: str, *adders: Callable[[argparse.ArgumentParser], None]
) -> SlashCommandParser:
    """A parser for ``/command`` with the options each of ``adders`` defines."""
    parser = SlashCommandParser(command, description)
    for add in adders:
        add(parser)
    return parser
