"""Start-up cost inside Code Puppy: extra import time of each Claude plugin.

In fresh processes (median of 10 each): the time to import our adapter and the
bundled `claude_code_oauth` plugin's module *after* `import code_puppy.callbacks`
(which Code Puppy itself pays anyway), and which heavy modules each import pulls
in that were not already loaded. Goal for ours: under 5 ms.

    .venv/bin/python benchmarks/plugin_import.py [--runs 10]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import json, sys, time
import code_puppy.callbacks
before = set(sys.modules)
start = time.perf_counter()
import {module}
took = time.perf_counter() - start
new = sorted(set(sys.modules) - before)
print(json.dumps({{"ms": took * 1000, "new": new}}))
"""

MODULES = {
    "claude-code-oauth adapter (ours)": "claude_code_oauth.hosts.code_puppy.plugin",
    "bundled claude_code_oauth plugin": (
        "code_puppy_core_plugins.claude_code_oauth.register_callbacks"
    ),
}
HEAVY = ("httpx", "httpx2", "anthropic", "pydantic_ai", "rich", "requests", "filelock", "openai")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    results: dict[str, list[float]] = {name: [] for name in MODULES}
    pulled: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    # Both plugins as pip would install them: byte-compiled (this checkout is editable
    # and may run under PYTHONDONTWRITEBYTECODE=1, which would recompile ours each time).
    import claude_code_oauth

    compileall.compile_dir(os.path.dirname(claude_code_oauth.__file__), quiet=1)
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
        env.update(HOME=home, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
        for _ in range(args.runs):
            for name, module in MODULES.items():  # interleaved: noise hits both alike
                out = subprocess.run(
                    [sys.executable, "-c", PROBE.format(module=module)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                data = json.loads(out.strip().splitlines()[-1])
                results[name].append(data["ms"])
                counts[name] = len(data["new"])
                pulled[name] = sorted(
                    {m.split(".")[0] for m in data["new"] if m.split(".")[0] in HEAVY}
                )
    ours = statistics.median(results["claude-code-oauth adapter (ours)"])
    bundled = statistics.median(results["bundled claude_code_oauth plugin"])
    for name in MODULES:
        heavy = ", ".join(pulled[name]) or "none"
        print(
            f"{name:<34} +{statistics.median(results[name]):7.1f} ms  "
            f"({counts[name]} new modules; heavy: {heavy})"
        )
    print(f"ratio bundled / ours: {bundled / ours:.0f}x")
    print(f"goal: ours under 5 ms: {'met' if ours < 5 else 'NOT met'}")
    return 0 if ours < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
