"""What following the active profile costs a model request.

A ``claude-code-<model>`` entry asks which profile is active on every request
(:class:`ProfileTokenSource`: one ``stat`` of the active-profile file, then the
profile's shared provider). Timed per call, in the same run, against the
provider of that profile asked directly (the baseline: what an entry pinned to
a profile, or a build without profiles, pays). Both read the fresh token from
its file. Our model asks ``get_credential`` (the token, or a Console sign-in's API
key): timed too, for the active profile and for a profile holding an API key.
Goal: under 50 µs added per request.

    .venv/bin/python benchmarks/profile_resolution.py [--calls 20000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth.config import Settings
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.token_source import ProfileTokenSource
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import provider_for
from claude_code_oauth.tokens.store import TokenRecord, save
from timing import median_ms, time_call

GOAL_US = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ClaudeEmulator() as emu:
        settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": tmp})
        for profile in ("default", "work"):
            body = emu.issue_login()
            save(
                settings.with_profile(profile).token_path,
                TokenRecord.from_token_response(body, now=time.time()),
            )
        from claude_code_oauth.login.console_key import create_api_key

        console = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": tmp, **emu.env()})
        login = emu.issue_login(console=True)
        save(
            settings.with_profile("api").token_path,
            create_api_key(console, login["access_token"], login),
        )
        write_active_profile(settings, "work")
        direct = provider_for(settings.with_profile("work"))
        following = ProfileTokenSource(settings)
        pinned = ProfileTokenSource(settings, "work")
        calls = {
            "provider of the profile, directly": direct.get_access_token,
            "entry pinned to the profile": pinned.get_access_token,
            "entry following the active profile": following.get_access_token,
            "following, as the model asks (credential)": following.get_credential,
            "entry pinned to a Console profile (key)": ProfileTokenSource(
                settings, "api"
            ).get_credential,
        }
        for call in calls.values():
            time_call(call, 500)  # warm up
        samples = {name: [] for name in calls}
        for _ in range(args.calls // 100):  # interleaved, so noise hits all alike
            for name, call in calls.items():
                samples[name].extend(time_call(call, 100))
    medians_us = {name: median_ms(values) * 1000 for name, values in samples.items()}
    base = medians_us["provider of the profile, directly"]
    for name, value in medians_us.items():
        print(f"{name:<42} median {value:6.1f} µs  (+{value - base:5.1f} µs)")
    # What our model asks for every request (the token, or a Console sign-in's key).
    added = medians_us["following, as the model asks (credential)"] - base
    met = added < GOAL_US
    verdict = "met" if met else "NOT met"
    print(f"goal: following the active profile adds < {GOAL_US:g} µs: {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
