"""A Code Puppy installed fresh from the range whose pydantic-ai cannot drive the
anthropic SDK pip gives it today (0.0.721–0.0.749; ``make test`` builds 0.0.733 the
way a user would: ``pip install code-puppy==0.0.733``, then this project).

Every turn on one of our models is our one line naming both versions and the
command that fixes it — never pydantic-ai's ``TypeError``, never a traceback, and
nothing is sent. The doctor (``/claude-code-doctor`` and the command) says the same
with the cause. With the fix applied (the SDK ``pip install 'anthropic<1'`` picks,
put first on the path), the same Code Puppy serves our models.
"""

from __future__ import annotations

import json
import os
import subprocess
from importlib import metadata
from pathlib import Path

from claude_code_oauth.models.anthropic_model import REPLY_PREFIX
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.puppy_hosts import FIX_OVERLAY, PuppyHost, installed_version

ON_MISMATCHED_HOST = True
SONNET = "claude-code-claude-sonnet-4-5-20250929"


def _sent(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


def _fix(puppy: PuppyHost) -> str:
    return f"{os.path.join(puppy.venv, 'bin', 'python')} -m pip install 'anthropic<1'"


def test_every_turn_is_one_line_with_the_versions_and_the_fix(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    anthropic = installed_version(puppy.venv, "anthropic")
    pydantic_ai = installed_version(puppy.venv, "pydantic-ai-slim")
    home = driver.make_home(str(tmp_path))
    t = puppy.run(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "model_run", "model": SONNET},  # 2: a model from Code Puppy's factory
            {"op": "agent_run", "model": SONNET},  # 3: Code Puppy's own agent
            {"op": "prompt", "model": SONNET},  # 4: as the interactive loop runs a turn
            {"op": "cmd", "text": "/claude-code-doctor --json"},  # 5
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
    )
    expected = (
        f"{REPLY_PREFIX}This Python's pydantic-ai-slim {pydantic_ai} cannot drive anthropic "
        f"{anthropic}, so no Anthropic model can run here. Fix: `{_fix(puppy)}`, then "
        "restart Code Puppy."
    )
    assert t.data(2) == {"model_class": "FunctionModel", "output": expected}
    assert t.data(3).get("output") == expected, t.data(3)
    assert t.data(4)["ended"] == "answered" and t.data(4)["output"] == expected, t.data(4)
    # Code Puppy showed the turn's answer; nothing raised, nothing was sent.
    assert "cannot drive anthropic" in t.stderr
    assert "Traceback" not in t.stderr and "Unexpected error" not in t.stderr
    assert _sent(emulator) == 0

    (report_text,) = [text for _, text in t.messages(5)]
    checks = {c["name"]: c for c in json.loads(report_text)["checks"]}
    stack = checks["host_stack"]
    assert not stack["ok"]
    assert stack["detail"].startswith(
        f"pydantic-ai-slim {pydantic_ai} cannot drive anthropic {anthropic} (TypeError: "
    )
    assert stack["fix"] == f"`{_fix(puppy)}`, then restart Code Puppy."
    assert all(c["ok"] for name, c in checks.items() if name != "host_stack")


def test_the_command_line_doctor_names_the_fix(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator
) -> None:
    env = driver.puppy_env(driver.make_home(str(tmp_path)), emulator.env(), browser=None)
    done = subprocess.run(
        [os.path.join(puppy.venv, "bin", "claude-code-oauth"), "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    lines = done.stdout.splitlines()
    (mark,) = [i for i, line in enumerate(lines) if "Anthropic SDK and pydantic-ai" in line]
    assert lines[mark].startswith("✗ Anthropic SDK and pydantic-ai: pydantic-ai-slim ")
    assert lines[mark + 1] == f"    fix: `{_fix(puppy)}`, then restart Code Puppy."
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_with_the_fix_applied_the_same_code_puppy_serves_our_models(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    overlay = os.path.join(puppy.venv, FIX_OVERLAY)
    (fixed_sdk,) = [d.version for d in metadata.distributions(name="anthropic", path=[overlay])]
    assert fixed_sdk.startswith("0."), fixed_sdk  # what `pip install 'anthropic<1'` picks
    home = driver.make_home(str(tmp_path))
    env = driver.puppy_env(home, emulator.env(), browser=scripted_browser)
    env["PYTHONPATH"] = overlay
    t = puppy.run(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "agent_run", "model": SONNET},  # 2
            {"op": "cmd", "text": "/claude-code-doctor --json"},  # 3
        ],
        env,
    )
    assert t.data(2).get("output") == REPLY_TEXT, t.data(2)
    assert _sent(emulator) == 1
    (report_text,) = [text for _, text in t.messages(3)]
    stack = next(c for c in json.loads(report_text)["checks"] if c["name"] == "host_stack")
    assert stack["ok"] and stack["detail"].startswith(f"anthropic {fixed_sdk} (on httpx "), stack
    assert "Traceback" not in t.stderr
