"""`claude-code-oauth login --console` and everything after it, as subprocesses on the emulator.

The whole Console sign-in by browser (the scripted browser) and by paste, the key file,
what every command shows for a Console profile, logout, and each way creating the key
can fail (every file left as it was). Keys are never printed: tests ask the emulator
whether a value is a key it created.
"""

from __future__ import annotations

import json
import queue
import random
import re
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import CLI, one_error_line, run_cli
from helpers.tokens import seed

pytestmark = pytest.mark.subprocess

KEY_FILE = "claude_code_oauth.json"


@pytest.fixture
def env(client_env: dict[str, str]) -> dict[str, str]:
    low = random.randint(20000, 60000)
    return {**client_env, "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}"}


def stored(data_dir: Path, name: str = KEY_FILE) -> dict:
    return json.loads((data_dir / name).read_text())


def key_requests(emulator: ClaudeEmulator, path: str) -> list[dict[str, object]]:
    """Facts about the requests to ``path`` (never a header's value)."""
    facts = []
    for request in emulator.requests:
        if request.path != path:
            continue
        headers = request.headers
        betas = [b.strip() for b in headers.get("anthropic-beta", "").split(",") if b.strip()]
        facts.append(
            {
                "minted_key": emulator.api_key_created(headers.get("x-api-key", "")),
                "authorization": "authorization" in headers,
                "oauth_beta": "oauth-2025-04-20" in betas,
                "user_agent": headers.get("user-agent"),
            }
        )
    return facts


KEY_ONLY = {
    "minted_key": True,
    "authorization": False,
    "oauth_beta": False,
    "user_agent": USER_AGENT,
}


def test_console_login_by_browser_keeps_only_the_key_and_every_command_knows_it(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    env["BROWSER"] = scripted_browser
    done = run_cli(env, "login", "--console", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Opening your browser to sign in to the Anthropic Console.")
    (listed,) = emulator.api_keys
    key_name, last4 = listed["name"], listed["partial_key_hint"][-4:]
    assert (
        "Signed in to the Anthropic Console as emulated.user@example.com (via browser): "
        f"created the API key '{key_name}' (…{last4}) for Emulated Organization." in out
    )
    assert f"API key saved to {data_dir / KEY_FILE} (mode 0600)." in out
    assert "OAuth tokens were used only to create it and were not kept" in out
    assert "Registered 5 model(s)" in out

    # The browser went to the Console's page; the key was created with the login's token.
    (authorize,) = [r for r in emulator.requests if "authorize" in r.path and r.method == "GET"]
    assert authorize.path == "/console/oauth/authorize"
    (create,) = [r for r in emulator.requests if r.path.endswith("/create_api_key")]
    assert create.headers["authorization"].startswith("Bearer sk-ant-oat01-")

    # Only the key is kept: 0600, no OAuth token anywhere on disk.
    key_file = data_dir / KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    saved = stored(data_dir)
    assert saved["kind"] == "console_api_key" and emulator.api_key_created(saved["api_key"])
    assert (
        saved["key_name"] == key_name and saved["organization"]["name"] == "Emulated Organization"
    )
    everything = "".join(p.read_text() for p in data_dir.iterdir() if p.is_file())
    assert "sk-ant-oat01-" not in everything and "sk-ant-ort01-" not in everything
    models_text = (data_dir / "extra_models.json").read_text()
    assert saved["api_key"] not in models_text
    models = json.loads(models_text)
    assert {entry["type"] for entry in models.values()} == {"claude_code_oauth_api_key"}
    assert all(set(entry["custom_endpoint"]) == {"url"} for entry in models.values())
    # Discovery used the key: x-api-key, no Bearer, no OAuth beta, our User-Agent.
    assert key_requests(emulator, "/v1/models") == [KEY_ONLY]

    status = run_cli(env, "status")
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0] == (
        "Anthropic API key (Console) for Emulated Organization, signed in as "
        "emulated.user@example.com."
    )
    assert re.fullmatch(
        rf"API key: {key_name} …{last4}, created \S+ \(\d+s ago\); it does not expire\.", lines[1]
    )
    assert "plan windows and extra usage don't apply" in status.stdout
    assert saved["api_key"] not in status.stdout + status.stderr

    report = json.loads(run_cli(env, "status", "--json", "--verify").stdout)
    assert report["credential"] == "api_key" and report["verified"] is True
    assert report["api_key"]["name"] == key_name and report["api_key"]["last4"] == last4
    assert report["api_key"]["id"] == listed["id"] and report["api_key"]["created_at"]
    assert report["needs_login"] is False and report["scopes"] == []
    assert saved["api_key"] not in json.dumps(report)

    token = run_cli(env, "token")
    assert token.returncode == 0 and token.stderr == ""
    assert token.stdout == saved["api_key"] + "\n"  # credential-helper semantics: only the key

    usage = run_cli(env, "usage")
    assert usage.returncode == 0
    assert "plan windows (5-hour, weekly) and extra usage don't apply" in usage.stdout
    assert json.loads(run_cli(env, "usage", "--json").stdout)["plan"] == {
        "name": "API",
        "tier": None,
    }

    profiles = run_cli(env, "profiles")
    assert (
        f"* default: emulated.user@example.com (Emulated Organization, API) — Anthropic API "
        f"key (Console) …{last4}, created" in profiles.stdout
    )

    doctor = run_cli(env, "doctor", "--json", "--inference")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert doctor.returncode == 0, doctor.stdout
    assert list(checks) == [
        "configuration",
        "files",
        "credential_store",
        "keyring_item",
        "stale_items",
        "sign_in",
        "host_stack",
        "authorize_endpoint",
        "models",
        "inference",
    ]
    assert f"(…{last4})" in checks["sign_in"]["detail"]
    assert checks["authorize_endpoint"]["detail"].startswith("the Console's sign-in page: ")
    assert checks["models"]["detail"].startswith("API key accepted: lists 5 model(s)")
    assert key_requests(emulator, "/v1/messages") == [KEY_ONLY]
    assert saved["api_key"] not in doctor.stdout + doctor.stderr


def test_console_login_by_paste_without_a_browser(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path
) -> None:
    proc = subprocess.Popen(
        [*CLI, "login", "--console", "--no-models", "--timeout", "60"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    seen: list[str] = []
    deadline = time.monotonic() + 30
    while not any(line.startswith("Waiting up to") for line in seen):
        seen.append(lines.get(timeout=max(0.01, deadline - time.monotonic())))
    assert seen[0].startswith("Not opening a browser (there is no graphical display")
    browser_url, manual_url = [line.strip() for line in seen if line.startswith("  http")]
    assert urlsplit(browser_url).path == urlsplit(manual_url).path == "/console/oauth/authorize"
    proc.stdin.write(manual_code(manual_url) + "\n")
    proc.stdin.flush()
    proc.stdin.close()
    assert proc.wait(60) == 0
    while not lines.empty():
        seen.append(lines.get())
    out = "".join(seen)
    assert (
        "Signed in to the Anthropic Console as emulated.user@example.com (via paste (manual))"
        in out
    )
    assert emulator.api_key_created(stored(data_dir)["api_key"])
    (exchange,) = [r for r in emulator.requests if r.path == "/v1/oauth/token"]
    assert exchange.json["redirect_uri"] == emulator.manual_redirect_uri


def manual_code(manual_url: str) -> str:
    """Approve on the Console's page (manual redirect) and read CODE#STATE off the page."""
    import html

    with httpx.Client(trust_env=False, timeout=10) as client:
        page = client.get(manual_url)
        assert "Anthropic Console" in page.text
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(manual_url))
        decision = client.post(
            origin + "/oauth/authorize/decision",
            data={"request_id": html.unescape(request_id.group(1)), "decision": "approve"},
        )
        shown = client.get(decision.headers["location"])
    code = re.search(r'<code id="code">([^<]+)</code>', shown.text)
    assert code
    return html.unescape(code.group(1))


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (
            lambda emu: emu.deny_api_keys("emulated.user@example.com"),
            "refused to create an API key (HTTP 403 permission_error: You do not have "
            "permission to create API keys in this organization.",
        ),
        (lambda emu: emu.inject("create_api_key", "500"), "failed (HTTP 500 api_error"),
        (lambda emu: emu.inject("create_api_key", "401"), "rejected the sign-in (HTTP 401"),
        (lambda emu: emu.inject("create_api_key", "502_html"), "with an HTML page"),
        (lambda emu: emu.inject("create_api_key", "html403"), "(a Cloudflare challenge)"),
        (lambda emu: emu.inject("create_api_key", "no_raw_key"), "the answer has no raw_key"),
        (lambda emu: emu.inject("create_api_key", "bad_raw_key"), "is not a plausible API key"),
        (lambda emu: emu.inject("create_api_key", "invalid_json"), "not a JSON object"),
        (
            lambda emu: emu.inject("create_api_key", "slow", delay=4),
            "did not answer within 1 s",
        ),
    ],
    ids=[
        "no-permission",
        "500",
        "401",
        "html502",
        "cloudflare",
        "no-raw-key",
        "bad-raw-key",
        "invalid-json",
        "timeout",
    ],
)
def test_a_failed_key_creation_is_one_line_and_leaves_every_file_as_it_was(
    env: dict[str, str],
    emulator: ClaudeEmulator,
    data_dir: Path,
    scripted_browser: str,
    break_it,
    expected: str,
) -> None:
    # The profile is signed in (a subscription) and has its models: both must survive.
    seed(emulator, data_dir / KEY_FILE, expires_in=3600)
    env["BROWSER"] = scripted_browser
    assert run_cli(env, "models", "--refresh").returncode == 0
    before = {p.name: p.read_bytes() for p in data_dir.iterdir() if not p.name.endswith(".lock")}
    break_it(emulator)
    done = run_cli({**env, "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "1"}, "login", "--console")
    assert done.returncode == 1, done.stdout
    line = one_error_line(done.stderr)
    assert expected in line, line
    assert "Nothing was saved" in line
    after = {p.name: p.read_bytes() for p in data_dir.iterdir() if not p.name.endswith(".lock")}
    assert after == before
    assert emulator.api_keys == []


def test_logout_removes_the_key_here_and_says_it_lives_on_in_the_console(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    env["BROWSER"] = scripted_browser
    assert run_cli(env, "login", "--console").returncode == 0
    key = stored(data_dir)["api_key"]
    (listed,) = emulator.api_keys
    label = f"'{listed['name']}' (…{key[-4:]})"
    done = run_cli(env, "logout")
    assert done.returncode == 0, done.stderr
    assert f"Removed the Anthropic API key {label} from {data_dir / KEY_FILE}." in done.stdout
    assert "Removed 5 registered model(s)" in done.stdout
    (warning,) = [line for line in done.stderr.splitlines() if line.startswith("warning: ")]
    assert warning == (
        f"warning: The key {label} still exists in the Anthropic Console (Emulated "
        "Organization) and keeps working for anyone who has it until you revoke it there: "
        f"{emulator.base_url}/settings/keys (there is no public API to revoke it)."
    )
    assert key not in done.stdout + done.stderr
    assert not (data_dir / KEY_FILE).exists()
    # A Console sign-in keeps no OAuth token: nothing to post to the revoke endpoint.
    assert not [r for r in emulator.requests if r.path.endswith("/revoke")]
    assert "revocation" not in done.stdout + done.stderr
    # True: it still works, until revoked in the Console.
    with httpx.Client(trust_env=False, timeout=10) as client:
        answer = client.get(emulator.base_url + "/v1/models", headers={"x-api-key": key})
    assert answer.status_code == 200
    again = run_cli(env, "logout")
    assert again.returncode == 0 and "No tokens were stored." in again.stdout
    assert run_cli(env, "token").returncode == 1


def test_a_console_profile_beside_a_subscription_one(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    env["BROWSER"] = scripted_browser
    assert run_cli(env, "login").returncode == 0
    done = run_cli(env, "login", "--console", "--profile", "api", "--pin")
    assert done.returncode == 0, done.stderr
    assert "The active profile is still default" in done.stdout
    key = stored(data_dir, "claude_code_oauth.api.json")["api_key"]
    assert (data_dir / "claude_code_oauth.api.json").stat().st_mode & 0o777 == 0o600
    models = json.loads((data_dir / "extra_models.json").read_text())
    pinned = {k: v for k, v in models.items() if v.get("oauth_profile") == "api"}
    assert len(pinned) == 5 and {v["type"] for v in pinned.values()} == {
        "claude_code_oauth_api_key"
    }
    following = {k: v for k, v in models.items() if "oauth_profile" not in v}
    assert {v["type"] for v in following.values()} == {"claude_code_oauth_pkce"}

    listing = json.loads(run_cli(env, "profiles", "--json").stdout)
    by_name = {p["profile"]: p for p in listing}
    assert by_name["default"]["credential"] == "oauth" and by_name["default"]["active"]
    assert by_name["api"]["credential"] == "api_key" and by_name["api"]["plan"] == "API"
    assert by_name["api"]["api_key"]["last4"] == key[-4:]

    everything = run_cli(env, "status", "--all")
    assert everything.returncode == 0
    assert "Profile default (active):" in everything.stdout
    assert "Profile api:" in everything.stdout
    assert "  Anthropic API key (Console) for Emulated Organization" in everything.stdout
    assert key not in everything.stdout

    assert run_cli(env, "token", "--profile", "api").stdout == key + "\n"
    assert run_cli(env, "token").stdout.startswith("sk-ant-oat01-")
    switched = run_cli(env, "switch", "api")
    assert switched.returncode == 0, switched.stderr
    assert run_cli(env, "token").stdout == key + "\n"
    checks = json.loads(run_cli(env, "doctor", "--json").stdout)["checks"]
    assert "token_endpoint" not in {c["name"] for c in checks}
    assert all(c["ok"] for c in checks), checks


def test_a_revoked_key_is_named_with_what_to_do(
    env: dict[str, str], emulator: ClaudeEmulator, data_dir: Path, scripted_browser: str
) -> None:
    env["BROWSER"] = scripted_browser
    assert run_cli(env, "login", "--console", "--no-models").returncode == 0
    emulator.revoke_api_keys()
    status = run_cli(env, "status", "--verify")
    assert status.returncode == 1
    assert (
        "Server check: failed. The models endpoint (127.0.0.1:" in status.stdout
        and "rejected the API key of this Console sign-in (HTTP 401 authentication_error: "
        "invalid x-api-key)"
        in status.stdout
    )
    refresh = run_cli(env, "models", "--refresh")
    assert refresh.returncode == 1
    line = one_error_line(refresh.stderr)
    assert "rejected the API key" in line and "login --console" in line
    doctor = json.loads(run_cli(env, "doctor", "--json").stdout)
    (models,) = [c for c in doctor["checks"] if c["name"] == "models"]
    assert not models["ok"] and "revoked or deleted in the Anthropic Console" in models["fix"]
