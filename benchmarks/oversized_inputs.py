"""Peak memory of the CLI fed oversized inputs: huge local files and compressed bombs.

Each case runs one `claude-code-oauth` command as the only child of a small wrapper
(`claude_code_oauth.testing.peak_memory`), so `ru_maxrss` is the command's own peak;
against the baseline of the same command on a normal answer, in the same run. Cases:
a 2 GB sparse token file (`status`, `token`), a 64 MB token file of valid JSON
(`status`), and answers holding 2 GiB behind `Content-Encoding: gzip, gzip` (about 5
KB on the wire) or behind a single gzip layer (about 2 MiB), from the token endpoint
(`token`, expired token), the usage endpoint (`usage --refresh`), the profile endpoint
(`status --verify`), the models endpoint (`models --refresh`, `doctor`). Goal: every
peak under 300 MB.

    .venv/bin/python benchmarks/oversized_inputs.py [--src OTHER_CHECKOUT/src]

`--src` runs the CLI from another checkout (for example main's, for a before/after);
the emulator, the proxy and this script stay this checkout's. Reading 2 GiB whole, an
old version may take several GB and tens of seconds per case.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.testing.peak_memory import run_measured
from claude_code_oauth.tokens.store import TokenRecord, save

BOMB = 2 << 30
GOAL = 300 << 20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", help="run the CLI from this checkout's src directory")
    args = parser.parse_args()
    rows: list[tuple[str, int, float, str]] = []
    with ClaudeEmulator() as emu, HostileProxy(emu.base_url) as proxy:
        for name, setup, command, rule in _cases():
            with tempfile.TemporaryDirectory() as tmp:
                env = _env(emu, proxy, tmp, args.src)
                token_path = Path(env["CLAUDE_CODE_OAUTH_DATA_DIR"]) / "claude_code_oauth.json"
                setup(emu, token_path)
                proxy.clear_rules()
                if rule is not None:
                    proxy.add_rule(rule[0], encode=rule[1], inflate_by=BOMB, times=None)
                start = time.perf_counter()
                done, peak = run_measured(
                    [sys.executable, "-m", "claude_code_oauth", *command], env, timeout=900
                )
                wall = time.perf_counter() - start
                said = (done.stdout + done.stderr).strip().splitlines()
                marks = ("sent an answer", "Refusing", "error", "✗")
                last = next((ln for ln in said if any(m in ln for m in marks)), said[-1])
                rows.append((name, peak, wall, last.strip()[:110]))
    baseline = next(peak for name, peak, _, _ in rows if name.startswith("baseline"))
    for name, peak, wall, last in rows:
        print(f"{name:<44} peak {peak / 2**20:7.0f} MB  {peak / baseline:5.1f}x  {wall:5.1f} s")
        print(f"    {last}")
    worst = max(peak for _, peak, _, _ in rows)
    met = worst < GOAL
    print(f"goal: every peak under {GOAL >> 20} MB: {'met' if met else 'NOT met'}")
    return 0 if met else 1


def _env(emu: ClaudeEmulator, proxy: HostileProxy, tmp: str, src: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_CODE_OAUTH_")}
    env.update(proxy.env(emu.env()))
    env["HOME"] = tmp
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = os.path.join(tmp, "data")
    os.makedirs(env["CLAUDE_CODE_OAUTH_DATA_DIR"], mode=0o700)
    if src:
        env["PYTHONPATH"] = os.path.abspath(src)
    return env


def _signed_in(expires_in: float):
    def setup(emu: ClaudeEmulator, path: Path) -> None:
        record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        record.expires_at = time.time() + expires_in
        save(str(path), record)

    return setup


def _sparse(size: int):
    def setup(emu: ClaudeEmulator, path: Path) -> None:
        with open(path, "wb") as out:
            out.truncate(size)
        path.chmod(0o600)

    return setup


def _large_json(emu: ClaudeEmulator, path: Path) -> None:
    record = TokenRecord.from_token_response(emu.issue_login(), now=time.time()).to_json()
    record["organization"] = {"name": "x" * (64 << 20)}
    path.write_text(json.dumps(record))
    path.chmod(0o600)


def _cases():
    fresh, expired = _signed_in(3600), _signed_in(-10)
    yield "baseline: status --verify (normal answers)", fresh, ("status", "--verify"), None
    yield "2 GB sparse token file: status", _sparse(2 << 30), ("status",), None
    yield "2 GB sparse token file: token", _sparse(2 << 30), ("token",), None
    yield "64 MB token file (valid JSON): status", _large_json, ("status",), None
    for layers in (("gzip", "gzip"), ("gzip",)):
        label = ",".join(layers)
        yield f"{label} 2 GiB: token (refresh)", expired, ("token",), ("/v1/oauth/token", layers)
        yield (
            f"{label} 2 GiB: usage --refresh",
            fresh,
            ("usage", "--refresh"),
            ("/api/oauth/usage", layers),
        )
        yield (
            f"{label} 2 GiB: status --verify",
            fresh,
            ("status", "--verify"),
            ("/api/oauth/profile", layers),
        )
        yield (
            f"{label} 2 GiB: models --refresh",
            fresh,
            ("models", "--refresh"),
            ("/v1/models", layers),
        )
        yield f"{label} 2 GiB: doctor", fresh, ("doctor",), ("/v1/models", layers)


if __name__ == "__main__":
    sys.exit(main())
