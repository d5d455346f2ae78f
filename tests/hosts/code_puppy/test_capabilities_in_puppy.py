"""Our models as capable as Code Puppy's own Claude models, in a real Code Puppy.

One Code Puppy subprocess per release signs in against the emulator and runs
Code Puppy's own agent on our 1M-token Sonnet entry several times: each request
is checked at the server for its capability betas (interleaved thinking, tool
streaming, the 1M context), fast mode as ``/claude-code-fast`` turns it on and
off, Code Puppy's ``interleaved_thinking`` setting, a conversation past 200 000
tokens, an account that loses the long context — and for nothing of Claude
Code's identity.
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

SONNET = "claude-code-claude-sonnet-4-5-20250929"  # the API reports 1 000 000 tokens
OAUTH = "oauth-2025-04-20"
INTERLEAVED = "interleaved-thinking-2025-05-14"
TOOL_STREAMING = "fine-grained-tool-streaming-2025-05-14"
LONG = "context-1m-2025-08-07"
FAST = "fast-mode-2026-02-01"
#: About 270 000 tokens as Claude (and the emulator) count them.
BIG = {"prompt": "lorem ipsum ", "repeat": 90_000}


def _run(model: str, **extra: Any) -> dict[str, Any]:
    return {"op": "agent_run", "model": model, **extra}


def _messages(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/messages"]


def _facts(request: RecordedRequest) -> dict[str, Any]:
    """What a request asked for beyond the basics (no header values but betas)."""
    body = request.json
    return {
        "betas": set(request.betas) - {OAUTH},
        "duplicates": len(request.betas) != len(set(request.betas)),
        "oauth": OAUTH in request.betas,
        "speed": request.speed,
        "user_agent": request.headers.get("user-agent"),
        "identity_prompt": "You are Claude Code" in str(body.get("system")),
    }


def test_betas_fast_mode_and_long_context_at_the_server(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    marks: list[int] = []
    t = puppy.run(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "pydantic_ai_speed"},  # 2
            _run(SONNET),
            {"op": "cmd", "text": "/claude-code-fast"},  # 4
            _run(SONNET),
            {"op": "cmd", "text": "/claude-code-fast"},  # 6
            {"op": "model_setting", "model": SONNET, "setting": "interleaved_thinking"}
            | {"value": "false"},
            _run(SONNET),  # 8
            _run(SONNET, **BIG),
            {"op": "wait", "label": "deny long context"},  # 10
            {"op": "model_run", "model": SONNET},
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=_deny_long_context(emulator, marks),
        timeout=240,
    )
    assert any(text.startswith("Signed in as ") for _, text in t.messages(1))
    speed = t.data(2)["speed"]
    for step in (3, 5, 8, 9):
        assert t.data(step).get("output") == REPLY_TEXT, (step, t.data(step))
    sent = [_facts(r) for r in _messages(emulator)]
    assert marks == [4] and len(sent) == 6, [s["betas"] for s in sent]
    for facts in sent:
        assert facts["oauth"] and not facts["duplicates"]
        assert facts["user_agent"] == f"claude-code-oauth/{__version__}"
        assert not facts["identity_prompt"]
        assert "claude-code-20250219" not in facts["betas"]
    plain, fast, no_interleaving, big, refused, retried = sent

    # Code Puppy's agent thinks and streams its tools; the entry is a 1M one.
    assert plain["betas"] == {INTERLEAVED, TOOL_STREAMING, LONG} and plain["speed"] is None

    # /claude-code-fast: on, sent, off — or, where pydantic-ai cannot send speed, one line.
    on, off = t.messages(4), t.messages(6)
    if speed:
        assert len(on) == 1 and on[0][0] == "success"
        assert "billed at a higher rate" in on[0][1] and SONNET in on[0][1]
        assert fast["betas"] == {INTERLEAVED, TOOL_STREAMING, LONG, FAST}
        assert fast["speed"] == "fast"
        assert off == [("info", f"Fast mode off for {SONNET}: standard speed.")]
    else:
        for answer in (on, off):
            assert len(answer) == 1 and answer[0][0] == "warning"
            assert "pydantic-ai has no `speed` setting" in answer[0][1]
        assert fast == plain
    cfg = (Path(home) / ".code_puppy" / "puppy.cfg").read_text()
    assert ("_fast = false" in cfg) is speed  # the bundled plugin's key, toggled back off

    # Code Puppy's interleaved_thinking setting, off: the beta goes too.
    assert no_interleaving["betas"] == {TOOL_STREAMING, LONG}

    # Past 200 000 tokens on the 1M entry: served, not refused.
    assert big["betas"] == {TOOL_STREAMING, LONG}
    assert len(json.dumps(_messages(emulator)[3].json["messages"])) > 4 * 200_000
    assert not any(text.startswith(REPLY_PREFIX) for _, text in t.messages(9))

    # The account loses the long context: the request is refused with the beta and
    # sent again at once without it (answered), the entry is lowered to what Claude
    # accepts so Code Puppy compacts in time, and one warning says why.
    assert refused["betas"] == {LONG} and retried["betas"] == set()
    assert t.data(11) == {"model_class": "OAuthAnthropicModel", "output": REPLY_TEXT}
    (warned,) = [text for _, text in t.messages(11) if "1M-token context" in text]
    assert warned.startswith(f"Claude does not offer this account the 1M-token context of {SONNET}")
    models = json.loads((Path(home) / ".code_puppy" / "extra_models.json").read_text())
    assert models[SONNET]["context_length"] == 200_000
    assert "Traceback" not in t.stderr


def _deny_long_context(emulator: ClaudeEmulator, marks: list[int]) -> Any:
    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            marks.append(len(_messages(emulator)))
            emulator.deny_long_context()
            send("go")

    return on_event
