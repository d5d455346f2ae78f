"""``claude-code-oauth doctor``, run as a real process against the emulator."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import store as token_store
from helpers.cli import plain_python, run_cli
from helpers.tokens import seed, stored

pytestmark = pytest.mark.subprocess

NAMES = [
    "configuration",
    "files",
    "credential_store",
    "keyring_item",
    "stale_items",
    "sign_in",
    "host_stack",
    "token_endpoint",
    "authorize_endpoint",
    "profile",
    "models",
]


def doctor(
    env: dict[str, str], *args: str, code_puppy: bool = False
) -> subprocess.CompletedProcess[str]:
    """``doctor ARGS`` as installed without Code Puppy (the library check then has nothing
    to import: each run is seconds faster), or with ``code_puppy`` in this environment,
    beside Code Puppy."""
    return run_cli(env, "doctor", *args, python=None if code_puppy else plain_python())


def checks(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    report = json.loads(done.stdout)
    assert set(report) == {"ok", "checks"}
    for check in report["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix"}
        assert (check["fix"] is None) == check["ok"]
        assert "\n" not in check["detail"]
    by_name = {c["name"]: c for c in report["checks"]}
    assert report["ok"] == all(c["ok"] for c in by_name.values())
    assert (done.returncode == 0) == report["ok"]
    return by_name


def leaked(done: subprocess.CompletedProcess[str]) -> bool:
    return "sk-ant-" in done.stdout + done.stderr


def test_a_healthy_setup_passes_without_touching_the_refresh_token(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    before = token_path.read_bytes()
    done = doctor(client_env, "--json")
    result = checks(done)
    assert list(result) == NAMES and done.returncode == 0, result
    assert "emulated.user@example.com" in result["sign_in"]["detail"]
    assert "Emulated Organization" in result["profile"]["detail"]
    assert "plan Max 20x (default_claude_max_20x)" in result["profile"]["detail"]
    assert result["models"]["detail"].startswith("lists 5 model(s): ")
    # The token endpoint was asked once, without any token; nothing was refreshed.
    (probe,) = [r for r in emulator.requests if r.path == "/v1/oauth/token"]
    assert sorted(probe.json) == ["client_id", "grant_type"]
    assert "invalid_request" in result["token_endpoint"]["detail"]
    assert emulator.grants["refresh_token"] == 0
    assert token_path.read_bytes() == before
    assert not [r for r in emulator.requests if r.path == "/v1/messages"]
    assert not leaked(done)


def test_human_output_marks_each_line(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    done = doctor(client_env, code_puppy=True)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == len(NAMES)
    assert all(line.startswith("✓ ") for line in lines)
    assert lines[2] == f"✓ Credential store: file {token_path} (its own 0600 file)"
    assert lines[5].startswith("✓ Sign-in: Signed in as emulated.user@example.com")
    # This environment has Code Puppy's libraries: they were checked, and work together.
    assert lines[6].startswith("✓ Anthropic SDK and pydantic-ai: anthropic ")
    assert lines[6].endswith("they work together (a request built and read back in memory)")


def test_without_code_puppy_the_library_check_passes_with_nothing_to_check(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    done = doctor(client_env, "--json")
    result = checks(done)
    assert result["host_stack"] == {
        "name": "host_stack",
        "ok": True,
        "detail": "no pydantic-ai in this Python (Code Puppy is not installed here): "
        "nothing to check",
        "fix": None,
    }
    assert list(result) == NAMES and done.returncode == 0, result


def test_inference_says_first_that_it_counts_and_sends_one_token(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    done = doctor(client_env, "--json", "--inference")
    assert done.stderr.startswith("--inference sends one request to Claude")
    assert "counts against your usage" in done.stderr
    result = checks(done)
    assert list(result) == [*NAMES, "inference"] and done.returncode == 0
    (sent,) = [r for r in emulator.requests if r.path == "/v1/messages"]
    assert sent.json["max_tokens"] == 1
    assert sent.json["model"] == "claude-3-5-haiku-20241022"  # the cheapest listed
    assert "claude-3-5-haiku-20241022 answered" in result["inference"]["detail"]


@pytest.mark.parametrize(
    ("fault", "fragments", "fix"),
    [
        ("400_third_party", ["refused this sign-in for use outside Claude Code"], "API key"),
        ("429_limit", ["Claude usage limit reached (5-hour window)"], "resets"),
        ("529", ["is overloaded"], "try again shortly"),
    ],
)
def test_inference_names_the_refusal(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    fault: str,
    fragments: list[str],
    fix: str,
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.inject("messages", fault, times=3)
    done = doctor(client_env, "--json", "--inference")
    result = checks(done)
    assert done.returncode == 1
    inference = result["inference"]
    assert not inference["ok"]
    for fragment in fragments:
        assert fragment in inference["detail"]
    assert fix in inference["fix"]
    assert all(result[name]["ok"] for name in NAMES)
    # One request: doctor adds no retry of its own.
    assert sum(1 for r in emulator.requests if r.path == "/v1/messages") == 1


def test_not_signed_in(emulator: ClaudeEmulator, client_env: dict[str, str]) -> None:
    done = doctor(client_env, "--json")
    result = checks(done)
    assert done.returncode == 1
    assert result["sign_in"]["detail"] == "Not signed in to Claude."
    assert "claude-code-oauth login" in result["sign_in"]["fix"]
    assert result["profile"]["detail"] == "not checked: not signed in"
    assert result["token_endpoint"]["ok"] and result["authorize_endpoint"]["ok"]
    assert not [r for r in emulator.requests if r.path in ("/v1/models", "/api/oauth/profile")]


def test_profile_checks_that_profile(
    emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.work.json", expires_in=3600)
    default = checks(doctor(client_env, "--json"))
    assert not default["sign_in"]["ok"]  # the default profile is not signed in
    work = doctor(client_env, "--json", "--profile", "work")
    result = checks(work)
    assert work.returncode == 0 and result["sign_in"]["ok"] and result["models"]["ok"], result
    other = checks(doctor(client_env, "--json", "--profile", "other"))
    assert "login --profile other" in other["sign_in"]["fix"]
    for skipped in ("profile", "models"):  # every fix names the profile asked about
        assert "login --profile other" in other[skipped]["fix"], other[skipped]
    assert not leaked(work)


def test_a_revoked_login_is_found_and_marked(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.revoke_all()  # the API says revoked, and the one refresh proves it
    result = checks(doctor(client_env, "--json"))
    assert "revoked" in result["profile"]["detail"]
    assert "claude-code-oauth login" in result["profile"]["fix"]
    assert stored(token_path).needs_login
    # The next doctor says so from the file, without asking the token endpoint to refresh.
    again = checks(doctor(client_env, "--json"))
    assert not again["sign_in"]["ok"] and "revoked" in again["sign_in"]["detail"]
    assert emulator.grants["refresh_token"] == 0


@pytest.mark.parametrize(
    ("endpoint", "fault", "check", "variable"),
    [
        ("token", "404", "token_endpoint", "CLAUDE_CODE_OAUTH_TOKEN_URL"),
        ("token", "404_html", "token_endpoint", "CLAUDE_CODE_OAUTH_TOKEN_URL"),
        ("token", "html403", "token_endpoint", "CLAUDE_CODE_OAUTH_TOKEN_URL"),
        ("authorize", "404", "authorize_endpoint", "CLAUDE_CODE_OAUTH_AUTH_URL"),
        ("authorize", "404_html", "authorize_endpoint", "CLAUDE_CODE_OAUTH_AUTH_URL"),
    ],
)
def test_a_moved_endpoint_names_its_variable(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    endpoint: str,
    fault: str,
    check: str,
    variable: str,
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.inject(endpoint, fault)
    result = checks(doctor(client_env, "--json"))
    assert not result[check]["ok"]
    assert "has probably moved" in result[check]["detail"]
    assert variable in result[check]["fix"]
    assert [name for name, c in result.items() if not c["ok"]] == [check]


@pytest.mark.parametrize("fault", ["502_html", "invalid_json"])
def test_a_token_endpoint_answering_without_json_fails(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, fault: str
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.inject("token", fault)
    result = checks(doctor(client_env, "--json"))
    assert not result["token_endpoint"]["ok"]
    assert "without JSON" in result["token_endpoint"]["detail"]
    assert "CLAUDE_CODE_OAUTH_TOKEN_URL" in result["token_endpoint"]["fix"]


def test_the_sign_in_line_gives_both_expiries_and_an_ended_login_skips_the_rest(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    fine = checks(doctor(client_env, "--json"))["sign_in"]["detail"]
    assert "access token valid until" in fine and "login ends" in fine
    record = stored(token_path)
    record.refresh_token_expires_at = time.time() - 3600
    token_store.save(str(token_path), record)
    ended = checks(doctor(client_env, "--json"))
    assert not ended["sign_in"]["ok"] and "the login ended" in ended["sign_in"]["detail"]
    assert ended["profile"]["detail"] == ended["models"]["detail"] == "not checked: see the sign-in"


def test_the_authorize_endpoints_cloudflare_challenge_is_fine(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    emulator.inject("authorize", "html403")
    result = checks(doctor(client_env, "--json"))
    assert result["authorize_endpoint"]["ok"]
    assert "Cloudflare challenge" in result["authorize_endpoint"]["detail"]


def test_unreachable_endpoints(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **client_env,
        "CLAUDE_CODE_OAUTH_TOKEN_URL": f"http://127.0.0.1:{port}/v1/oauth/token",
        "CLAUDE_CODE_OAUTH_AUTH_URL": f"http://127.0.0.1:{port}/oauth/authorize",
    }
    result = checks(doctor(env, "--json"))
    token = result["token_endpoint"]
    assert (
        token["detail"] == f"Could not reach the token endpoint (127.0.0.1:{port}): ConnectError."
    )
    assert "CLAUDE_CODE_OAUTH_TOKEN_URL" in token["fix"]
    assert "CLAUDE_CODE_OAUTH_AUTH_URL" in result["authorize_endpoint"]["fix"]
    assert result["profile"]["ok"] and result["models"]["ok"]


def test_private_files(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    os.chmod(token_path, 0o644)
    files = checks(doctor(client_env, "--json"))["files"]
    assert not files["ok"] and "mode 0644" in files["detail"]
    assert files["fix"] == f"chmod 600 {token_path}"
    os.chmod(token_path, 0o600)
    os.chmod(token_path.parent, 0o777)
    try:
        files = checks(doctor(client_env, "--json"))["files"]
    finally:
        os.chmod(token_path.parent, 0o700)
    assert not files["ok"] and files["fix"] == f"chmod go-w {token_path.parent}"


def test_a_bad_configuration_value(emulator: ClaudeEmulator, client_env: dict[str, str]) -> None:
    env = {**client_env, "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "soon"}
    done = doctor(env, "--json")
    result = checks(done)
    assert done.returncode == 1
    assert "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT" in result["configuration"]["detail"]
    assert not result["token_endpoint"]["ok"]  # it needs the timeout too: said, not raised


def test_a_token_endpoint_nested_too_deeply_is_a_failed_check_not_a_traceback(
    emulator: ClaudeEmulator, proxy: HostileProxy, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    proxy.add_rule(
        "/v1/oauth/token", forward=False, status=400, body=b"[" * 200_000 + b"]" * 200_000
    )
    done = doctor(proxy.env(client_env), "--json")
    assert "Traceback" not in done.stderr
    result = checks(done)
    assert (
        not result["token_endpoint"]["ok"] and "without JSON" in result["token_endpoint"]["detail"]
    )
