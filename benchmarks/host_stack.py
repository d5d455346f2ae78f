"""What the host-stack check adds to a process that builds our first model.

In fresh processes (median of 10 each, interleaved), after importing what
``build_model`` imports anyway (anthropic, pydantic-ai's Anthropic model and
provider):

* **check**: ``host_stack.check()`` alone — one streamed request through
  pydantic-ai's ``AnthropicModel`` over the SDK, answered in memory. Most of it is
  the SDK building its pydantic validators for the stream's events, which the
  first real request pays anyway; a process that only asks (``doctor``) pays it all.
* **first request** (baseline): the same streamed request without the check —
  what the first turn costs a process anyway.
* **check, then the first request**: its difference to the baseline is what the
  check adds to a Code Puppy session. Goal: under 50 ms. Once per process, never
  at plugin import.
* **check again**: in the same processes, the check once more (its cache cleared)
  once the validators exist — its own work (thread, event loop, metadata, the
  request): the part of it no later request would have paid, measured without the
  noise of comparing two sets of processes.

    .venv/bin/python benchmarks/host_stack.py [--runs 10]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys

PROBE = """
import asyncio, json, time
import anthropic
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from claude_code_oauth.models import host_stack
host_stack.sdk_http()
start = time.perf_counter()
if {check}:
    stack = host_stack.check()
    assert stack.cause is None, stack
if {request}:
    asyncio.run(host_stack._round_trip())
took = time.perf_counter() - start
host_stack.check.cache_clear()
again = time.perf_counter()
host_stack.check()
print(json.dumps({{"ms": took * 1000, "again_ms": (time.perf_counter() - again) * 1000}}))
"""
MODES = {
    "check": (True, False),
    "first request": (False, True),
    "check, then the first request": (True, True),
}
GOAL_MS = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    # As pip would install the package: byte-compiled.
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    compileall.compile_dir(src, quiet=1)
    samples: dict[str, list[float]] = {name: [] for name in [*MODES, "check again"]}
    for _ in range(args.runs):
        for name, (check, request) in MODES.items():
            code = PROBE.format(check=check, request=request)
            done = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            )
            result = json.loads(done.stdout.splitlines()[-1])
            samples[name].append(result["ms"])
            samples["check again"].append(result["again_ms"])
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name}: {value:.1f} ms (median of {args.runs})")
    added = medians["check, then the first request"] - medians["first request"]
    verdict = "met" if added < GOAL_MS else "MISSED"
    print(f"added to a session's first request: {added:.1f} ms; goal < {GOAL_MS:.0f} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
