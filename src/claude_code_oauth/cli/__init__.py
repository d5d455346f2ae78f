"""The ``claude-code-oauth`` command.

Subcommands (one module each, see :mod:`.parser`): login, status, token,
usage, logout, models, profiles, switch, config, doctor, storage. Errors are one line on stderr
with a non-zero exit
status, never a traceback. Only ``token`` prints a token, on purpose. Heavy
modules (httpx, filelock) are imported by the subcommands that need them, and
``token`` with a fresh token, and ``usage`` without ``--refresh``, skip the
argument parser altogether.
"""

from __future__ import annotations

import sys

from ..errors import ClaudeOAuthError, LoginCancelled


def main(argv: list[str] | None = None) -> int:
    from .output import err

    argv = sys.argv[1:] if argv is None else argv
    try:
        if argv[:1] == ["token"]:
            # Scripts call this on every request: skip building the parser.
            from .print_token import fast_path_profile, run

            profile = fast_path_profile(argv[1:])
            if profile is not False:
                return run(profile=profile)
        if argv in (["usage"], ["usage", "--json"]):
            # Status bars call this often: local files only, no parser, no HTTP library.
            from .usage import run as show_usage

            return show_usage(json_output=argv == ["usage", "--json"])
        from .parser import build_parser

        args = build_parser().parse_args(argv)
        code: int = args.func(args)
        return code
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
        # Whoever read our output went away (`| head -c1`): nothing to say, and the
        # interpreter's final flush of stdout must not complain either.
        _drop_stdout()
        return 1


def _drop_stdout() -> None:
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass
