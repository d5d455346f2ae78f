"""A Console sign-in inside a real Code Puppy: /claude-code-auth --console, then prompts whose
requests carry the created API key (x-api-key) and no OAuth header, answered by the emulator.

One Code Puppy subprocess (tests/helpers/puppy_driver.py) signs in with the scripted
browser on the emulator's Console page, runs Code Puppy's own agent and a model built by
its model factory, shows status and usage, meets a key revoked in the Console, and logs
out. The key is never printed: the test asks the emulator whether a header is a key it
created, and looks for the key itself in every file Code Puppy wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_code_oauth import __version__
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver

SONNET = "claude-code-claude-sonnet-4-5-20250929"
HAIKU = "claude-code-claude-haiku-4-5-20251001"


def _facts(emulator: ClaudeEmulator) -> list[dict[str, Any]]:
    """What each /v1/messages request carried (facts only, never a header value)."""
    facts = []
    for request in emulator.requests:
        if request.path != "/v1/messages":
            continue
        headers = request.headers
        betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
        facts.append(
            {
                "minted_key": emulator.api_key_created(headers.get("x-api-key", "")),
                "authorization": "authorization" in headers,
                "oauth_beta": "oauth-2025-04-20" in betas,
                "user_agent": headers.get("user-agent"),
                "version": headers.get("anthropic-version"),
            }
        )
    return facts


KEY_ONLY = {
    "minted_key": True,
    "authorization": False,
    "oauth_beta": False,
    "user_agent": f"claude-code-oauth/{__version__}",
    "version": "2023-06-01",
}


def test_console_sign_in_in_code_puppy_sends_the_key_and_nothing_of_oauth(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    data = Path(home, ".code_puppy")
    marks: dict[str, int] = {}
    holding: list[str] = []
    usage_files: list[str] = []

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            marks[event["label"]] = len(_facts(emulator))
            # While signed in: which files Code Puppy and we wrote hold the key?
            holding.extend(
                str(path.relative_to(home))
                for path in Path(home).rglob("*")
                if path.is_file() and b"sk-ant-api03-" in path.read_bytes()
            )
            # API-key answers carry no unified headers: no usage snapshot is written.
            usage_files.extend(str(p.name) for p in data.glob("*.usage.json"))
            emulator.revoke_api_keys()
            send("go")

    t = driver.run_driver(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth --help"},
            {"op": "cmd", "text": "/claude-code-auth --console"},  # 2
            {"op": "models"},
            {"op": "env_token"},  # 4
            {"op": "prompt", "model": HAIKU, "prompt": "hello"},
            {"op": "agent_run", "model": SONNET},  # 6
            {"op": "model_run", "model": HAIKU},
            {"op": "cmd", "text": "/claude-code-status"},  # 8
            {"op": "cmd", "text": "/claude-code-usage"},
            {"op": "wait", "label": "revoke"},  # 10
            {"op": "prompt", "model": HAIKU, "prompt": "after revocation"},
            {"op": "cmd", "text": "/claude-code-logout"},  # 12
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=on_event,
        timeout=120,
    )
    assert "--console" in t.texts(1)
    signed_in = t.texts(2)
    (listed,) = emulator.api_keys
    last4 = listed["partial_key_hint"][-4:]
    assert "Signed in to the Anthropic Console as emulated.user@example.com" in signed_in
    assert f"created the API key '{listed['name']}' (…{last4})" in signed_in
    assert "were not kept" in signed_in
    assert "Select a model with: /set model claude-code-" in signed_in

    ours = {k: v for k, v in t.data(3)["models"].items() if v.get("oauth_source")}
    assert SONNET in ours and HAIKU in ours
    assert {v["type"] for v in ours.values()} == {"claude_code_oauth_api_key"}
    # The key is not exported into Code Puppy's environment (only OAuth tokens are).
    assert t.data(4)["present"] is False

    # 1. A prompt as the interactive loop runs it, Code Puppy's agent, the model factory:
    #    every request carries the created key and no OAuth header, and is answered.
    assert t.data(5)["ended"] == "answered" and t.data(5)["output"] == REPLY_TEXT, t.data(5)
    assert t.data(6).get("output") == REPLY_TEXT, t.data(6)
    assert t.data(7).get("output") == REPLY_TEXT, t.data(7)
    before_revocation = _facts(emulator)[: marks["revoke"]]
    assert before_revocation and all(f == KEY_ONLY for f in before_revocation), before_revocation
    first = next(r.json for r in emulator.requests if r.path == "/v1/messages")
    assert "read_file" in [tool["name"] for tool in first.get("tools", [])]
    assert "You are Claude Code" not in json.dumps(first.get("system"))
    # Only the profile's key file holds the key: not extra_models.json, puppy.cfg, a
    # session file or a log.
    assert holding == [".code_puppy/claude_code_oauth.json"]
    assert usage_files == []

    status = t.texts(8)
    assert "Anthropic API key (Console) for Emulated Organization" in status
    assert f"…{last4}" in status and "it does not expire" in status
    usage = t.texts(9)
    assert "plan windows (5-hour, weekly) and extra usage don't apply" in usage

    # 2. The key revoked in the Console: one line, what happened and what to do.
    revoked = t.data(11)
    assert revoked["ended"] == "answered", revoked
    assert revoked["output"].startswith(REPLY_PREFIX + "Claude's API (")
    assert "rejected the API key of this Console sign-in (HTTP 401" in revoked["output"]
    assert "/claude-code-auth --console" in revoked["output"]
    assert _facts(emulator)[marks["revoke"] :] == [KEY_ONLY]  # one request, no retry

    logout = t.messages(12)
    assert any("Removed the Anthropic API key" in text for _, text in logout)
    assert any(
        kind == "warning" and "still exists in the Anthropic Console" in text
        for kind, text in logout
    ), logout
    assert not (data / "claude_code_oauth.json").exists()

    for step in range(13):
        for _, text in t.messages(step):
            assert "Traceback" not in text and "sk-ant-api03-" not in text
    # After logout the key is nowhere on disk, and our entries are gone.
    left = [p for p in Path(home).rglob("*") if p.is_file() and b"sk-ant-api03-" in p.read_bytes()]
    assert left == []
    assert json.loads((data / "extra_models.json").read_text() or "{}") == {}
