"""Whether a browser is expected, and opening one in the background through BROWSER."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from claude_code_oauth.login.browser import browser_expected


@pytest.mark.parametrize(
    ("environ", "platform", "expected", "reason"),
    [
        ({}, "linux", False, "there is no graphical display (DISPLAY/WAYLAND_DISPLAY unset)"),
        ({"DISPLAY": ""}, "linux", False, "no graphical display"),
        ({"DISPLAY": ":0"}, "linux", True, "a display is available"),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True, "a display is available"),
        ({"DISPLAY": ":0"}, "freebsd14", True, "a display is available"),
        ({}, "freebsd14", False, "no graphical display"),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "a b c d"}, "linux", False, "SSH session"),
        ({"DISPLAY": ":0", "SSH_CLIENT": "a b c"}, "linux", False, "SSH session"),
        ({"WAYLAND_DISPLAY": "w", "SSH_TTY": "/dev/pts/1"}, "linux", False, "SSH session"),
        ({"SSH_CONNECTION": "a b c d"}, "darwin", False, "SSH session"),
        ({"SSH_CONNECTION": "a b c d"}, "win32", False, "SSH session"),
        ({}, "darwin", True, "desktop platform"),
        ({}, "win32", True, "desktop platform"),
        ({}, "cygwin", True, "desktop platform"),
        ({"BROWSER": "firefox"}, "linux", True, "BROWSER is set"),
        ({"BROWSER": "w3m", "SSH_CONNECTION": "a b c d"}, "linux", True, "BROWSER is set"),
        ({"BROWSER": "  "}, "linux", False, "no graphical display"),
    ],
)
def test_browser_expected(
    environ: dict[str, str], platform: str, expected: bool, reason: str
) -> None:
    got, why = browser_expected(environ, platform)
    assert got is expected
    assert reason in why


def test_browser_expected_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_CLIENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SSH_TTY", raising=False)
    monkeypatch.setenv("BROWSER", "something")
    assert browser_expected(platform="linux") == (True, "BROWSER is set")
    monkeypatch.delenv("BROWSER")
    assert browser_expected(platform="linux")[0] is False


# webbrowser caches its browser list per process, so each case runs in a fresh one.
OPEN = """
import sys, threading
from claude_code_oauth.login.browser import open_in_background
failures = []
open_in_background(sys.argv[1], failures.append).join(20)
print("FAILED:" + failures[0] if failures else "OPENED")
"""


def _open(url: str, browser: str, tmp_path: Path) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY") and not k.startswith("SSH_")
    }
    # An empty PATH: no other browser (lynx, xdg-open...) can be tried after BROWSER.
    (tmp_path / "empty-bin").mkdir(exist_ok=True)
    env.update(BROWSER=browser, HOME=str(tmp_path), PATH=str(tmp_path / "empty-bin"))
    done = subprocess.run(
        [sys.executable, "-c", OPEN, url], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.subprocess
def test_open_in_background_hands_the_exact_url_to_browser(tmp_path: Path) -> None:
    received = tmp_path / "received"
    script = tmp_path / "browser.sh"
    script.write_text(f"#!/bin/sh\nprintf '%s' \"$1\" > '{received}'\n")
    script.chmod(0o755)
    url = "http://127.0.0.1:9/oauth/authorize?a=1&b=two+words&c=%23x;y"
    assert _open(url, str(script), tmp_path) == "OPENED"
    assert received.read_text() == url
    assert _open(url, f"{script} %s", tmp_path) == "OPENED"
    assert received.read_text() == url


@pytest.mark.subprocess
def test_a_browser_that_fails_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "broken.sh"
    script.write_text("#!/bin/sh\nexit 3\n")
    script.chmod(0o755)
    assert _open("http://127.0.0.1:9/x", str(script), tmp_path) == (
        "FAILED:no browser could be started"
    )
