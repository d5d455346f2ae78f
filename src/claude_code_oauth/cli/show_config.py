"""``claude-code-oauth config``: every key, its effective value and where it came from."""

from __future__ import annotations

import argparse
import contextlib

from ..config_rules import ENV_PREFIX, masked_url
from ..errors import ClaudeOAuthError
from .output import err, out, settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings

#: Keys whose values are URLs (shown with any user-info masked).
URL_KEYS = frozenset(
    {
        "auth_url",
        "console_auth_url",
        "token_url",
        "api_base_url",
        "manual_redirect_uri",
        "redirect_host",
    }
)

HELP = "show the effective configuration and each key's environment variable"

DESCRIPTION = (
    "Show every configuration key, its effective value, the environment "
    "variable that overrides it, and where the value came from: the default, "
    "that variable (set in the environment), or for profile the active-profile file."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("config", help=HELP, description=DESCRIPTION)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _source(config: Settings, key: str) -> str:
    """``default``, ``override``, ``environment`` (the variable is named beside it) or,
    for ``profile``, ``active profile file``."""
    source = config.source(key)
    if key == "profile":
        with contextlib.suppress(ClaudeOAuthError):
            source = config.profile_origin  # may be the active-profile file
    if source.startswith(ENV_PREFIX):
        return "environment"
    return source


def run(args: argparse.Namespace) -> int:
    from ..config_rules import CLAUDE_CODE_OAUTH_CONFIG, env_name

    config = settings()
    rows = []
    for key in CLAUDE_CODE_OAUTH_CONFIG:
        value = config.raw(key)
        if isinstance(value, tuple):
            value = "-".join(str(v) for v in value)
        elif isinstance(value, str) and key in URL_KEYS:
            value = masked_url(value)  # never a password from the URL's user-info
        problem = None
        try:
            resolved = config.checked(key)  # validated the way the commands use it
        except ClaudeOAuthError as exc:
            problem = str(exc)
        else:
            if key in ("data_dir", "profile"):
                value = resolved  # Code Puppy's rule / the active profile, resolved
        rows.append(
            {
                "key": key,
                "value": value,
                "env": env_name(key),
                # The variable is already named in "env": say *that* it set the value.
                "source": _source(config, key),
                "error": problem,
            }
        )
    bad = [row for row in rows if row["error"]]
    if args.json:
        import json

        out(json.dumps(rows, indent=2))
    else:
        for row in rows:
            source = "set in the environment" if row["source"] == "environment" else row["source"]
            out(f"{row['key']:<24} {row['value']!s:<48} {row['env']} ({source})")
        for row in bad:
            err(f"error: {row['error']}")
    return 2 if bad else 0
