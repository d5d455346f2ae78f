"""N processes asking for a token at once while the stored one has expired.

For N = 1, 4, 16, 32: refresh grants counted at the emulator (goal: exactly 1
for every N — no replay, nobody signed out), distinct tokens handed out (goal:
1), and the wall time from the start signal until every process has its token;
the N = 1 run is the baseline the others are compared with.

    .venv/bin/python benchmarks/refresh_race.py [--counts 1,4,16,32]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.store import TokenRecord, save

WORKER = """
import hashlib, sys
from claude_code_oauth.tokens.provider import get_access_token
sys.stdout.write("ready\\n"); sys.stdout.flush()
sys.stdin.read(1)
token = get_access_token()
print(hashlib.sha256(token.encode()).hexdigest()[:16])
"""


def race(emu: ClaudeEmulator, count: int) -> tuple[int, int, int, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **emu.env(), "CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp}
        settings = Settings(environ=env)
        now = time.time()
        # Valid at the emulator, but expired as far as the client knows.
        record = TokenRecord.from_token_response(emu.issue_login(), now=now - 40_000)
        save(settings.token_path, record)
        before = emu.grants["refresh_token"]
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER],
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(count)
        ]
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline() == "ready\n"
        start = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("g")
            worker.stdin.flush()
        digests = [worker.communicate()[0].strip() for worker in workers]
        elapsed = time.perf_counter() - start
        failures = sum(1 for w in workers if w.returncode != 0)
    return emu.grants["refresh_token"] - before, len(set(digests)), failures, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,4,16,32")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    ok = True
    with ClaudeEmulator() as emu:
        print(
            f"{'procs':>5} {'refreshes':>9} {'tokens':>6} {'errors':>6} {'wall':>9} {'vs N=1':>7}"
        )
        base = None
        for count in counts:
            grants, tokens, failures, elapsed = race(emu, count)
            base = base or elapsed
            print(
                f"{count:>5} {grants:>9} {tokens:>6} {failures:>6} "
                f"{elapsed * 1000:>6.0f} ms {elapsed / base:>6.1f}x"
            )
            ok &= grants == 1 and tokens == 1 and failures == 0
        replays = emu.replays
    print(f"replays seen by the emulator: {replays}")
    print(
        "goal: exactly 1 refresh and 1 token for every N:",
        "met" if ok and not replays else "NOT met",
    )
    return 0 if ok and not replays else 1


if __name__ == "__main__":
    sys.exit(main())
