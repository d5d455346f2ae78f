"""Where the command's words go: results on stdout, warnings and errors on stderr.

:class:`PrintReporter` is the CLI's :class:`~claude_code_oauth.app.reporter.Reporter`;
:class:`StderrReporter` keeps stdout clean for machine-readable output.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

    from ..config import Settings


def out(text: str = "") -> None:
    print(text, flush=True)


def err(text: str) -> None:
    # One write with its newline: print() writes the text and the newline apart, and
    # another process sharing stderr (a browser we started) could land in between.
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class PrintReporter:
    """Progress on stdout, warnings on stderr."""

    def info(self, text: str) -> None:
        out(text)

    def success(self, text: str) -> None:
        out(text)

    def warning(self, text: str) -> None:
        err(f"warning: {text}")


class StderrReporter(PrintReporter):
    """Everything on stderr (stdout carries JSON)."""

    def info(self, text: str) -> None:
        err(text)

    def success(self, text: str) -> None:
        err(text)


def settings(args: argparse.Namespace | SimpleNamespace | None = None) -> Settings:
    """The effective settings (defaults, environment), with ``args.profile`` if the
    command has ``--profile`` (:mod:`.profile_option`). Every command starts here, so
    this is also where what killed writers left in the data directory is cleared up
    (:func:`~claude_code_oauth.tokens.store.sweep`: one ``scandir`` when there is
    nothing to do)."""
    from ..tokens.store import sweep
    from .profile_option import settings_for

    config = settings_for(args)
    sweep(config)
    return config
