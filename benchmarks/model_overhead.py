"""What our model path adds to a request: token lookup, OAuth headers, usage capture.

Against the in-process Claude emulator (whose answers carry the unified
rate-limit headers), interleaved in the same event loop:

* **ours**: the model Code Puppy gets for a ``claude-code-*`` entry
  (``build_model`` as the plugin calls it: the token provider per request, the
  usage capture and the extra-usage guard in ``warn`` mode, the host's per-model
  choices read per request — a ``stat`` of a real ``puppy.cfg`` — and the
  capability betas decided per request);
* **baseline**: the same pydantic-ai ``AnthropicModel`` over the same
  ``anthropic.AsyncAnthropic`` SDK with a static credential set once on the
  client (``auth_token``: the emulator, like Claude for these tokens, accepts
  only a bearer token), the same betas as a static header, and no auth hook at all.

Every request is what Code Puppy sends on a 1M-token entry: it thinks, so both
carry the interleaved-thinking and 1M-context betas.

Also, in isolation: the capture observer on a real answer's headers, the header
parse alone, the token lookup, and the capability decision with the host's
choices. Goals: ours adds at most 0.5 ms per request
(median), the capture itself under 50 µs.

    .venv/bin/python benchmarks/model_overhead.py [--requests 500]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth import USER_AGENT
from claude_code_oauth.account.extra_usage_guard import guard_for
from claude_code_oauth.account.unified_limits import parse
from claude_code_oauth.account.usage_capture import UsageCapture
from claude_code_oauth.config import Settings
from claude_code_oauth.hosts.code_puppy.model_choices import choices_for
from claude_code_oauth.models.anthropic_model import build_model
from claude_code_oauth.models.capabilities import (
    CONTEXT_1M,
    INTERLEAVED_THINKING,
    HostChoices,
    with_capabilities,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import provider_for
from claude_code_oauth.tokens.store import TokenRecord, save
from timing import median_ms

MODEL = "claude-sonnet-4-5-20250929"
#: As Code Puppy asks for a Claude model: thinking on.
THINKING: dict[str, Any] = {"anthropic_thinking": {"type": "enabled", "budget_tokens": 1024}}
#: What ours decides for such a request on a 1M entry, sent statically by the baseline.
BETAS = (INTERLEAVED_THINKING, CONTEXT_1M)
GOAL_ADDED_MS = 0.5
GOAL_CAPTURE_US = 50.0


def _baseline_model(base_url: str, token: str, beta: str) -> Any:
    import anthropic
    import httpx2
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    client = anthropic.AsyncAnthropic(
        base_url=base_url,
        auth_token=token,
        default_headers={"anthropic-beta": ",".join((*BETAS, beta)), "User-Agent": USER_AGENT},
        http_client=httpx2.AsyncClient(timeout=httpx2.Timeout(600.0, connect=15.0)),
    )
    return AnthropicModel(MODEL, provider=AnthropicProvider(anthropic_client=client))


async def _request(model: Any) -> float:
    from pydantic_ai.messages import ModelRequest
    from pydantic_ai.models import ModelRequestParameters

    messages = [ModelRequest.user_text_prompt("hello")]
    start = time.perf_counter()
    await model.request(messages, dict(THINKING), ModelRequestParameters())
    return time.perf_counter() - start


async def _interleaved(models: dict[str, Any], rounds: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():  # warm up connections, imports, caches
        for _ in range(20):
            await _request(model)
    shuffle = random.Random(1234).shuffle
    for _ in range(rounds):
        order = list(models.items())
        shuffle(order)  # no variant always goes first (or last)
        for name, model in order:
            samples[name].append(await _request(model))
    return samples


def _per_call_us(fn: Any, calls: int, batches: int = 31) -> float:
    """Median microseconds per call over ``batches`` batches of ``calls`` calls."""
    results = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        results.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(results)


def _paired_ms(first: list[float], second: list[float]) -> float:
    return statistics.median(a - b for a, b in zip(first, second, strict=True)) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    # The SDK's notice that Sonnet 4.5 retires on 2026-11-30: noise here.
    warnings.filterwarnings("ignore", "The model .* is deprecated", DeprecationWarning)
    with tempfile.TemporaryDirectory() as tmp, ClaudeEmulator() as emu:
        env = {**emu.env(), "CLAUDE_CODE_OAUTH_DATA_DIR": tmp, "HOME": tmp}
        settings = Settings(environ=env)
        record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        save(settings.token_path, record)
        # Plenty of room: the benchmark must not cross a limit.
        emu.configure_usage(limits={"five_hour": 1e9, "seven_day": 1e9, "seven_day_sonnet": 1e9})
        provider = provider_for(settings)
        guard = guard_for(settings)
        entry = {
            "name": MODEL,
            "custom_endpoint": {"url": emu.base_url},
            "context_length": 1_000_000,
        }
        cfg = Path(tmp) / "puppy.cfg"
        cfg.write_text("[puppy]\nmodel_settings_claude_code_x_fast = false\n")
        choices = choices_for(
            "claude-code-" + MODEL, read=lambda _: HostChoices(), config_file=lambda: str(cfg)
        )
        ours = build_model(
            "claude-code-" + MODEL,
            entry,
            settings,
            provider,
            observers=(guard.capture,),
            usage_guard=guard,
            host_choices=choices,
        )
        no_capture = build_model(
            "claude-code-" + MODEL, entry, settings, provider, observers=(), host_choices=choices
        )
        baseline = _baseline_model(emu.base_url, record.access_token, settings.anthropic_beta)
        samples = asyncio.run(
            _interleaved(
                {"baseline": baseline, "ours": ours, "no_capture": no_capture}, args.requests
            )
        )
        guard.capture.flush(5)
        writes = guard.capture.writes

        # The capture alone, on a real answer's headers (httpx2, as the model sees them).
        import httpx2

        answer = httpx2.post(
            emu.base_url + "/v1/messages",
            headers={
                "authorization": f"Bearer {record.access_token}",
                "anthropic-beta": settings.anthropic_beta,
                "anthropic-version": "2023-06-01",
            },
            json={"model": MODEL, "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]},
        )
        unified = sum(1 for k in answer.headers if k.startswith("anthropic-ratelimit-unified-"))
        capture = UsageCapture(settings)
        capture_us = _per_call_us(lambda: capture(answer), 2000)
        parse_us = _per_call_us(lambda: parse(answer.headers.multi_items()), 2000)
        token_us = _per_call_us(provider.get_access_token, 500)
        from pydantic_ai.models import ModelRequestParameters

        call = ([], THINKING, ModelRequestParameters())
        capabilities_us = _per_call_us(
            lambda: with_capabilities(call, {}, stream=True, long=True, choices=choices, own=None),
            2000,
        )
        capture.flush(5)
    base = median_ms(samples["baseline"])
    mine = median_ms(samples["ours"])
    bare = median_ms(samples["no_capture"])
    # Paired by round (the same moment of machine noise), then the median.
    added = _paired_ms(samples["ours"], samples["baseline"])
    capture_part = _paired_ms(samples["ours"], samples["no_capture"])
    print(f"requests per variant: {args.requests} (interleaved, emulator in-process)")
    print(f"baseline: same SDK, static credential   median {base:6.3f} ms")
    print(f"ours: token provider + capture + guard  median {mine:6.3f} ms")
    print(f"ours without capture and guard          median {bare:6.3f} ms")
    print(f"added per request (median of per-round differences) {added * 1000:+6.0f} µs")
    print(f"  of which capture + guard                           {capture_part * 1000:+6.0f} µs")
    print(
        f"capture observer alone: {capture_us:5.1f} µs per answer ({unified} unified headers); "
        f"header parse alone {parse_us:5.1f} µs; token lookup {token_us:5.1f} µs"
    )
    print(
        f"capability betas and host choices alone: {capabilities_us:5.1f} µs per request "
        "(a stat of puppy.cfg included)"
    )
    print(f"snapshot writes during the run: {writes} (at most one a second)")
    met_added = added <= GOAL_ADDED_MS
    met_capture = capture_us < GOAL_CAPTURE_US
    print(f"goal: added <= {GOAL_ADDED_MS} ms: {'met' if met_added else 'NOT met'}")
    print(f"goal: capture < {GOAL_CAPTURE_US:.0f} µs: {'met' if met_capture else 'NOT met'}")
    return 0 if met_added and met_capture else 1


if __name__ == "__main__":
    sys.exit(main())
