"""Small timing helpers shared by the benchmark scripts (not part of the package)."""

from __future__ import annotations

import statistics
import subprocess
import time
from collections.abc import Callable, Sequence


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000.0


def time_call(fn: Callable[[], object], runs: int) -> list[float]:
    """Wall seconds of ``fn()`` per run."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def time_process(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall seconds of a whole process per run (output discarded; must exit 0)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return samples


def interleaved(
    commands: dict[str, tuple[Sequence[str], dict[str, str] | None]], runs: int
) -> dict[str, list[float]]:
    """Time several commands (each with its environment) alternately, so machine noise
    hits them alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (cmd, env) in commands.items():
            samples[name].extend(time_process(cmd, 1, env))
    return samples
