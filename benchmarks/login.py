"""Login latency against the emulator with a scripted browser.

Prints, over 20 logins: the median time from the callback's arrival at the
loopback receiver to the token file being saved (goal: under 20 ms), the median
whole-login wall time, and as a baseline measured in the same run the median
time of one bare token-endpoint exchange (a plain HTTP POST, no file write).

    .venv/bin/python benchmarks/login.py [--runs 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth.config import Settings
from claude_code_oauth.login.flow import LoginFlow
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.scripted_browser import open_url
from timing import median_ms


def one_login(settings: Settings) -> tuple[float, float]:
    start = time.perf_counter()
    with LoginFlow(settings) as flow:
        urls = flow.start()
        # As a real browser is: on the one-time start address, which redirects onwards.
        browser = threading.Thread(target=open_url, args=(urls.start,), daemon=True)
        browser.start()
        result = flow.wait()
    browser.join()
    return result.callback_to_saved, time.perf_counter() - start


def bare_exchange(emu: ClaudeEmulator, client: httpx.Client) -> float:
    """One authorization_code exchange by hand: what any client must at least spend."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlencode, urlsplit

    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(32)
    redirect = emu.manual_redirect_uri
    query = urlencode(
        {
            "code": "true",
            "client_id": emu.client_id,
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "user:inference",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "state": state,
        }
    )
    answer = client.get(f"{emu.base_url}/oauth/authorize?{query}", follow_redirects=False)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect,
        "client_id": emu.client_id,
        "code_verifier": verifier,
        "state": state,
    }
    start = time.perf_counter()
    client.post(f"{emu.base_url}/v1/oauth/token", json=body).raise_for_status()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ClaudeEmulator(auto_approve=True) as emu:
        env = {**emu.env(), "CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp}
        settings = Settings(environ=env)
        one_login(settings)  # warm-up: imports, first connections
        to_saved, whole = zip(*(one_login(settings) for _ in range(args.runs)), strict=True)
        with httpx.Client() as client:
            baseline = [bare_exchange(emu, client) for _ in range(args.runs)]
        grants = emu.grants["authorization_code"]
    saved_ms = median_ms(to_saved)
    exchange_ms = median_ms(baseline)
    print(f"logins: {args.runs} (+1 warm-up), code exchanges at the emulator: {grants}")
    print(f"callback arrival -> token file saved: median {saved_ms:.1f} ms (goal < 20 ms)")
    print(f"whole login (port open .. saved):    median {median_ms(whole):.1f} ms")
    print(f"baseline, one bare token POST:        median {exchange_ms:.1f} ms")
    print(f"ratio callback->saved / bare POST:   {saved_ms / exchange_ms:.2f}x")
    return 0 if saved_ms < 20 else 1


if __name__ == "__main__":
    sys.exit(main())
