"""Requests through our model type inside a real Code Puppy, across token rotation.

One Code Puppy subprocess (see ``tests/helpers/puppy_driver.py``) signs in
against the emulator, then runs Code Puppy's own agent and a model built by
Code Puppy's model factory. Between runs the driver waits on stdin while this
test expires or revokes tokens in the emulator, so every request crosses a real
401, a real refresh and a real retry. Nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_code_oauth import __version__
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator, RecordedRequest
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost

SONNET = "claude-code-claude-sonnet-4-5-20250929"
HAIKU = "claude-code-claude-haiku-4-5-20251001"


def _messages_requests(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/messages"]


def _bearer_hash(request: RecordedRequest) -> str | None:
    value = request.headers.get("authorization", "")
    return driver.short_hash(value[7:]) if value.startswith("Bearer ") else None


def _honest_headers(request: RecordedRequest) -> dict[str, Any]:
    """The facts about a request's headers the tests assert on (no token values)."""
    headers = request.headers
    betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",")]
    return {
        "bearer": headers.get("authorization", "").startswith("Bearer sk-ant-oat01-"),
        "oauth_beta": "oauth-2025-04-20" in betas,
        "user_agent": headers.get("user-agent"),
        "x_api_key": "x-api-key" in headers,
        "version": headers.get("anthropic-version"),
    }


HONEST = {
    "bearer": True,
    "oauth_beta": True,
    "user_agent": f"claude-code-oauth/{__version__}",
    "x_api_key": False,
    "version": "2023-06-01",
}


def test_requests_through_code_puppy_survive_rotation_and_fail_clearly_when_refused(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    marks: dict[str, tuple[int, int]] = {}
    actions = {
        "expire": emulator.expire_access_tokens,
        "reject twice": lambda: emulator.inject("messages", "401", times=2),
        "revoke": emulator.revoke_all,
    }

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            label = event["label"]
            marks[label] = (len(_messages_requests(emulator)), emulator.grants["refresh_token"])
            actions[label]()
            send("go")

    t = puppy.run(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "env_token"},  # 2
            {"op": "agent_run", "model": SONNET},
            {"op": "wait", "label": "expire"},
            {"op": "agent_run", "model": SONNET},  # 5
            {"op": "env_token"},
            {"op": "model_run", "model": HAIKU},  # 7
            {"op": "wait", "label": "reject twice"},
            {"op": "model_run", "model": HAIKU},  # 9
            {"op": "wait", "label": "revoke"},
            {"op": "model_run", "model": HAIKU},  # 11
            {"op": "agent_run", "model": SONNET},
            {"op": "cmd", "text": "/claude-code-status"},  # 13
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=on_event,
    )
    assert set(marks) == set(actions)
    recorded = _messages_requests(emulator)
    # Plain facts only, so a failing assertion can never print a header or token.
    sent = [(_bearer_hash(r), _honest_headers(r)) for r in recorded]
    assert any(text.startswith("Signed in as ") for _, text in t.messages(1))
    token_a = t.data(2)
    assert token_a["present"] and token_a["equals_stored"]

    # 1. Code Puppy's own agent on our model: one honest request, answered.
    assert t.data(3).get("output") == REPLY_TEXT, t.data(3)
    first = sent[: marks["expire"][0]]
    assert first == [(token_a["hash"], HONEST)]
    body = recorded[0].json
    assert body["model"] == "claude-sonnet-4-5-20250929"
    system = json.dumps(body.get("system"))
    assert "You are Claude Code" not in system
    assert "Testy" in system  # Code Puppy's real system prompt, as prepared for our model
    tools = [tool["name"] for tool in body.get("tools", [])]
    assert tools, "Code Puppy's agent sends its tools"
    assert not [name for name in tools if name.startswith("cp_")]
    assert "read_file" in tools

    # 2. Access tokens expired: 401, one refresh, one retry with the new token, answered.
    assert t.data(5).get("output") == REPLY_TEXT, t.data(5)
    rotated = sent[marks["expire"][0] : marks["reject twice"][0]]
    assert marks["reject twice"][1] == marks["expire"][1] + 1 == 1
    token_b = t.data(6)
    assert token_b["equals_stored"] and token_b["hash"] != token_a["hash"]
    # The rejected token, then the new one (which CLAUDE_CODE_ACCESS_TOKEN now holds);
    # then a model built by Code Puppy's model factory, directly.
    old, new = (token_a["hash"], HONEST), (token_b["hash"], HONEST)
    assert rotated == [old, new, new]
    assert t.data(7) == {"model_class": "OAuthAnthropicModel", "output": REPLY_TEXT}
    assert recorded[3].json["model"] == "claude-haiku-4-5-20251001"

    # 3. A 401 again after a successful refresh: a clear "sign in again", no third try,
    #    as the model's one-line answer (what every Code Puppy shows without a traceback).
    refused = t.data(9)
    assert refused["model_class"] == "OAuthAnthropicModel"
    line = refused.get("output") or ""
    assert line.startswith(REPLY_PREFIX), refused
    assert "/claude-code-auth" in line and "after a refresh" in line
    assert len(sent[marks["reject twice"][0] : marks["revoke"][0]]) == 2
    assert marks["revoke"][1] == marks["reject twice"][1] + 1

    # 4. The login revoked: the refresh is refused, and the answer says to sign in again.
    dead = t.data(11).get("output") or ""
    assert dead.startswith(REPLY_PREFIX) and "/claude-code-auth" in dead, t.data(11)
    assert emulator.grants["refresh_token"] == marks["revoke"][1]  # nothing more granted

    # ...and inside Code Puppy's agent it is the same one line, not a crash.
    in_agent = t.data(12)
    assert "raised" not in in_agent and "/claude-code-auth" in in_agent.get("output", "")
    assert "Unexpected error" not in t.texts(12)
    status = t.texts(13)
    assert "A new login is needed" in status
    everything = "\n".join(str(e) for e in t.events) + t.stderr
    assert "sk-ant-" not in everything  # the driver redacts a leak to sk-ant-REDACTED
    assert "Traceback" not in t.stderr
