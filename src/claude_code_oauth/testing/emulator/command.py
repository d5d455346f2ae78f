"""``python -m claude_code_oauth.testing.emulator``: serve the emulator as a process.

Prints ``Claude emulator listening on http://127.0.0.1:PORT`` first, then the
``export`` lines that point a client at it, and stops cleanly on SIGINT or
SIGTERM (exit status 0).
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from .control import DEFAULT_ACCESS_TTL, DEFAULT_CLIENT_ID, DEFAULT_LOGIN_TTL, ClaudeEmulator


def _login_ttl(text: str) -> int | None:
    if text.strip().lower() in ("none", "never"):
        return None
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds, or 'none'")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m claude_code_oauth.testing.emulator",
        description="Serve a local emulator of Claude's OAuth and API endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument(
        "--auto-approve", action="store_true", help="skip the consent page and approve at once"
    )
    parser.add_argument("--access-ttl", type=int, default=DEFAULT_ACCESS_TTL, metavar="S")
    parser.add_argument(
        "--login-ttl",
        type=_login_ttl,
        default=DEFAULT_LOGIN_TTL,
        metavar="S",
        help="seconds a login can be refreshed for, or 'none'",
    )
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="EMAIL",
        help="another account the consent page offers (repeatable)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run until SIGINT or SIGTERM; exit status 0 after a clean stop."""
    args = _parser().parse_args(argv)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    emulator = ClaudeEmulator(
        host=args.host,
        port=args.port,
        auto_approve=args.auto_approve,
        client_id=args.client_id,
        access_ttl=args.access_ttl,
        login_ttl=args.login_ttl,
    )
    try:
        for email in args.account:
            emulator.add_account(email)
    except ValueError as err:
        print(f"Claude emulator: {err}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except OSError as err:
        print(
            f"Claude emulator: cannot listen on {args.host}:{args.port}: {err.strerror}",
            file=sys.stderr,
        )
        return 1
    try:
        print(f"Claude emulator listening on {emulator.base_url}", flush=True)
        for name, value in emulator.env().items():
            print(f"export {name}={shlex.quote(value)}", flush=True)
        # Short waits keep the main thread responsive to signals on every platform.
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0
