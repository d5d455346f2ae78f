"""The options a command takes in every front end, defined once: the CLI's commands
(:mod:`.cli`) and Code Puppy's slash commands (:mod:`.hosts.code_puppy`) both build their
parsers from these functions, so an option added here exists in both, with the same
help and the same checks. Neither front end imports the other.

On the ``token`` fast path (``--profile``): imports nothing at module level (argparse is
only named for types; callers pass their parser).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace

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
    from .config_rules import require_profile_name

    return require_profile_name(name)


def add_login_options(parser: argparse.ArgumentParser) -> None:
    """The sign-in's options (shared by ``login`` and ``/claude-code-auth``)."""
    add_profile_option(parser)
    parser.add_argument(
        "--console",
        action="store_true",
        help="sign in to an Anthropic Console (API-billed) account and create an API key "
        "for this profile, instead of a Claude subscription sign-in",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="register the models as claude-code-PROFILE-<model>, always served by this "
        "profile (so two accounts' models can be used side by side); without it they are "
        "claude-code-<model> and follow the active profile",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="print the URL instead of opening a browser (automatic over SSH or without a display)",
    )
    # A plain float: the login flow checks the range and says so in one line.
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the sign-in (default: callback_timeout, 180)",
    )
    parser.add_argument(
        "--no-models", action="store_true", help="skip model discovery and registration"
    )


def check_login_options(args: argparse.Namespace) -> None:
    """Reject combinations that cannot mean anything (a one-line UsageError)."""
    if args.pin and args.no_models:
        from .errors import UsageError

        raise UsageError("--pin registers models pinned to the profile; drop --no-models.")


def add_usage_options(parser: argparse.ArgumentParser) -> None:
    """The options ``usage`` and ``/claude-code-usage`` share."""
    parser.add_argument("--json", action="store_true", help="machine-readable output (stable keys)")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="ask Claude's usage endpoint and profile (at most once a minute)",
    )


def add_doctor_options(parser: argparse.ArgumentParser) -> None:
    """The doctor's options (shared by ``doctor`` and ``/claude-code-doctor``)."""
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--inference",
        action="store_true",
        help="also send one minimal model request (max_tokens 1; counts against usage)",
    )


def add_storage_options(parser: argparse.ArgumentParser) -> None:
    """Which profiles ``storage`` and ``/claude-code-storage`` look at or move:
    ``--profile NAME`` or ``--all-profiles`` (not both)."""
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--profile", metavar="NAME", help=PROFILE_HELP)
    which.add_argument(
        "--all-profiles",
        action="store_true",
        help="move every signed-in profile, one after the other (a profile that fails "
        "is named and the others still move)",
    )
