"""`claude-code-oauth login` as a subprocess against the emulator: browser, stdin paste, signals."""

from __future__ import annotations

import contextlib
import html
import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import one_error_line
from helpers.machine_faults import fill, tmpfs
from helpers.ports import released
from helpers.signals import restore_default_sigint, sigint_ignored

pytestmark = pytest.mark.subprocess


def _command() -> list[str]:
    script = Path(sys.executable).parent / "claude-code-oauth"
    found = str(script) if script.exists() else shutil.which("claude-code-oauth")
    return [found] if found else [sys.executable, "-m", "claude_code_oauth"]


CLI = _command()


@pytest.fixture
def env(client_env: dict[str, str]) -> dict[str, str]:
    low = random.randint(20000, 60000)
    return {**client_env, "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}"}


class Login:
    """A running `claude-code-oauth login`; stdout and stderr lines arrive on queues.

    The child gets the default SIGINT disposition back: a pytest started with
    SIGINT ignored (in the background, under nohup) would otherwise hand that on,
    and Python would never turn the test's SIGINT into KeyboardInterrupt. It runs
    with ``faulthandler`` on, so a child that does not exit in time is failed with
    the stacks of all its threads (see :meth:`finish`).
    """

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "login", *args],
            env={**env, "PYTHONFAULTHANDLER": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=restore_default_sigint,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.seen_errors: list[str] = []
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            threading.Thread(target=_pump, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=_pump, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for pump in self._pumps:
            pump.start()

    def until_waiting(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(line.startswith("Waiting up to") for line in self.seen):
            self.seen.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))

    def until_inside_the_wait(self, timeout: float = 20) -> None:
        """Return once the login is inside its wait: a bad paste's notice proves it
        (notices are only printed by the waiting loop)."""
        self.until_waiting(timeout)
        self.send("this is not a code")
        deadline = time.monotonic() + timeout
        while not any("neither CODE#STATE" in line for line in self.seen_errors):
            self.seen_errors.append(self.errors.get(timeout=max(0.01, deadline - time.monotonic())))

    @property
    def urls(self) -> list[str]:
        return [line.strip() for line in self.seen if line.startswith("  http")]

    @property
    def port(self) -> int:
        match = re.search(r"port (\d+)\)", "".join(self.seen))
        assert match
        return int(match.group(1))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            self.proc.wait(timeout)
            for pump in self._pumps:
                pump.join(timeout)
            stacks = "".join(self.errors.queue)
            pytest.fail(f"the login did not exit within {timeout:g} s; its threads:\n{stacks}")
        for pump in self._pumps:  # both end at EOF, once the process has exited
            pump.join(timeout)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        while not self.errors.empty():
            self.seen_errors.append(self.errors.get())
        return code, "".join(self.seen), "".join(self.seen_errors)


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)


def approve(url: str) -> str:
    with http() as client:
        page = client.get(url)
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id, "no consent form"
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        answer = client.post(
            origin + "/oauth/authorize/decision",
            data={"request_id": html.unescape(request_id.group(1)), "decision": "approve"},
        )
    assert answer.status_code == 302
    return answer.headers["location"]


def manual_paste(manual_url: str) -> str:
    with http() as client:
        page = client.get(approve(manual_url))
    shown = re.search(r'<code id="code">([^<]+)</code>', page.text)
    assert shown, "the manual page shows no code"
    return html.unescape(shown.group(1))


def marker_browser(tmp_path: Path) -> tuple[str, Path]:
    """A BROWSER that only records that it was started."""
    marker = tmp_path / "browser-was-started"
    script = tmp_path / "marker-browser.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    script.chmod(0o755)
    return str(script), marker


# -- browser ---------------------------------------------------------------------------


def test_login_with_a_browser_saves_tokens_and_registers_models(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    env["BROWSER"] = scripted_browser
    login = Login(env, "--timeout", "30")
    login.until_waiting()
    code, out, err = login.finish()
    assert code == 0, err
    assert out.startswith("Opening your browser to sign in to Claude.")
    assert "listening on 127.0.0.1" in out
    assert "Signed in as emulated.user@example.com (via browser)." in out
    assert f"Tokens saved to {data_dir / 'claude_code_oauth.json'} (mode 0600)." in out
    assert "Registered" in out
    assert "Plan: Max 20x (default_claude_max_20x)." in out
    assert oct(os.stat(data_dir / "claude_code_oauth.json").st_mode & 0o777) == "0o600"
    assert emulator.grants["authorization_code"] == 1
    assert released(login.port)
    # The sign-in read the plan once, so `usage` names it without asking anyone.
    profile_calls = sum(1 for r in emulator.requests if r.path == "/api/oauth/profile")
    usage = subprocess.run(
        [*CLI, "usage", "--json"], env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(usage.stdout)["plan"] == {
        "name": "Max",
        "tier": "default_claude_max_20x",
        "display_name": "Max 20x",
        "extra_usage_enabled": False,
    }
    human = subprocess.run([*CLI, "usage"], env=env, capture_output=True, text=True, timeout=60)
    assert "Extra usage: off (your Claude profile)" in human.stdout.splitlines()
    assert sum(1 for r in emulator.requests if r.path == "/api/oauth/profile") == profile_calls


@pytest.mark.parametrize(
    ("extra_env", "args", "reason"),
    [
        ({}, [], "there is no graphical display (DISPLAY/WAYLAND_DISPLAY unset)"),
        ({"DISPLAY": ":0", "SSH_CONNECTION": "1 2 3 4"}, [], "this is an SSH session"),
        ({"BROWSER": "MARKER"}, ["--no-browser"], "--no-browser was given"),
    ],
)
def test_url_only_without_a_browser_then_paste_code_hash_state(
    env: dict[str, str],
    emulator: ClaudeEmulator,
    tmp_path: Path,
    extra_env: dict[str, str],
    args: list[str],
    reason: str,
) -> None:
    browser, marker = marker_browser(tmp_path)
    env.update({k: browser if v == "MARKER" else v for k, v in extra_env.items()})
    login = Login(env, "--no-models", *args)
    login.until_waiting()
    assert (
        login.seen[0]
        == f"Not opening a browser ({reason}). Open this URL in a browser to sign in:\n"
    )
    browser_url, manual_url = login.urls
    assert urlsplit(browser_url).path == urlsplit(manual_url).path == "/oauth/authorize"
    login.send(manual_paste(manual_url))
    code, out, err = login.finish()
    assert code == 0, err
    assert "(via paste (manual))" in out
    assert not marker.exists()
    (exchange,) = [r for r in emulator.requests if r.path == "/v1/oauth/token"]
    assert exchange.json["redirect_uri"] == emulator.manual_redirect_uri


def test_paste_of_the_callback_url_and_notices_for_bad_pastes(
    env: dict[str, str], emulator: ClaudeEmulator
) -> None:
    login = Login(env, "--no-models", "--timeout", "30")
    login.until_waiting()
    callback = approve(login.urls[0])
    login.send("garbage that is not a code")
    login.send(callback.replace(re.search(r"state=([^&]+)", callback)[1], "W" * 43))
    login.send(callback)
    code, out, err = login.finish()
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "neither CODE#STATE nor a callback URL" in warnings[0]
    assert "different login attempt" in warnings[1]
    assert "(via paste (loopback))" in out
    (exchange,) = [r for r in emulator.requests if r.path == "/v1/oauth/token"]
    assert exchange.json["redirect_uri"] == f"http://localhost:{login.port}/callback"
    assert emulator.grants["authorization_code"] == 1


# -- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("parent", ["default", "ignored"])
def test_sigint_exits_130_with_one_line_and_releases_the_port(
    env: dict[str, str], parent: str
) -> None:
    with sigint_ignored(parent == "ignored"):
        login = Login(env, "--no-models", "--timeout", "60")
    login.until_inside_the_wait()
    login.proc.send_signal(signal.SIGINT)
    code, _, err = login.finish(timeout=15)
    assert code == 130
    # The user's own Ctrl-C: one plain line, not an "error:".
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "Login cancelled."
    assert "Traceback" not in err and "error:" not in err
    assert released(login.port)


def test_timeout_is_one_line_exit_1_and_releases_the_port(env: dict[str, str]) -> None:
    login = Login(env, "--no-models", "--timeout", "0.5")
    login.until_waiting()
    code, _, err = login.finish()
    assert code == 1
    line = one_error_line(err)
    assert "No sign-in response arrived within 0.5 s" in line
    assert "Run the login again" in line and "moved" not in line  # the sign-in page is there
    assert released(login.port)


def test_a_timeout_on_a_sign_in_page_that_moved_says_so(
    env: dict[str, str], emulator: ClaudeEmulator
) -> None:
    # The browser would show Claude's 404 page, which the terminal never sees.
    emulator.inject("authorize", "404", times=5)
    login = Login(env, "--no-models", "--no-browser", "--timeout", "0.5")
    login.until_waiting()
    code, _, err = login.finish()
    assert code == 1
    line = one_error_line(err)
    assert "No sign-in response arrived within 0.5 s" in line
    assert "answered HTTP 404: it has probably moved" in line
    assert "CLAUDE_CODE_OAUTH_AUTH_URL" in line


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf", "1e12"])
def test_an_unusable_timeout_option_is_one_line_and_exit_2(env: dict[str, str], value: str) -> None:
    done = subprocess.run(
        [*CLI, "login", "--no-models", "--no-browser", f"--timeout={value}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "login timeout" in one_error_line(done.stderr)


def _existing_token_file(data_dir: Path) -> tuple[Path, bytes, int]:
    path = data_dir / "claude_code_oauth.json"
    original = b'{"access_token": "kept", "refresh_token": "kept-too"}'
    path.write_bytes(original)
    path.chmod(0o600)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    return path, original, path.stat().st_mtime_ns


def test_denied_login_is_one_line_and_keeps_the_old_tokens(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    path, original, mtime = _existing_token_file(data_dir)
    env["BROWSER"] = f"{sys.executable} -m claude_code_oauth.testing.scripted_browser --deny %s"
    login = Login(env, "--no-models", "--timeout", "30")
    login.until_waiting()
    code, _, err = login.finish()
    assert code == 1
    line = one_error_line(err)
    assert "access_denied" in line and "The user denied the request" in line
    assert path.read_bytes() == original and path.stat().st_mtime_ns == mtime
    assert emulator.grants["authorization_code"] == 0


def test_a_cloudflare_page_at_the_exchange_is_one_line_and_keeps_the_old_tokens(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    path, original, mtime = _existing_token_file(data_dir)
    emulator.inject("token", "html403")
    env["BROWSER"] = scripted_browser
    login = Login(env, "--no-models", "--timeout", "30")
    login.until_waiting()
    code, _, err = login.finish()
    assert code == 1
    line = one_error_line(err)
    assert "HTTP 403" in line and "Cloudflare" in line
    assert path.read_bytes() == original and path.stat().st_mtime_ns == mtime
    assert len([r for r in emulator.requests if r.path == "/v1/oauth/token"]) == 1


@pytest.mark.machine
def test_a_disk_that_fills_up_during_the_wait_leaves_the_code_unspent(
    env: dict[str, str], emulator: ClaudeEmulator
) -> None:
    with tmpfs("1m") as disk:
        data = disk / "data"
        env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data)
        login = Login(env, "--no-browser", "--no-models", "--timeout", "30")
        login.until_waiting()
        filler = fill(disk)
        with http() as client:
            client.get(approve(login.urls[0]))
        code, _, err = login.finish()
        assert code == 1
        line = one_error_line(err)
        assert "Not exchanging the sign-in code" in line and "No space left on device" in line
        assert emulator.grants["authorization_code"] == 0
        filler.unlink()
        assert not (data / "claude_code_oauth.json").exists()
        assert [p.name for p in data.iterdir() if p.name.endswith(".tmp")] == []


def test_a_symlink_at_the_token_path_is_refused_before_the_browser(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "victim.json"
    target.write_text('{"keep": true}')
    os.utime(target, (1_600_000_000, 1_600_000_000))
    os.symlink(target, data_dir / "claude_code_oauth.json")
    browser, marker = marker_browser(tmp_path)
    env["BROWSER"] = browser
    done = subprocess.run(
        [*CLI, "login", "--no-models", "--timeout", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert "symbolic link" in one_error_line(done.stderr)
    assert "Waiting" not in done.stdout and not marker.exists()
    assert json.loads(target.read_text()) == {"keep": True}
    assert target.stat().st_mtime == 1_600_000_000
    assert os.path.islink(data_dir / "claude_code_oauth.json")
    assert emulator.requests == []


@pytest.mark.parametrize("moment", ["first line", "waiting line", "inside the wait"])
def test_sigint_at_any_moment_is_one_line_and_exit_130(env: dict[str, str], moment: str) -> None:
    # Started the way a background job is: SIGINT ignored in the parent.
    with sigint_ignored(True):
        login = Login(env, "--no-models", "--timeout", "60")
    if moment == "first line":
        login.seen.append(login.lines.get(timeout=20))  # the port is open
    elif moment == "waiting line":
        login.until_waiting()
    else:
        login.until_inside_the_wait()
    login.proc.send_signal(signal.SIGINT)
    code, out, err = login.finish(timeout=15)
    assert code == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] in ("Login cancelled.", "Cancelled."), err
    if "port " in out:  # it got as far as listening
        assert released(login.port)


# -- what the browser's command line shows ----------------------------------------------------


def recording_browser(tmp_path: Path, scripted_browser: str) -> tuple[str, Path]:
    """A BROWSER that writes its command line to a file, then approves like a user."""
    argv = tmp_path / "browser-argv"
    script = tmp_path / "recording-browser.sh"
    script.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argv}'\nexec {scripted_browser.replace('%s', '')}"
        ' "$1"\n'
    )
    script.chmod(0o755)
    return str(script), argv


def test_the_browser_command_line_holds_neither_state_nor_code_challenge(
    env: dict[str, str], emulator: ClaudeEmulator, tmp_path: Path, scripted_browser: str
) -> None:
    env["BROWSER"], argv = recording_browser(tmp_path, scripted_browser)
    login = Login(env, "--no-models", "--timeout", "30")
    login.until_waiting()
    code, out, err = login.finish()
    assert code == 0, err
    assert "(via browser)" in out
    # The printed copy-paste URL is the full authorize URL ...
    printed = parse_qs(urlsplit(login.urls[0]).query)
    state, challenge = printed["state"][0], printed["code_challenge"][0]
    # ... but what every local user can read in /proc/<browser>/cmdline is not.
    opened = argv.read_text()
    assert re.fullmatch(rf"http://localhost:{login.port}/start/[A-Za-z0-9_-]{{32}}\n", opened)
    assert state not in opened and challenge not in opened
    assert "state" not in opened and "challenge" not in opened


# -- a flood of wrong callbacks ----------------------------------------------------------------


def test_a_flood_of_wrong_state_callbacks_costs_one_terminal_line(
    env: dict[str, str], emulator: ClaudeEmulator
) -> None:
    login = Login(env, "--no-models", "--timeout", "60")
    login.until_waiting()
    base = f"http://localhost:{login.port}/callback?"
    with http() as client:
        for index in range(200):
            client.get(base + f"code=x&state=forged-{index}")
        for _ in range(20):
            client.get(base + "code=x")
    login.send(manual_paste(login.urls[1]))
    code, _, err = login.finish()
    assert code == 0, err
    notes = [line for line in err.splitlines() if "was ignored" in line]
    assert notes == [
        "warning: Note: a callback with a wrong state was ignored.",
        "warning: Note: a callback with a missing state was ignored.",
    ]


# -- fail before the browser ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setup", "words", "exit_code"),
    [
        ("group-writable data dir", "writable by other users", 1),
        ("directory at the token path", "not a regular file", 1),
        ("plain-http token URL", "token_url", 2),
        ("plain-http API base URL", "api_base_url", 2),
        ("models file with a path", "models_file", 2),
    ],
)
def test_problems_that_would_fail_the_save_are_reported_before_the_browser(
    env: dict[str, str],
    emulator: ClaudeEmulator,
    data_dir: Path,
    tmp_path: Path,
    setup: str,
    words: str,
    exit_code: int,
) -> None:
    if setup == "group-writable data dir":
        data_dir.chmod(0o775)
    elif setup == "directory at the token path":
        (data_dir / "claude_code_oauth.json").mkdir()
    elif setup == "plain-http token URL":
        env["CLAUDE_CODE_OAUTH_TOKEN_URL"] = "http://platform.example/v1/oauth/token"
    elif setup == "plain-http API base URL":
        env["CLAUDE_CODE_OAUTH_API_BASE_URL"] = "http://api.example"
    else:
        env["CLAUDE_CODE_OAUTH_MODELS_FILE"] = "sub/extra_models.json"
    browser, marker = marker_browser(tmp_path)
    env["BROWSER"] = browser
    done = subprocess.run(
        [*CLI, "login", "--timeout", "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == exit_code, done.stderr
    assert words in one_error_line(done.stderr)
    assert "Waiting" not in done.stdout and not marker.exists()
    assert emulator.requests == []
