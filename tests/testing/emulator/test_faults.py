"""Injected faults, the /_emulator control endpoints, and the emulator's command line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator

BETA = "oauth-2025-04-20"


def call_token(emu: ClaudeEmulator, client: httpx.Client, login: dict) -> httpx.Response:
    body = {
        "grant_type": "refresh_token",
        "refresh_token": login["refresh_token"],
        "client_id": emu.client_id,
    }
    return client.post("/v1/oauth/token", json=body)


def call_models(emu: ClaudeEmulator, client: httpx.Client, login: dict) -> httpx.Response:
    headers = {"authorization": f"Bearer {login['access_token']}", "anthropic-beta": BETA}
    return client.get("/v1/models", headers=headers)


CALLS: dict[str, Callable[[ClaudeEmulator, httpx.Client, dict], httpx.Response]] = {
    "token": call_token,
    "models": call_models,
}


@pytest.mark.parametrize("endpoint", ["token", "models"])
class TestReplacingFaults:
    def test_html403_is_a_cloudflare_page(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        emu.inject(endpoint, "html403")
        answer = CALLS[endpoint](emu, client, emu.issue_login())
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "<title>Just a moment...</title>" in answer.text

    def test_429_carries_retry_after(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        emu.inject(endpoint, "429", retry_after=7)
        answer = CALLS[endpoint](emu, client, emu.issue_login())
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "7"
        assert answer.json()["error"]["type"] == "rate_limit_error"

    def test_500_is_an_api_error_envelope(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        emu.inject(endpoint, "500")
        answer = CALLS[endpoint](emu, client, emu.issue_login())
        assert answer.status_code == 500
        assert answer.json() == {
            "type": "error",
            "error": {"type": "api_error", "message": "Internal server error"},
        }

    def test_502_html(self, emu: ClaudeEmulator, client: httpx.Client, endpoint) -> None:
        emu.inject(endpoint, "502_html")
        answer = CALLS[endpoint](emu, client, emu.issue_login())
        assert answer.status_code == 502
        assert answer.headers["content-type"].startswith("text/html")

    def test_invalid_json_claims_json(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        emu.inject(endpoint, "invalid_json")
        answer = CALLS[endpoint](emu, client, emu.issue_login())
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/json"
        with pytest.raises(json.JSONDecodeError):
            json.loads(answer.content)

    def test_401_once_leaves_state_unchanged(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        login = emu.issue_login()
        emu.inject(endpoint, "401")
        answer = CALLS[endpoint](emu, client, login)
        assert answer.status_code == 401
        assert answer.json()["error"]["type"] == "authentication_error"
        assert emu.grants["refresh_token"] == 0
        assert CALLS[endpoint](emu, client, login).status_code == 200

    def test_fault_applies_times_then_stops(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        login = emu.issue_login()
        emu.inject(endpoint, "500", times=2)
        statuses = [call_models(emu, client, login).status_code for _ in range(3)]
        if endpoint == "models":
            assert statuses == [500, 500, 200]
        else:
            assert statuses == [200, 200, 200]  # a token fault leaves /v1/models alone
            assert [call_token(emu, client, login).status_code for _ in range(2)] == [500, 500]

    def test_slow_answers_normally_after_the_delay(
        self, emu: ClaudeEmulator, client: httpx.Client, endpoint
    ) -> None:
        login = emu.issue_login()
        emu.inject(endpoint, "slow", delay=0.3)
        started = time.monotonic()
        answer = CALLS[endpoint](emu, client, login)
        assert time.monotonic() - started >= 0.3
        assert answer.status_code == 200

    def test_revoke_then_answer(self, emu: ClaudeEmulator, client: httpx.Client, endpoint) -> None:
        login = emu.issue_login()
        emu.inject(endpoint, "revoke")
        answer = CALLS[endpoint](emu, client, login)
        if endpoint == "token":
            assert answer.status_code == 400
            assert answer.json()["error"] == "invalid_grant"
        else:
            assert answer.status_code == 403  # the revoked login's token, as Claude says it
        assert call_models(emu, client, login).status_code == 403


def test_faults_queue_in_order_and_can_be_cleared(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    emu.inject("models", "500")
    emu.inject("models", "429")
    assert call_models(emu, client, login).status_code == 500
    assert call_models(emu, client, login).status_code == 429
    emu.inject("models", "500", times=5)
    emu.clear_faults()
    assert call_models(emu, client, login).status_code == 200


def test_authorize_and_profile_and_messages_faults(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    emu.inject("authorize", "html403")
    assert client.get("/oauth/authorize").status_code == 403
    emu.inject("profile", "502_html")
    assert client.get("/api/oauth/profile").status_code == 502
    emu.inject("messages", "429")
    assert client.post("/v1/messages").status_code == 429


@pytest.mark.parametrize(
    ("endpoint", "fault", "params"),
    [
        ("tokens", "500", {}),
        ("token", "503", {}),
        ("token", "429", {"delay": 1}),
        ("token", "slow", {"delay": -1}),
    ],
)
def test_inject_rejects_nonsense(emu: ClaudeEmulator, endpoint, fault, params) -> None:
    with pytest.raises(ValueError):
        emu.inject(endpoint, fault, **params)
    with pytest.raises(ValueError):
        emu.inject("token", "500", times=0)


# -- control endpoints -----------------------------------------------------------------


def test_control_endpoints_drive_a_running_emulator(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    fault = {"endpoint": "token", "fault": "429", "times": 1, "retry_after": 3}
    assert client.post("/_emulator/faults", json=fault).status_code == 200
    limited = call_token(emu, client, login)
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    assert call_token(emu, client, login).status_code == 200
    stats = client.get("/_emulator/stats")
    assert stats.json() == {"grants": {"refresh_token": 1}, "replays": 0, "revocations": 0}
    assert not any(secret in stats.text for secret in ISSUED_SECRETS)
    assert all(not r.path.startswith("/_emulator/") for r in emu.requests)


def test_control_expire_and_revoke(emu: ClaudeEmulator, client: httpx.Client) -> None:
    login = emu.issue_login()
    assert client.post("/_emulator/expire").status_code == 200
    assert call_models(emu, client, login).status_code == 401
    fresh = call_token(emu, client, login).json()
    assert call_models(emu, client, fresh).status_code == 200
    assert client.post("/_emulator/revoke").status_code == 200
    assert call_models(emu, client, fresh).status_code == 403
    assert call_token(emu, client, fresh).json()["error"] == "invalid_grant"


def test_control_clear_and_bad_fault(emu: ClaudeEmulator, client: httpx.Client) -> None:
    bad = client.post("/_emulator/faults", json={"endpoint": "token", "fault": "nope"})
    assert bad.status_code == 400
    client.post("/_emulator/faults", json={"endpoint": "models", "fault": "500", "times": 3})
    assert client.post("/_emulator/clear").status_code == 200
    assert call_models(emu, client, emu.issue_login()).status_code == 200


# -- command line -------------------------------------------------------------------------


def start_cli(*args: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_code_oauth.testing.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    match = re.fullmatch(r"Claude emulator listening on (http://127\.0\.0\.1:\d+)\n", first)
    assert match, "unexpected first line from the emulator CLI"
    # Read the export lines here: communicate() would miss what readline() buffered.
    exports = [proc.stdout.readline().rstrip("\n") for _ in range(5)]
    return proc, match.group(1), exports


@pytest.mark.subprocess
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_address_and_stops_cleanly(stop_signal) -> None:
    proc, base, exports = start_cli("--auto-approve", "--access-ttl", "60", "--login-ttl", "none")
    try:
        with httpx.Client(base_url=base, timeout=10) as c:
            stats = c.get("/_emulator/stats").json()
            assert stats == {"grants": {}, "replays": 0, "revocations": 0}
            token_body = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": "y"}
            assert c.post("/v1/oauth/token", json=token_body).status_code == 401
    finally:
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert err == "", "the emulator CLI wrote to stderr"
    assert out == ""
    assert f"export CLAUDE_CODE_OAUTH_TOKEN_URL={base}/v1/oauth/token" in exports
    assert f"export CLAUDE_CODE_OAUTH_API_BASE_URL={base}" in exports
    assert f"export CLAUDE_CODE_OAUTH_AUTH_URL={base}/oauth/authorize" in exports
    assert f"export CLAUDE_CODE_OAUTH_CONSOLE_AUTH_URL={base}/console/oauth/authorize" in exports


def test_env_points_at_the_emulator(emu: ClaudeEmulator) -> None:
    env = emu.env()
    assert env == {
        "CLAUDE_CODE_OAUTH_AUTH_URL": emu.base_url + "/oauth/authorize",
        "CLAUDE_CODE_OAUTH_CONSOLE_AUTH_URL": emu.base_url + "/console/oauth/authorize",
        "CLAUDE_CODE_OAUTH_TOKEN_URL": emu.base_url + "/v1/oauth/token",
        "CLAUDE_CODE_OAUTH_API_BASE_URL": emu.base_url,
        "CLAUDE_CODE_OAUTH_MANUAL_REDIRECT_URI": emu.base_url + "/oauth/code/callback",
    }


def test_stop_is_idempotent_and_frees_the_port() -> None:
    emu = ClaudeEmulator().start()
    base = emu.base_url
    with pytest.raises(RuntimeError):
        emu.start()
    emu.stop()
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/_emulator/stats", timeout=2)
