"""The scripted browser against the emulator and a tiny loopback receiver, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shlex
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator
from claude_code_oauth.testing.scripted_browser import BrowserError, open_url


class Receiver:
    """A loopback callback listener that records what it was sent."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                receiver.hits.append((parts.path, query))
                if parts.path != "/callback":
                    status, title = 404, "Not found"
                elif "code" in query:
                    status, title = 200, "Signed in"
                else:
                    status, title = 400, "Login failed"
                body = f"<html><head><title>{title}</title></head></html>".encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def callbacks(self) -> list[dict[str, str]]:
        return [query for path, query in self.hits if path == "/callback"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture
def emu() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator() as emulator:
        yield emulator


def authorize_url(emu: ClaudeEmulator, redirect_uri: str, **extra: str) -> tuple[str, dict]:
    verifier = secrets.token_urlsafe(32)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    params = {
        "code": "true",
        "client_id": emu.client_id,
        "response_type": "code",
        "redirect_uri": redirect_uri,
        "scope": "user:profile user:inference",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(32),
        **extra,
    }
    url = emu.base_url + "/oauth/authorize?" + urlencode(params)
    return url, {"verifier": verifier, "state": params["state"], "redirect_uri": redirect_uri}


def exchange_status(emu: ClaudeEmulator, code: str, flow: dict) -> int:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow["redirect_uri"],
        "client_id": emu.client_id,
        "code_verifier": flow["verifier"],
        "state": flow["state"],
    }
    return httpx.post(emu.base_url + "/v1/oauth/token", json=body, timeout=10).status_code


def run_browser(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "claude_code_oauth.testing.scripted_browser", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def assert_no_secrets(text: str, flow: dict) -> None:
    assert "code=" not in text, "output shows a query string"
    assert flow["state"] not in text, "output shows the state"
    assert not any(secret in text for secret in ISSUED_SECRETS), "output shows a secret"


def test_open_url_approves_and_delivers_a_working_code(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    assert open_url(url) == 200
    assert [path for path, _ in receiver.hits] == ["/favicon.ico", "/callback"]
    (callback,) = receiver.callbacks
    assert callback["state"] == flow["state"]
    assert callback["code"] in ISSUED_SECRETS
    assert exchange_status(emu, callback["code"], flow) == 200
    assert emu.grants["authorization_code"] == 1


def test_open_url_deny_delivers_access_denied(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    assert open_url(url, deny=True) == 400
    (callback,) = receiver.callbacks
    assert callback["error"] == "access_denied"
    assert callback["state"] == flow["state"]
    assert "code" not in callback


def test_open_url_with_auto_approve_and_localhost(receiver) -> None:
    with ClaudeEmulator(auto_approve=True) as emu:
        url, flow = authorize_url(emu, f"http://localhost:{receiver.port}/callback")
        assert open_url(url) == 200
        (callback,) = receiver.callbacks
        assert exchange_status(emu, callback["code"], flow) == 200


def test_open_url_on_the_manual_redirect_stays_on_the_emulator(
    emu: ClaudeEmulator, receiver
) -> None:
    url, _ = authorize_url(emu, emu.manual_redirect_uri)
    assert open_url(url) == 200
    assert receiver.hits == []
    assert [r.path for r in emu.requests][-1] == "/oauth/code/callback"


def test_open_url_without_following_the_callback(emu: ClaudeEmulator, receiver) -> None:
    url, _ = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    assert open_url(url, follow_callback=False) == 302
    assert receiver.hits == []


def test_open_url_unreachable_raises_without_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BrowserError) as info:
        open_url(f"http://127.0.0.1:{port}/oauth/authorize?state=abc")
    assert "abc" not in str(info.value) and str(port) not in str(info.value)


@pytest.mark.subprocess
def test_cli_approve_is_silent_and_succeeds(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    result = run_browser(url)
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
    (callback,) = receiver.callbacks
    assert exchange_status(emu, callback["code"], flow) == 200


@pytest.mark.subprocess
def test_cli_deny_fails_with_one_secret_free_line(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    result = run_browser("--deny", url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "HTTP 400" in result.stderr and "Login failed" in result.stderr
    assert_no_secrets(result.stdout + result.stderr, flow)
    assert receiver.callbacks[0]["error"] == "access_denied"


@pytest.mark.subprocess
def test_cli_no_follow_callback(emu: ClaudeEmulator, receiver) -> None:
    url, _ = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    result = run_browser("--no-follow-callback", url)
    assert result.returncode == 0
    assert receiver.hits == []
    assert emu.requests[-1].path == "/oauth/authorize/decision"


@pytest.mark.subprocess
def test_cli_reports_an_authorize_error_page(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback", client_id="bad")
    result = run_browser(url)
    assert result.returncode == 1
    assert "HTTP 400" in result.stderr
    assert_no_secrets(result.stderr, flow)
    assert receiver.hits == []


@pytest.mark.subprocess
def test_webbrowser_runs_it_through_the_browser_variable(emu: ClaudeEmulator, receiver) -> None:
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    command = shlex.join([sys.executable, "-m", "claude_code_oauth.testing.scripted_browser"])
    env = {**os.environ, "BROWSER": command + " %s"}
    script = "import sys, webbrowser; sys.exit(0 if webbrowser.open(sys.argv[1]) else 3)"
    result = subprocess.run(
        [sys.executable, "-c", script, url], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0
    assert_no_secrets(result.stdout + result.stderr, flow)
    (callback,) = receiver.callbacks
    assert exchange_status(emu, callback["code"], flow) == 200


def _exchanged_email(emu: ClaudeEmulator, code: str, flow: dict) -> str:
    body = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flow["redirect_uri"],
        "client_id": emu.client_id,
        "code_verifier": flow["verifier"],
        "state": flow["state"],
    }
    answer = httpx.post(emu.base_url + "/v1/oauth/token", json=body, timeout=10)
    assert answer.status_code == 200
    return answer.json()["account"]["email_address"]


def test_open_url_approves_as_the_chosen_account(emu: ClaudeEmulator, receiver) -> None:
    emu.add_account("work@example.com")
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    assert open_url(url, account="work@example.com") == 200
    (callback,) = receiver.callbacks
    assert _exchanged_email(emu, callback["code"], flow) == "work@example.com"
    # Without a choice: the account the page has checked (the browser's session).
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    assert open_url(url) == 200
    assert _exchanged_email(emu, receiver.callbacks[1]["code"], flow) == "emulated.user@example.com"


@pytest.mark.subprocess
def test_cli_account_choice_and_an_account_the_page_does_not_offer(
    emu: ClaudeEmulator, receiver
) -> None:
    emu.add_account("work@example.com")
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    result = run_browser("--account", "work@example.com", url)
    assert result.returncode == 0, result.stderr
    (callback,) = receiver.callbacks
    assert _exchanged_email(emu, callback["code"], flow) == "work@example.com"
    url, flow = authorize_url(emu, f"http://127.0.0.1:{receiver.port}/callback")
    refused = run_browser("--account", "nobody@example.com", url)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "scripted_browser: the consent page offers no account 'nobody@example.com'"
    ]
    assert_no_secrets(refused.stderr, flow)
    assert len(receiver.callbacks) == 1
