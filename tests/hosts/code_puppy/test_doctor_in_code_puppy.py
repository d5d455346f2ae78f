"""``/claude-code-doctor`` inside a real Code Puppy (tests/helpers/puppy_driver.py)."""

from __future__ import annotations

import json
from pathlib import Path

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost, installed_version


def test_doctor_in_code_puppy(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    t = driver.run_driver(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-doctor"},  # 1: not signed in
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "cmd", "text": "/claude-code-doctor --json"},  # 3
            {"op": "cmd", "text": "/claude-code-doctor --inference"},  # 4
            {"op": "cmd", "text": "/claude-code-doctor --bogus"},  # 5
            {"op": "cmd", "text": "/claude-code-doctor --help"},  # 6
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        timeout=180,
    )
    assert dict(t.data(0)["our_help"])["claude-code-doctor"].startswith("Check the Claude setup")

    # The whole checklist is one message (Code Puppy may reorder separate ones).
    ((kind, report_lines),) = t.messages(1)
    lines = report_lines.splitlines()
    assert kind == "warning" and lines[0].startswith("✓ Configuration")
    assert lines[lines.index("✗ Sign-in: Not signed in to Claude.") + 1].startswith(
        "    fix: Sign in: /claude-code-auth."
    )

    (report_text,) = [text for _, text in t.messages(3)]
    report = json.loads(report_text)
    assert report["ok"] is True
    # Inside Code Puppy the data directory is Code Puppy's.
    files = next(c for c in report["checks"] if c["name"] == "files")
    assert str(Path(home, ".code_puppy")) in files["detail"]
    # This release's anthropic SDK and pydantic-ai, as installed, work together.
    stack = next(c for c in report["checks"] if c["name"] == "host_stack")
    sdk, pydantic_ai = (installed_version(puppy.venv, d) for d in ("anthropic", "pydantic-ai-slim"))
    assert stack["detail"].startswith(f"anthropic {sdk} (on httpx"), stack
    assert f", pydantic-ai-slim {pydantic_ai}: they work together" in stack["detail"]

    notice, result = t.messages(4)
    assert notice[0] == "warning" and "counts against your usage" in notice[1]
    assert result[0] == "success" and "\n✓ Inference: " in result[1]
    assert sum(1 for r in emulator.requests if r.path == "/v1/messages") == 1

    (usage,) = [text for _, text in t.messages(5)]
    assert "unrecognized arguments: --bogus" in usage and "Usage: /claude-code-doctor" in usage
    help_text = " ".join(t.texts(6).split())
    assert "--inference" in help_text and "counts against usage" in help_text
    assert "Traceback" not in t.stderr
