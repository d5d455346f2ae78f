"""Registering 50 models into extra_models.json files of growing size.

For files with 0, 1 000 and 10 000 foreign entries: the median time of
``register_models`` (goal: under 200 ms at 10 000), the foreign entries lost
(goal: 0, checked by content and key order), and as a baseline measured in the
same run the median time of just parsing and re-serialising the same file.

    .venv/bin/python benchmarks/registry_scale.py [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth.config import Settings
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import register_models
from timing import median_ms

MODELS = [
    DiscoveredModel(f"claude-bench-{i:02d}", f"Bench {i}", "2026-01-01T00:00:00Z", None)
    for i in range(50)
]


def foreign(count: int) -> dict[str, object]:
    return {
        f"user-model-{i:05d}": {
            "type": "custom_openai",
            "name": f"m{i}",
            "custom_endpoint": {"url": f"https://example.invalid/{i}", "api_key": "$KEY"},
            "context_length": 128000 + i,
            "notes": ["kept", i, None, {"nested": True}],
        }
        for i in range(count)
    }


def measure(count: int, runs: int) -> tuple[float, float, int]:
    entries = foreign(count)
    original = json.dumps(entries, indent=2) + "\n"
    register_ms, baseline_ms, lost = [], [], 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp})
        path = Path(settings.models_path)
        for _ in range(runs):
            path.write_text(original)
            start = time.perf_counter()
            register_models(settings, MODELS)
            register_ms.append(time.perf_counter() - start)
            start = time.perf_counter()
            json.dumps(json.loads(path.read_text()), indent=2)
            baseline_ms.append(time.perf_counter() - start)
            after = json.loads(path.read_text())
            kept = [k for k in after if k in entries]
            lost += len(entries) - len(kept)
            if kept != list(entries) or any(after[k] != entries[k] for k in kept):
                lost += 1  # order or content changed
    return median_ms(register_ms), median_ms(baseline_ms), lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    ok = True
    print(f"{'foreign':>8} {'register':>11} {'parse+dump':>11} {'ratio':>6} {'lost':>5}")
    for count in (0, 1_000, 10_000):
        took, base, lost = measure(count, args.runs)
        ratio = f"{took / base:.1f}x" if base > 0.05 else "-"
        print(f"{count:>8} {took:>8.1f} ms {base:>8.1f} ms {ratio:>6} {lost:>5}")
        ok &= lost == 0 and (count != 10_000 or took < 200)
    print("goal: under 200 ms at 10 000 foreign entries, 0 lost:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
