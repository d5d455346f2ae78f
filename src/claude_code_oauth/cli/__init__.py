"""The ``claude-code-oauth`` command.

Subcommands (one module each, see :mod:`.parser`): login, status, token,
logout, models, config. Errors are one line on stderr with a non-zero exit
status, never a traceback. Only ``token`` prints a token, on purpose. Heavy
modules (httpx, filelock) are imported by the subcommands that need them, and
``token`` with a fresh token skips the argument parser altogether.
"""

from __future__ import annotations

import sys

from ..errors import ClaudeOAuthError, LoginCancelled


def main(argv: list[str] | None = None) -> int:
    from .output import err

    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv == ["token"]:
            # Scripts call this on every request: skip building the parser.
            from .print_token import run

            return run()
        from .parser import build_parser

        args = build_parser().parse_args(argv)
        return args.func(args)
    except LoginCancelled as exc:
        err(str(exc))  # the user's own Ctrl-C is not an error
        return exc.exit_code
    except ClaudeOAuthError as exc:
        err(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        err("Cancelled.")
        return 130
    except BrokenPipeError:
        # Whoever read our output stopped (`claude-code-oauth config | head`): nothing
        # left to say. Point stdout at /dev/null so the exit's flush cannot fail again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
