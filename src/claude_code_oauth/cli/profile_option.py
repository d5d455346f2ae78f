"""The settings of a command with ``--profile NAME``
(:func:`~claude_code_oauth.command_options.add_profile_option`): :func:`settings_for`
(``cli.output.settings(args)`` does the same), so the profile it names wins over
``CLAUDE_CODE_OAUTH_PROFILE`` and the active-profile file. A bad name is a one-line
usage error (exit 2).

On the ``token`` fast path: imports nothing beyond :mod:`..config` and
:mod:`..command_options` (no argparse).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

    from ..config import Settings


def settings_for(args: argparse.Namespace | SimpleNamespace | None = None) -> Settings:
    """The effective settings, with the profile ``args.profile`` names if any."""
    from ..command_options import profile_override
    from ..config import load_settings

    name = profile_override(args)
    return load_settings(None if name is None else {"profile": name})
