"""``/claude-code-doctor`` inside a real Code Puppy (tests/helpers/puppy_driver.py)."""

from __future__ import annotations

import json
from pathlib import Path

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver


def test_doctor_in_code_puppy(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
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
    assert ["claude-code-doctor", t.data(0)["our_help"][-1][1]] in t.data(0)["our_help"]

    signed_out = t.messages(1)
    errors = [text for kind, text in signed_out if kind == "error"]
    assert "✗ Sign-in: Not signed in to Claude." in errors
    assert any(
        kind == "success" and text.startswith("✓ Configuration") for kind, text in signed_out
    )
    assert any("fix: Sign in" in text and "/claude-code-auth" in text for _, text in signed_out)

    (report_text,) = [text for _, text in t.messages(3)]
    report = json.loads(report_text)
    assert report["ok"] is True
    # Inside Code Puppy the data directory is Code Puppy's.
    files = next(c for c in report["checks"] if c["name"] == "files")
    assert str(Path(home, ".code_puppy")) in files["detail"]

    inference = t.messages(4)
    assert inference[0][0] == "warning" and "counts against your usage" in inference[0][1]
    assert any(text.startswith("✓ Inference: ") for _, text in inference)
    assert sum(1 for r in emulator.requests if r.path == "/v1/messages") == 1

    (usage,) = [text for _, text in t.messages(5)]
    assert "unrecognized arguments: --bogus" in usage and "Usage: /claude-code-doctor" in usage
    help_text = " ".join(t.texts(6).split())
    assert "--inference" in help_text and "counts against usage" in help_text
    assert "Traceback" not in t.stderr
