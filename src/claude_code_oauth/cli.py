"""The ``claude-code-oauth`` command.

Subcommands: login, status, token, logout, models, config. Errors are one line
on stderr with a non-zero exit status, never a traceback. Only ``token`` prints
a token, on purpose. Heavy modules (httpx, filelock) are imported by the
subcommands that need them, so ``token`` with a fresh token starts fast.
"""

from __future__ import annotations

import sys

from . import __version__
from .errors import ClaudeOAuthError, LoginCancelled

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from .config import Settings
    from .token_store import TokenRecord

DESCRIPTION = """\
Sign in to Claude with OAuth (authorization code + PKCE, loopback callback),
keep the tokens fresh, and register the account's models for Code Puppy.

Tokens live in <data dir>/claude_code_oauth.json (mode 0600); the data dir is
$XDG_DATA_HOME/code_puppy if set, else ~/.code_puppy. Every setting can be
overridden by an environment variable CLAUDE_CODE_OAUTH_<KEY>; see
`claude-code-oauth config`.
"""

EXIT_STATUS = """\
exit status: 0 success; 1 failure (message on stderr); 2 bad usage or
configuration; 130 cancelled."""


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _settings() -> Settings:
    from .config import load_settings

    return load_settings()


# -- token -------------------------------------------------------------------


def cmd_token(args: argparse.Namespace | None = None) -> int:
    import time

    from . import token_store

    settings = _settings()
    record = token_store.load(settings.token_path)
    now = time.time()
    if record is not None and record.is_fresh(now, settings.refresh_margin):
        # The fast path: a file read, no lock, no HTTP library, no thread.
        token = record.access_token
    else:
        from .token_provider import TokenProvider

        # One call per process: a provider of its own, whose warnings go to stderr.
        provider = TokenProvider(settings, on_warning=lambda text: _err(f"warning: {text}"))
        token = provider.get_access_token()
        record = token_store.load(settings.token_path)
    if record is not None:
        _warn_login_expiry(record, now)
    sys.stdout.write(token + "\n")
    sys.stdout.flush()
    return 0


def _warn_login_expiry(record: TokenRecord, now: float) -> None:
    """On stderr: the login ends within 3 days, or has already been found dead."""
    from .token_store import LOGIN_WARNING_SECONDS

    if record.needs_login:
        _err(
            "warning: your Claude login has ended; this token works only until it expires. "
            "Run `claude-code-oauth login` (or /claude-code-auth in Code Puppy)."
        )
        return
    deadline = record.refresh_token_expires_at
    if deadline is None or deadline - now > LOGIN_WARNING_SECONDS:
        return  # the common case: no need to load the status module
    from .status import login_expiry_warning

    warning = login_expiry_warning(record, now)
    if warning:
        _err(f"warning: {warning}")


# -- status ------------------------------------------------------------------


def cmd_status(args: argparse.Namespace) -> int:
    from . import status

    report = status.collect(_settings(), verify=args.verify)
    if args.json:
        import json

        _out(json.dumps(report, indent=2))
    else:
        for line in status.render(report):
            _out(line)
    usable = report["signed_in"] and not report["needs_login"] and report["verified"] is not False
    return 0 if usable else 1


# -- login, models, logout ---------------------------------------------------


class _PrintReporter:
    """Progress on stdout, warnings on stderr."""

    def info(self, text: str) -> None:
        _out(text)

    def success(self, text: str) -> None:
        _out(text)

    def warning(self, text: str) -> None:
        _err(f"warning: {text}")


def cmd_login(args: argparse.Namespace) -> int:
    from . import operations

    settings = _settings()
    reporter = _PrintReporter()
    if args.no_models:
        operations.login(settings, reporter, open_browser=not args.no_browser, timeout=args.timeout)
    else:
        operations.login_and_register(
            settings, reporter, open_browser=not args.no_browser, timeout=args.timeout
        )
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from . import operations
    from .model_registry import registered_models

    settings = _settings()
    if args.refresh:
        # With --json, progress goes to stderr so stdout stays parseable.
        reporter = _StderrReporter() if args.json else _PrintReporter()
        operations.refresh_models(settings, reporter)
    entries = registered_models(settings)
    if args.json:
        import json

        _out(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0
    if not args.refresh:
        if not entries:
            _out("No Claude models are registered. Run `claude-code-oauth models --refresh`.")
        for key, entry in entries.items():
            length = entry.get("context_length")
            _out(f"{key}  ({entry.get('display_name', entry.get('name', ''))}, {length} tokens)")
    return 0


class _StderrReporter(_PrintReporter):
    def info(self, text: str) -> None:
        _err(text)

    def success(self, text: str) -> None:
        _err(text)


def cmd_logout(args: argparse.Namespace) -> int:
    from . import operations

    operations.logout(_settings(), _PrintReporter())
    return 0


# -- config ------------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> int:
    from .config import CLAUDE_CODE_OAUTH_CONFIG, env_name

    settings = _settings()
    # Validate each value the way the commands will use it.
    checked_as = {"token_file": "token_path", "models_file": "models_path"}
    rows = []
    for key in CLAUDE_CODE_OAUTH_CONFIG:
        value = settings.raw(key)
        if isinstance(value, tuple):
            value = "-".join(str(v) for v in value)
        problem = None
        try:
            resolved = getattr(settings, checked_as.get(key, key))
        except ClaudeOAuthError as exc:
            problem = str(exc)
        else:
            if key == "data_dir":
                value = resolved  # Code Puppy's rule (or the override), resolved
        rows.append(
            {
                "key": key,
                "value": value,
                "env": env_name(key),
                "source": settings.source(key),
                "error": problem,
            }
        )
    bad = [row for row in rows if row["error"]]
    if args.json:
        import json

        _out(json.dumps(rows, indent=2))
    else:
        for row in rows:
            _out(f"{row['key']:<24} {row['value']!s:<48} {row['env']} ({row['source']})")
        for row in bad:
            _err(f"error: {row['error']}")
    return 2 if bad else 0


# -- parser ------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="claude-code-oauth",
        description=DESCRIPTION,
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    login = sub.add_parser(
        "login",
        help="sign in with your browser and register the account's models",
        description="Sign in: opens a browser (or prints the URL) and waits for the loopback "
        "callback on http://localhost:PORT/callback; you can also paste CODE#STATE from the "
        "manual page, or the callback URL, on stdin. Then discovers and registers the models.",
    )
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="print the URL instead of opening a browser (automatic over SSH or without a display)",
    )
    login.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for the sign-in (default: callback_timeout, 180)",
    )
    login.add_argument(
        "--no-models", action="store_true", help="skip model discovery and registration"
    )
    login.set_defaults(func=cmd_login)

    status = sub.add_parser(
        "status",
        help="show whether you are signed in (never shows a token)",
        description="Show the account, token and login expiry, scopes, and the token file. "
        "No network access unless --verify. Exit status 0 when signed in and usable.",
    )
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--verify", action="store_true", help="ask the server whether it accepts the token"
    )
    status.set_defaults(func=cmd_status)

    token = sub.add_parser(
        "token",
        help="print a valid access token (refreshing if needed)",
        description="Print a valid access token and nothing else on stdout, for scripts and "
        "credential helpers. Refreshes it first when it is about to expire. Exit 1 with a "
        "message on stderr when not signed in.",
    )
    token.set_defaults(func=cmd_token)

    logout = sub.add_parser(
        "logout",
        help="remove the stored tokens and the registered models",
        description="Remove the token file and exactly the models this tool registered. "
        "Safe to run when already signed out.",
    )
    logout.set_defaults(func=cmd_logout)

    models = sub.add_parser(
        "models",
        help="list the registered claude-code-* models",
        description="List the models registered in extra_models.json; --refresh discovers "
        "them again from the account first.",
    )
    models.add_argument("--refresh", action="store_true", help="re-discover and re-register")
    models.add_argument("--json", action="store_true", help="machine-readable output")
    models.set_defaults(func=cmd_models)

    config = sub.add_parser(
        "config",
        help="show the effective configuration and each key's environment variable",
        description="Show every configuration key, its effective value, the environment "
        "variable that overrides it, and where the value came from.",
    )
    config.add_argument("--json", action="store_true", help="machine-readable output")
    config.set_defaults(func=cmd_config)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["token"]:
            # Scripts call this on every request: skip building the parser.
            return cmd_token()
        args = build_parser().parse_args(argv)
        return args.func(args)
    except LoginCancelled as exc:
        _err(str(exc))  # the user's own Ctrl-C is not an error
        return exc.exit_code
    except ClaudeOAuthError as exc:
        _err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("Cancelled.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
