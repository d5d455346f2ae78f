"""``--profile NAME``: one definition for every command that acts on a sign-in.

A command adds the option with :func:`add_profile_option` and builds its
settings with :func:`settings_for` (``cli.output.settings(args)`` does the
same), so the profile it names wins over ``CLAUDE_CODE_OAUTH_PROFILE`` and the
active-profile file. A bad name is a one-line usage error (exit 2).

On the ``token`` fast path: imports nothing beyond :mod:`..config` (no argparse).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

    from ..config import Settings

PROFILE_HELP = (
    "use sign-in profile NAME instead of the active one (see `claude-code-oauth profiles`; "
    "default: CLAUDE_CODE_OAUTH_PROFILE, else the active profile, else 'default')"
)


def add_profile_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile NAME`` to ``parser`` (a command's, or a slash command's)."""
    parser.add_argument("--profile", metavar="NAME", help=PROFILE_HELP)


def profile_override(args: argparse.Namespace | SimpleNamespace | None) -> str | None:
    """The profile ``args`` names (validated: UsageError), or ``None``."""
    name = getattr(args, "profile", None)
    if name is None:
        return None
    from ..config import require_profile_name

    return require_profile_name(name)


def settings_for(args: argparse.Namespace | SimpleNamespace | None = None) -> Settings:
    """The effective settings, with the profile ``args.profile`` names if any."""
    from ..config import load_settings

    name = profile_override(args)
    return load_settings(None if name is None else {"profile": name})
