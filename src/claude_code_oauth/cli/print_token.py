"""``claude-code-oauth token``: print the profile's credential and nothing else.

For an OAuth sign-in that is a valid access token (refreshed first when due);
for a Console sign-in, its Anthropic API key. On the fast path (a fresh token,
or any API key) this reads one file and imports only ``json`` beyond the
interpreter's own start-up: no argument parser, no lock, no HTTP library, no
thread. Scripts call it on every request. A sign-in whose secrets are in the OS
keyring costs one read of its item more, within ``keyring_timeout``: the Secret
Service is spoken directly (standard library only), never through ``keyring``.
"""

from __future__ import annotations

import sys

from ..command_options import add_profile_option
from .output import err, settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from types import SimpleNamespace
    from typing import Literal

    from ..tokens.store import TokenRecord

HELP = "print a valid access token, or a Console sign-in's API key"
DESCRIPTION = (
    "Print the profile's credential and nothing else on stdout, for scripts and "
    "credential helpers: a valid OAuth access token (sent as 'Authorization: Bearer', "
    "with the anthropic-beta oauth-2025-04-20), refreshed first when it is about to "
    "expire; or, for a Console sign-in (login --console), its Anthropic API key (sent "
    "as 'x-api-key', or ANTHROPIC_API_KEY; it starts with sk-ant-api). `status --json` "
    "says which ('credential'). Exit 1 with a message on stderr when not signed in. "
    "--profile NAME prints that profile's credential."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("token", help=HELP, description=DESCRIPTION)
    add_profile_option(parser)
    parser.set_defaults(func=run)


def fast_path_profile(words: list[str]) -> str | Literal[False] | None:
    """For ``token``'s arguments after the command: ``None`` (no option), the NAME of
    ``--profile NAME`` / ``--profile=NAME``, or ``False`` when the full parser is needed."""
    if not words:
        return None
    if len(words) == 2 and words[0] == "--profile" and not words[1].startswith("-"):
        return words[1]
    if len(words) == 1 and words[0].startswith("--profile="):
        return words[0][len("--profile=") :]
    return False


def run(
    args: argparse.Namespace | SimpleNamespace | None = None, profile: str | None = None
) -> int:
    """Print the token of ``args.profile`` (or ``profile`` on the fast path), else of
    the profile in use."""
    import time

    from ..tokens import store as token_store
    from ..tokens.keyring_item import StoreOpener  # imported by the store already

    if args is None:
        from types import SimpleNamespace  # not argparse: the fast path skips it

        args = SimpleNamespace(profile=profile)
    config = settings(args)
    # A keyring sign-in's item is read with keyring_timeout (read only then).
    stores = StoreOpener(settings=config)
    record = token_store.load_sign_in(config.token_path, stores=stores)
    now = time.time()
    if isinstance(record, token_store.ApiKeyRecord):
        # A Console sign-in: the key itself (it has no expiry and no refresh).
        token = record.api_key
        record = None
    elif record is not None and record.is_fresh(now, config.refresh_margin):
        # The fast path: a file read, no lock, no HTTP library, no thread.
        token = record.access_token
    elif record is None:
        from ..errors import NotSignedIn
        from ..hints import CLI_HINTS

        named = "" if config.profile == "default" else f" (profile {config.profile})"
        raise NotSignedIn(
            f"Not signed in to Claude{named}.", hint=f"Run {CLI_HINTS.login(config.profile)}."
        )
    else:
        from ..tokens.provider import TokenProvider

        # One call per process: a provider of its own, whose warnings go to stderr.
        provider = TokenProvider(config, on_warning=lambda text: err(f"warning: {text}"))
        token = provider.get_access_token()
        record = token_store.load_sign_in(config.token_path, stores=stores)
    if isinstance(record, token_store.TokenRecord):
        warn_login_expiry(record, now, config.profile)
    if sys.stdout is None:  # started with stdout closed
        err("error: there is no standard output to print the token to.")
        return 1
    sys.stdout.write(token + "\n")
    sys.stdout.flush()
    return 0


def warn_login_expiry(record: TokenRecord, now: float, profile: str = "default") -> None:
    """On stderr: the login ends within 3 days, or has already been found dead."""
    from ..tokens.store import LOGIN_WARNING_SECONDS

    if record.needs_login:
        from ..hints import CLI_HINTS

        err(
            "warning: your Claude login has ended; this token works only until it expires. "
            f"Run {CLI_HINTS.login(profile)}."
        )
        return
    deadline = record.refresh_token_expires_at
    if deadline is None or deadline - now > LOGIN_WARNING_SECONDS:
        return  # the common case: no need to load the status module
    from ..account.status import login_expiry_warning

    warning = login_expiry_warning(record, now)
    if warning:
        err(f"warning: {warning}")
