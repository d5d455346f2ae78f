"""Chaos: N processes refresh 1-second tokens while one of them is SIGKILLed every 0.3 s.

N = 32 worker processes share one login whose access tokens live 1 second, so a
refresh (a rotation of the single-use refresh token) happens about once a
second, under the file lock, by whichever process gets there first. For 60 s a
random worker is SIGKILLed every 0.3 s and a new one started in its place. The
emulator logs every refresh grant and every replay (a spent refresh token
presented again, which ends the login everywhere).

Each login death is classified:

* **unavoidable window** — the grant that spent the replayed token issued a new
  one that was never presented, and a worker holding the token lock was killed
  between that grant and the replay: the server rotated, the process died before
  saving (the window docs/refresh-and-security.md describes; no client can close it);
* **bug** — anything else (the new refresh token was lost without such a kill).

After a death the benchmark signs in again (a fresh login written under the
lock) and the run goes on. Meanwhile a thread re-reads the token file as fast as
it can: it must always be a regular file, mode 0600, strict JSON (no NaN or
Infinity) that loads with sane numbers.

Goal: 0 bug deaths, the token file always valid 0600 JSON.

    .venv/bin/python benchmarks/chaos_refresh.py [--processes 32] [--seconds 60]
        [--kill-every 0.3] [--seed N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.refresh_deaths import BUG, WINDOW, Kill, classify, lock_holders
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.store import TokenRecord

#: Access tokens live this long (seconds): a rotation about every second.
ACCESS_TTL = 1
#: Pause between two token requests of one worker (a busy client, not a spin loop).
WORKER_PACE = 0.02


def worker() -> int:
    """One worker process: ask for a valid token, again and again, until killed."""
    from claude_code_oauth.config import load_settings
    from claude_code_oauth.errors import ClaudeOAuthError
    from claude_code_oauth.tokens.provider import TokenProvider

    provider = TokenProvider(load_settings(), on_warning=lambda text: None)
    while True:
        try:
            provider.get_access_token()
            time.sleep(WORKER_PACE)
        except ClaudeOAuthError:
            time.sleep(5 * WORKER_PACE)  # signed out (a death): wait for the new login


class FileWatch(threading.Thread):
    """Re-reads the token file continuously; counts checks and what was wrong."""

    def __init__(self, path: str) -> None:
        super().__init__(name="file-watch", daemon=True)
        self.path = path
        self.checks = 0
        self.problems: dict[str, int] = {}
        self.stop = threading.Event()

    def _problem(self, kind: str) -> None:
        self.problems[kind] = self.problems.get(kind, 0) + 1

    def check(self) -> None:
        try:
            info = os.lstat(self.path)
            with open(self.path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            self._problem("missing")
            return
        self.checks += 1
        if not stat.S_ISREG(info.st_mode):
            self._problem("not a regular file")
        if stat.S_IMODE(info.st_mode) != 0o600:
            self._problem(f"mode {stat.S_IMODE(info.st_mode):04o}")

        def refuse(name: str) -> None:
            raise ValueError(f"{name} is not JSON")

        try:
            record = TokenRecord.from_json(json.loads(raw, parse_constant=refuse))
        except ValueError:
            self._problem("not valid token JSON")
            return
        if record.repaired:
            self._problem("unusable numbers")

    def run(self) -> None:
        # A short wait between reads leaves the GIL to the emulator in this process.
        while not self.stop.wait(0.001):
            self.check()


def sign_in(emu: ClaudeEmulator, settings: Settings) -> None:
    """A fresh login (as after `claude-code-oauth login`), written under the lock."""
    record = TokenRecord.from_token_response(emu.issue_login())
    with token_store.held(token_store.token_lock(settings)):
        token_store.save(settings.token_path, record)


def spawn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def run(processes: int, seconds: float, kill_every: float, seed: int) -> int:
    rng = random.Random(seed)
    with (
        tempfile.TemporaryDirectory() as tmp,
        ClaudeEmulator(access_ttl=ACCESS_TTL, login_ttl=None) as emu,
    ):
        data_dir = os.path.join(tmp, "data")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_CODE_OAUTH_")}
        env.update(emu.env(), CLAUDE_CODE_OAUTH_DATA_DIR=data_dir, HOME=tmp)
        settings = Settings(environ=env)
        sign_in(emu, settings)
        lock_file = token_store.lock_path(settings.token_path)
        watch = FileWatch(settings.token_path)
        watch.start()
        workers = [spawn(env) for _ in range(processes)]
        kills: list[Kill] = []
        deaths_seen = signed_in = 0
        started = time.monotonic()
        next_kill = started + kill_every
        try:
            while (now := time.monotonic()) < started + seconds:
                if len(emu.replay_log) > deaths_seen:
                    deaths_seen = len(emu.replay_log)
                    sign_in(emu, settings)
                    signed_in += 1
                if now >= next_kill:
                    slot = rng.randrange(processes)
                    victim = workers[slot]
                    held = victim.pid in lock_holders(lock_file)
                    victim.send_signal(signal.SIGKILL)
                    kills.append(Kill(time.monotonic(), victim.pid, held))
                    victim.wait()
                    workers[slot] = spawn(env)
                    next_kill += kill_every
                time.sleep(0.01)
        finally:
            for proc in workers:
                proc.kill()
            for proc in workers:
                proc.wait()
            watch.stop.set()
            watch.join()
        watch.check()  # the file as the last writer left it
        leftovers = [n for n in os.listdir(data_dir) if n.endswith(".tmp")]
        deaths = classify(emu, kills)
        grants = emu.grants["refresh_token"]
        replays = emu.replays
    held = sum(1 for kill in kills if kill.held_lock)
    window = sum(1 for death in deaths if death.kind == WINDOW)
    bugs = sum(1 for death in deaths if death.kind == BUG)
    print(
        f"{processes} processes, {ACCESS_TTL}-second tokens, {seconds:g} s, "
        f"a SIGKILL every {kill_every:g} s (seed {seed}); {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"kills: {len(kills)} ({held} while holding the token lock), each restarted")
    print(f"refresh grants: {grants}  ({grants / seconds:.1f}/s)")
    print(f"replays: {replays}  login deaths: {replays} (signed in again {signed_in}x)")
    print(f"  unavoidable window (killed after the server rotated, before the save): {window}")
    print(f"  bugs: {bugs}")
    for death in deaths:
        print(f"    +{death.at - started:.2f} s: {death.kind}: {death.why}")
    problems = ", ".join(f"{kind}: {count}" for kind, count in sorted(watch.problems.items()))
    print(
        f"token file: {watch.checks} reads, "
        + (f"PROBLEMS: {problems}" if problems else "always a regular 0600 file of valid JSON")
    )
    print(f"temporary files left by killed writers (swept after 60 s): {len(leftovers)}")
    met = bugs == 0 and not watch.problems
    print("goal: 0 bug deaths, the token file always valid 0600 JSON:", "met" if met else "NOT met")
    return 0 if met else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--kill-every", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    seed = random.randrange(1 << 30) if args.seed is None else args.seed
    return run(args.processes, args.seconds, args.kill_every, seed)


if __name__ == "__main__":
    sys.exit(main())
