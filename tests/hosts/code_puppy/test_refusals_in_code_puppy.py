"""Every answer Claude gives, seen by a user of a real Code Puppy: one short line, no traceback.

A real code-puppy runs in a subprocess (tests/helpers/puppy_driver.py); each
prompt goes through Code Puppy's own agent turn (with its own retries) and, if
the turn raises, Code Puppy's own rendering of the exception — exactly what its
interactive loop does. Between prompts the test makes the emulator give one of
Claude's answers, and counts the requests the prompt caused.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from claude_code_oauth.config import Settings
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import register_models
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from helpers import puppy_driver as driver
from helpers.tokens import seed, token_requests

HAIKU = "claude-code-claude-haiku-4-5-20251001"

#: label -> (fault, params, times, the line's fragments, /v1/messages requests, refreshes)
ANSWERS: dict[str, tuple[str, dict[str, Any], int, list[str], int, int]] = {
    "third party": (
        "400_third_party",
        {},
        1,
        ["refused this sign-in for use outside Claude Code", "Anthropic's policy", "API key"],
        1,
        0,
    ),
    "request shape": ("400_request", {}, 1, ["HTTP 400 invalid_request_error"], 1, 0),
    "usage limit": (
        "429_limit",
        {"reset_in": 4350},
        1,  # a retry would be answered: one request proves there was none
        ["Claude usage limit reached (5-hour window); resets at ", "(in 1 h 1"],
        1,
        0,
    ),
    "plain 429": ("429", {"retry_after": 0}, 3, ["(HTTP 429, not a usage limit)"], 3, 0),
    "overloaded": ("529", {}, 3, ["is overloaded (HTTP 529 overloaded_error"], 3, 0),
    "server error": ("500", {}, 3, ["failed (HTTP 500 api_error"], 3, 0),
    "cloudflare": ("html403", {}, 1, ["HTML page", "Cloudflare"], 1, 0),
    "broken stream": ("stream_error", {}, 1, ["failed after it had started answering"], 1, 0),
    "401 twice": ("401", {}, 2, ["even after a refresh", "/claude-code-auth"], 2, 1),
    "revoked": ("403_revoked", {}, 1, ["login was revoked", "/claude-code-auth"], 1, 0),
}


def _messages_requests(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


def _assert_short(t: driver.Transcript, step: int) -> list[tuple[str, str]]:
    """The step's messages; none is a traceback or Code Puppy's 'Unexpected error'."""
    messages = t.messages(step)
    for _, text in messages:
        assert "Traceback" not in text and "Unexpected error" not in text, messages
        assert "sk-ant-" not in text
    return messages


def test_each_refusal_is_one_line_and_the_turn_ends(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    token_path = Path(home, ".code_puppy", "claude_code_oauth.json")
    counts: dict[str, tuple[int, int]] = {}
    steps: list[dict[str, Any]] = [
        {"op": "load"},
        {"op": "cmd", "text": "/claude-code-auth"},
        {"op": "prompt", "model": HAIKU},  # 2: answered
    ]
    prompt_step: dict[str, int] = {}
    for label in ANSWERS:
        steps.append({"op": "wait", "label": label})
        prompt_step[label] = len(steps)
        steps.append({"op": "prompt", "model": HAIKU})
    steps.append({"op": "wait", "label": "after revocation"})
    after = len(steps)
    steps.append({"op": "prompt", "model": HAIKU})
    steps.append({"op": "cmd", "text": "/claude-code-status"})
    disk: dict[str, bytes] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") != "waiting":
            return
        label = event["label"]
        counts[label] = (_messages_requests(emulator), token_requests(emulator))
        disk[label] = token_path.read_bytes()
        if label in ANSWERS:
            fault, params, times, *_ = ANSWERS[label]
            emulator.inject("messages", fault, times=times, **params)
        send("go")

    t = driver.run_driver(
        steps,
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=on_event,
        timeout=240,
    )
    assert t.data(2).get("output") == REPLY_TEXT, t.data(2)
    host = emulator.base_url.removeprefix("http://")
    labels = [*ANSWERS, "after revocation"]
    for label, (_, _, _, fragments, sent, refreshes) in ANSWERS.items():
        step = prompt_step[label]
        result = t.data(step)
        assert result.get("ended") == "stopped", (label, result)
        messages = _assert_short(t, step)
        errors = [text for kind, text in messages if kind == "error"]
        assert len(errors) == 1, (label, messages)
        (line,) = errors
        assert "\n" not in line and (host in line or label == "usage limit"), line
        for fragment in fragments:
            assert fragment in line, (label, line)
        assert any("Cancelled" in text for _, text in messages), messages
        # Requests this prompt caused: the SDK's own retries only, no second layer.
        following = labels[labels.index(label) + 1]
        assert counts[following][0] - counts[label][0] == sent, label
        assert counts[following][1] - counts[label][1] == refreshes, label
        if label not in ("401 twice", "revoked"):
            assert disk[following] == disk[label], f"{label}: the token file changed"

    # Revoked: marked on disk; the next prompt says so without asking anyone.
    record = token_store.load(str(token_path))
    assert record is not None and record.needs_login and record.expires_at <= time.time()
    result = t.data(after)
    assert result.get("ended") == "stopped", result
    (line,) = [text for kind, text in _assert_short(t, after) if kind == "error"]
    assert "revoked" in line and "/claude-code-auth" in line
    assert _messages_requests(emulator) == counts["after revocation"][0]
    assert token_requests(emulator) == counts["after revocation"][1]
    assert "A new login is needed" in t.texts(after + 1)
    assert "Traceback" not in t.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_a_usable_sign_in_or_network_each_prompt_says_why_in_a_line(
    tmp_path: Path, emulator: ClaudeEmulator
) -> None:
    """Unreachable API (Code Puppy's transient handling, host named), unreachable token
    endpoint, an ended login, not signed in: a short message each, never a traceback."""
    home = driver.make_home(str(tmp_path), "retry_main_max_attempts = 1\n")
    data = Path(home, ".code_puppy")
    token_path = data / "claude_code_oauth.json"
    api_port, token_port = _free_port(), _free_port()
    endpoints = {
        **emulator.env(),
        "CLAUDE_CODE_OAUTH_TOKEN_URL": f"http://127.0.0.1:{token_port}/v1/oauth/token",
    }
    dead_api = Settings(
        environ={"HOME": home, "CLAUDE_CODE_OAUTH_API_BASE_URL": f"http://127.0.0.1:{api_port}"}
    )
    register_models(dead_api, [DiscoveredModel(HAIKU[len("claude-code-") :], "Haiku", None, None)])
    seed(emulator, token_path, expires_in=3600)
    actions = {
        "expire": lambda: seed(emulator, token_path, expires_in=-5),
        "end login": lambda: seed(emulator, token_path, expires_in=-5, login_ends_in=-1),
        "sign out": token_path.unlink,
    }

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            actions[event["label"]]()
            send("go")

    t = driver.run_driver(
        [
            {"op": "load"},
            {"op": "prompt", "model": HAIKU},  # 1: the API cannot be reached
            {"op": "wait", "label": "expire"},
            {"op": "prompt", "model": HAIKU},  # 3: the token endpoint cannot be reached
            {"op": "wait", "label": "end login"},
            {"op": "prompt", "model": HAIKU},  # 5
            {"op": "wait", "label": "sign out"},
            {"op": "prompt", "model": HAIKU},  # 7
        ],
        driver.puppy_env(home, endpoints, browser=None),
        on_event=on_event,
        timeout=240,
    )
    # 1. Unreachable API: Code Puppy treats it as the network blip it is (its own
    #    retry policy, here one attempt), then a short message naming the host.
    unreachable = t.data(1)
    assert unreachable.get("ended") == "raised" and unreachable.get("transient") is True
    texts = t.texts(1)
    assert f"could not reach Claude's API (127.0.0.1:{api_port}): ConnectError." in texts
    assert "Traceback" not in texts and len(texts.splitlines()) <= 6, texts

    # 3-7. No usable token: our line, the turn ends, nothing is sent to the API.
    expected = {
        3: f"Could not reach the token endpoint (127.0.0.1:{token_port})",
        5: "Your Claude login has ended and must be renewed",
        7: "Not signed in to Claude",
    }
    for step, fragment in expected.items():
        assert t.data(step).get("ended") == "stopped", t.data(step)
        (line,) = [text for kind, text in _assert_short(t, step) if kind == "error"]
        assert fragment in line, line
    assert not [r for r in emulator.requests if r.path in ("/v1/messages", "/v1/oauth/token")]
    assert "Traceback" not in t.stderr
