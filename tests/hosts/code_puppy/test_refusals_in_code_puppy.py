"""Every answer Claude gives, seen by a user of a real Code Puppy: one short line, no traceback.

A real code-puppy runs in a subprocess (tests/helpers/puppy_driver.py); each
prompt goes through Code Puppy's own agent turn (with its own retries) and, if
the turn raises, Code Puppy's own rendering of the exception — exactly what its
interactive loop does. Between prompts the test makes the emulator give one of
Claude's answers, and counts the requests the prompt caused.

A failure known before anything streamed is the model's answer,
"[claude-code-oauth] <line>" (the one shape every Code Puppy from 0.0.716 to
0.0.946 shows as one short line), and is never sent back to Claude; a stream
that breaks mid-way is raised for Code Puppy's own transient handling. A token
Claude calls revoked is replaced by one refresh, as Claude Code does, and the turn
answered; only a refresh answered ``invalid_grant`` ends the login.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

from claude_code_oauth.config import Settings
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX
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
    "401 twice": ("401", {}, 2, ["even after a refresh", "/claude-code-auth"], 2, 1),
    # No token cures it: no refresh (a 401 otherwise gets one), one line saying why.
    "organization": (
        "401_org_not_allowed",
        {},
        1,  # a refresh and retry would be answered: one request proves there was none
        ["does not allow OAuth sign-ins", "payment may be past due", "settings/billing"],
        1,
        0,
    ),
    "credits": (
        "429_credits_required",
        {},
        1,  # nothing clears it: a retry would be answered, one request proves there was none
        ["says you are out of extra usage", "credits_required", "settings/usage"],
        1,
        0,
    ),
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


def test_each_refusal_is_one_line_and_never_reaches_claude(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    # One attempt: Code Puppy's own re-runs of a broken stream are its policy, not ours.
    home = driver.make_home(str(tmp_path), "retry_main_max_attempts = 1\n")
    token_path = Path(home, ".code_puppy", "claude_code_oauth.json")
    counts: dict[str, tuple[int, int]] = {}
    faults = {label: spec[:3] for label, spec in ANSWERS.items()}
    faults["broken stream"] = ("stream_error", {}, 1)
    faults["revoked once"] = ("403_revoked", {}, 1)
    order = ["third party", "answered again", "broken stream", *list(ANSWERS)[1:]]
    order += ["revoked once", "revoked for real"]
    steps: list[dict[str, Any]] = [
        {"op": "load"},
        {"op": "cmd", "text": "/claude-code-auth"},
        {"op": "prompt", "model": HAIKU, "prompt": "first question"},  # 2: answered
    ]
    step_of: dict[str, int] = {}
    for label in [*order, "after revocation"]:
        steps.append({"op": "wait", "label": label})
        step_of[label] = len(steps)
        steps.append({"op": "prompt", "model": HAIKU, "prompt": f"question {label}"})
    steps.append({"op": "cmd", "text": "/claude-code-status"})
    disk: dict[str, bytes] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") != "waiting":
            return
        label = event["label"]
        counts[label] = (_messages_requests(emulator), token_requests(emulator))
        disk[label] = token_path.read_bytes()
        if label in faults:
            fault, params, times = faults[label]
            emulator.inject("messages", fault, times=times, **params)
        elif label == "revoked for real":
            emulator.revoke_all()  # the API says revoked, and so will the refresh
        send("go")

    t = driver.run_driver(
        steps,
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=on_event,
        timeout=300,
    )
    assert t.data(2).get("output") == REPLY_TEXT, t.data(2)
    host = emulator.base_url.removeprefix("http://")
    labels = [*order, "after revocation"]

    def caused(label: str) -> tuple[int, int]:
        """(/v1/messages requests, token requests) the prompt after ``label`` caused."""
        following = labels[labels.index(label) + 1]
        return (
            counts[following][0] - counts[label][0],
            counts[following][1] - counts[label][1],
        )

    for label, (_, _, _, fragments, sent, refreshes) in ANSWERS.items():
        result = t.data(step_of[label])
        assert result.get("ended") == "answered", (label, result)
        line = result["output"]
        assert line.startswith(REPLY_PREFIX) and "\n" not in line, (label, line)
        assert host in line, (label, line)
        for fragment in fragments:
            assert fragment in line, (label, line)
        _assert_short(t, step_of[label])
        # Requests this prompt caused: the SDK's own retries only, no second layer.
        assert caused(label) == (sent, refreshes), label
        following = labels[labels.index(label) + 1]
        if label != "401 twice":
            assert disk[following] == disk[label], f"{label}: the token file changed"

    # The refusals stayed in Code Puppy's conversation but were never sent to Claude:
    # the last request carries the whole conversation, without them.
    again = t.data(step_of["answered again"])
    assert again.get("output") == REPLY_TEXT, again
    body = json.dumps([r.json for r in emulator.requests if r.path == "/v1/messages"][-1])
    assert "question third party" in body and "first question" in body
    assert REPLY_PREFIX.strip() not in body

    # A stream that broke after it started: raised, for Code Puppy's transient handling.
    broken = t.data(step_of["broken stream"])
    attempts = caused("broken stream")[0]
    texts = "\n".join(text for _, text in t.messages(step_of["broken stream"]))
    assert "Traceback" not in texts, texts
    if attempts == 1:
        # The release honours retry_main_max_attempts = 1: Code Puppy shows our line.
        assert broken.get("ended") == "raised" and broken.get("transient") is True, broken
        assert "failed after it had started answering (overloaded_error" in texts
        assert host in texts and len(texts.splitlines()) <= 6
    else:
        # Releases without that setting (0.0.716) re-run the turn themselves, which is
        # what raising it as transient is for: the one re-run is answered.
        assert attempts == 2 and broken.get("ended") == "answered", (attempts, broken)
        assert broken.get("output") == REPLY_TEXT

    # A 403 "OAuth token has been revoked" on a live login: one refresh, one retry, and
    # the turn's answer, as in Claude Code.
    cured = t.data(step_of["revoked once"])
    assert cured.get("ended") == "answered" and cured.get("output") == REPLY_TEXT, cured
    assert caused("revoked once") == (2, 1)
    _assert_short(t, step_of["revoked once"])

    # Revoked for real: the one refresh says invalid_grant, which ends the login.
    dead = t.data(step_of["revoked for real"])
    assert dead.get("ended") == "answered", dead
    assert dead["output"].startswith(REPLY_PREFIX) and "login has ended" in dead["output"]
    assert "revoked" in dead["output"] and "/claude-code-auth" in dead["output"]
    assert caused("revoked for real") == (1, 1)
    _assert_short(t, step_of["revoked for real"])
    # Marked on disk; the next prompt says so without asking anyone.
    record = token_store.load(str(token_path))
    assert record is not None and record.needs_login and record.expires_at <= time.time()
    after = t.data(step_of["after revocation"])
    assert after.get("ended") == "answered", after
    assert "revoked" in after["output"] and "/claude-code-auth" in after["output"]
    assert _messages_requests(emulator) == counts["after revocation"][0]
    assert token_requests(emulator) == counts["after revocation"][1]
    assert "A new login is needed" in t.texts(step_of["after revocation"] + 1)
    assert "Traceback" not in t.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_without_a_usable_sign_in_or_network_each_prompt_says_why_in_a_line(
    tmp_path: Path, emulator: ClaudeEmulator
) -> None:
    """Unreachable API (host named), unreachable token endpoint, an ended login, not
    signed in: a short message each, never a traceback, nothing retried by Code Puppy."""
    home = driver.make_home(str(tmp_path))
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
    # 1. Unreachable API: the SDK's own retries, then one line naming the host.
    unreachable = t.data(1)
    assert unreachable.get("ended") == "answered", unreachable
    assert unreachable["output"] == (
        f"{REPLY_PREFIX}Connection error: could not reach Claude's API (127.0.0.1:{api_port}): "
        "ConnectError. Check your connection and proxy settings, and "
        "CLAUDE_CODE_OAUTH_API_BASE_URL."
    )
    _assert_short(t, 1)

    # 3-7. No usable token: one line, and nothing is sent to the API.
    expected = {
        3: f"Could not reach the token endpoint (127.0.0.1:{token_port})",
        5: "Your Claude login has ended and must be renewed",
        7: "Not signed in to Claude",
    }
    for step, fragment in expected.items():
        result = t.data(step)
        assert result.get("ended") == "answered", result
        assert result["output"].startswith(REPLY_PREFIX) and fragment in result["output"]
        _assert_short(t, step)
    assert not [r for r in emulator.requests if r.path in ("/v1/messages", "/v1/oauth/token")]
    assert "Traceback" not in t.stderr
