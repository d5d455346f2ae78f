"""The real interactive ``code-puppy`` in a pseudo-terminal at 80 columns, as a user meets it.

One session per configured release (see ``tests/helpers/puppy_terminal.py``):
``/help``; ``/claude-code-auth`` approved by the scripted browser against the
emulator; a prompt the emulator answers; a second ``/claude-code-auth``
cancelled with Ctrl-C while it waits (Code Puppy keeps answering); and
``/claude-code-logout``. Assertions are on what the terminal shows — order, no
traceback — and, for the sign-in URLs, on the byte stream: each URL must arrive
as one unbroken run of characters however the terminal wraps it.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost
from helpers.puppy_terminal import PuppyTerminal, terminal_env

COMMANDS = ("claude-code-auth", "claude-code-status", "claude-code-logout", "claude-code-fast")
SONNET = "claude-code-claude-sonnet-4-5-20250929"
PROMPT = r">>>"
URL = r"http://127\.0\.0\.1:\d+/oauth/authorize\?\S+"


def _in_order(text: str, *phrases: str) -> None:
    positions = []
    for phrase in phrases:
        at = text.find(phrase, positions[-1] if positions else 0)
        assert at >= 0, f"{phrase!r} missing or out of order in:\n{text[-3000:]}"
        positions.append(at)


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.timeout(600)
def test_a_session_in_the_interactive_code_puppy(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    home = driver.make_home(str(tmp_path))
    env = terminal_env(driver.puppy_env(home, emulator.env(), browser=scripted_browser))
    with PuppyTerminal(puppy.code_puppy, env, cwd=home, columns=80) as term:
        term.wait_for(PROMPT, 180)
        term.settle(1.0)
        # Some releases print their own start-up tracebacks (0.0.760's profiles plugin
        # imports a module it does not ship); none may come from us.
        startup = term.output()
        for ours in ("claude_code_oauth_pkce", "claude_code_oauth/hosts/"):
            assert ours not in startup, f"{ours} appears at start-up"
        after_startup = term.output_length()

        # /help lists each of our commands once (the bundled plugin's lines stand aside).
        mark = term.output_length()
        term.type_line("/help")
        term.wait_for(r"Shell Pass-through", 60, since=mark)
        term.settle(0.5)
        help_text = term.output_since(mark)
        for name in COMMANDS:
            listed = re.findall(rf"^\s*/{name}\b", help_text, re.MULTILINE)
            assert len(listed) == 1, (name, listed)

        # Sign in: the scripted browser approves on the emulator's consent page.
        mark = term.output_length()
        term.type_line("/claude-code-auth")
        term.wait_for(r"Select a model with", 90, since=mark)
        term.settle(0.5)
        output = term.output_since(mark)
        _in_order(
            output,
            "Opening your browser to sign in to Claude",
            "http://127.0.0.1",
            "Signing in from another machine",
            "http://127.0.0.1",
            "Waiting up to 180 s",
            "Signed in as emulated.user@example.com (via browser).",
            "Registered 5 model(s)",
            "Select a model with: /set model",
        )
        browser_url, manual_url = re.findall(URL, output)[:2]
        # Unbroken: each URL arrived whole (a newline inside would cut the match short).
        (opened,) = [r for r in emulator.requests if r.path == "/oauth/authorize"]
        assert {k: v[0] for k, v in _query(browser_url).items()} == opened.query
        manual = _query(manual_url)
        assert manual["redirect_uri"] == [emulator.manual_redirect_uri]
        assert manual["state"] == _query(browser_url)["state"]
        assert len(manual["state"][0]) == 43 and manual["code_challenge_method"] == ["S256"]
        screen = term.transcript()
        _in_order(screen, "> /claude-code-auth", "  http://127.0.0.1:", "Select a model with")

        # A prompt, answered by the emulator through our model type.
        mark = term.output_length()
        term.type_line(f"/set model {SONNET}")
        # Not the echo of the command: Code Puppy's confirmation (a reload can take seconds).
        term.wait_for(rf"Set model = .{re.escape(SONNET)}", 60, since=mark)
        term.settle(1.0)
        answers = term.count(re.escape(REPLY_TEXT))
        term.type_line("Say hello")
        term.wait_for(re.escape(REPLY_TEXT), 120, more_than=answers)
        term.settle(1.0)
        answered = [r for r in emulator.requests if r.path == "/v1/messages"]
        assert answered and answered[-1].headers["user-agent"].startswith("claude-code-oauth/")

        # A second sign-in, cancelled with Ctrl-C while it waits.
        mark = term.output_length()
        term.type_line("/claude-code-auth --no-browser --timeout 120")
        # The line is shown only once our handler is in place: press at once.
        term.wait_for(r"Waiting up to 120 s", 60, since=mark)
        pressed = time.monotonic()
        term.ctrl_c()
        term.wait_for(r"Sign-in cancelled; nothing was changed\.", 30, since=mark)
        cancelled_after = time.monotonic() - pressed
        assert cancelled_after < 15, cancelled_after  # liveness bound; measured well under 1 s
        term.settle(1.0)
        assert term.alive, "Ctrl-C made Code Puppy quit"
        # ...and Code Puppy answers: the first sign-in is untouched.
        mark = term.output_length()
        term.type_line("/claude-code-status")
        term.wait_for(r"Credentials: file ", 30, since=mark)
        status = term.output_since(mark)
        _in_order(
            status,
            "Signed in to Claude as emulated.user@example.com",
            "Scopes:",
            "Credentials: file",
        )
        # Nothing reached the authorization server for the cancelled sign-in.
        assert len([r for r in emulator.requests if r.path == "/oauth/authorize"]) == 1
        assert emulator.grants["authorization_code"] == 1

        mark = term.output_length()
        term.type_line("/claude-code-logout")
        term.wait_for(r"Removed 5 registered model\(s\)", 30, since=mark)
        _in_order(term.output_since(mark), "Removed the tokens", "Removed 5 registered model(s)")
        term.settle(1.0)

        session = term.output_since(after_startup)
        assert "Traceback" not in session
        assert "sk-ant-" not in term.output()
        exit_status = term.close()
    assert exit_status == 0
    assert not (Path(home) / ".code_puppy" / "claude_code_oauth.json").exists()
