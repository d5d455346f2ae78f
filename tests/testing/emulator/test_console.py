"""The emulator's Anthropic Console: its sign-in page, create_api_key, and API keys at work.

Over real loopback HTTP. Keys are never printed: tests compare facts about them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from claude_code_oauth.testing.emulator.console import (
    AUTHORIZE_PATH,
    CREATE_API_KEY_PATH,
    KEY_PREFIX,
    NO_PERMISSION_MESSAGE,
)
from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator

CALLBACK = "http://localhost:8765/callback"
VERSION = {"anthropic-version": "2023-06-01"}
PING = {
    "model": "claude-haiku-4-5-20251001",
    "max_tokens": 5,
    "messages": [{"role": "user", "content": "hi"}],
}


def _sign_in(emu: ClaudeEmulator, client: httpx.Client, path: str) -> dict[str, Any]:
    """The whole browser login on ``path`` (consent page, Approve) and the code exchange."""
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    state = secrets.token_urlsafe(32)
    params = {
        "code": "true",
        "client_id": emu.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "org:create_api_key user:profile user:inference",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "state": state,
    }
    page = client.get(path, params=params)
    assert page.status_code == 200
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert request_id is not None
    decision = client.post(
        "/oauth/authorize/decision",
        data={"request_id": request_id.group(1), "decision": "approve"},
    )
    assert decision.status_code == 302
    query = parse_qs(urlsplit(decision.headers["location"]).query)
    answer = client.post(
        "/v1/oauth/token",
        json={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": CALLBACK,
            "client_id": emu.client_id,
            "code_verifier": verifier,
            "state": state,
        },
    )
    assert answer.status_code == 200
    return {"page": page.text, "tokens": answer.json()}


def _create(client: httpx.Client, access_token: str) -> httpx.Response:
    return client.post(CREATE_API_KEY_PATH, headers={"authorization": f"Bearer {access_token}"})


def _error(answer: httpx.Response) -> tuple[str, str]:
    body = answer.json()
    return body["error"]["type"], body["error"]["message"]


@pytest.fixture
def client(emu: ClaudeEmulator) -> Any:
    with httpx.Client(base_url=emu.base_url, timeout=10, follow_redirects=False) as c:
        yield c


def test_the_console_page_signs_in_and_its_token_creates_a_working_key(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = _sign_in(emu, client, AUTHORIZE_PATH)
    assert "Anthropic Console" in login["page"]
    assert login["tokens"]["organization"]["name"] == "Emulated Organization"
    answer = _create(client, login["tokens"]["access_token"])
    assert answer.status_code == 200
    body = answer.json()
    key = body["raw_key"]
    assert key.startswith(KEY_PREFIX) and len(key) > 60
    assert key in ISSUED_SECRETS  # the test suites' secret scans look for it
    listed = body["api_key"]
    assert listed["name"].startswith("claude_code_key_emulated_user_")
    assert listed["id"].startswith("apikey_01") and listed["status"] == "active"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", listed["created_at"])
    assert key not in str(listed) and listed["partial_key_hint"].endswith(key[-4:])
    assert emu.api_key_created(key)
    (entry,) = emu.api_keys
    assert entry["name"] == listed["name"] and entry["email"] == "emulated.user@example.com"
    assert key not in str(emu.api_keys)

    models = client.get("/v1/models", headers={"x-api-key": key})
    assert models.status_code == 200 and len(models.json()["data"]) == 5
    reply = client.post("/v1/messages", headers={"x-api-key": key, **VERSION}, json=PING)
    assert reply.status_code == 200
    assert reply.json()["content"][0]["text"]
    names = set(reply.headers)
    assert "anthropic-ratelimit-requests-limit" in names
    assert "anthropic-ratelimit-tokens-remaining" in names
    assert not [n for n in names if n.startswith("anthropic-ratelimit-unified")]
    stream = client.post(
        "/v1/messages", headers={"x-api-key": key, **VERSION}, json={**PING, "stream": True}
    )
    assert stream.status_code == 200 and "event: message_stop" in stream.text
    assert emu.api_keys[0]["requests"] == 2
    # No plan windows were charged: a key is billed by the Console, per token.
    assert emu.usage_counters()["windows"]["five_hour"]["used"] == 0


def test_a_subscription_login_cannot_create_a_key(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = _sign_in(emu, client, "/oauth/authorize")
    assert "Anthropic Console" not in login["page"]
    answer = _create(client, login["tokens"]["access_token"])
    assert answer.status_code == 403
    kind, message = _error(answer)
    assert kind == "permission_error" and "Console login" in message
    assert emu.api_keys == []


def test_creating_a_key_needs_the_scope_the_role_and_a_valid_token(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    no_scope = emu.issue_login(console=True, scope="user:profile user:inference")
    answer = _create(client, no_scope["access_token"])
    assert answer.status_code == 403 and "org:create_api_key" in _error(answer)[1]

    emu.deny_api_keys("emulated.user@example.com")
    answer = _create(client, emu.issue_login(console=True)["access_token"])
    assert answer.status_code == 403 and _error(answer) == (
        "permission_error",
        NO_PERMISSION_MESSAGE,
    )
    emu.deny_api_keys("emulated.user@example.com", False)
    assert _create(client, emu.issue_login(console=True)["access_token"]).status_code == 200

    assert client.post(CREATE_API_KEY_PATH).status_code == 401
    assert _create(client, "sk-ant-oat01-" + "x" * 40).status_code == 401
    with pytest.raises(ValueError):
        emu.deny_api_keys("nobody@example.com")


def test_keys_are_refused_as_bearer_tokens_revoked_keys_and_oauth_tokens_as_keys(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    oauth = emu.issue_login(console=True)["access_token"]
    key = _create(client, oauth).json()["raw_key"]
    as_bearer = client.get(
        "/v1/models",
        headers={"authorization": f"Bearer {key}", "anthropic-beta": "oauth-2025-04-20"},
    )
    assert as_bearer.status_code == 401
    assert client.get("/api/oauth/profile", headers={"x-api-key": key}).status_code == 401
    token_as_key = client.get("/v1/models", headers={"x-api-key": oauth})
    assert token_as_key.status_code == 401
    assert _error(token_as_key) == ("authentication_error", "invalid x-api-key")
    assert emu.revoke_api_keys(key) == 1
    revoked = client.post("/v1/messages", headers={"x-api-key": key, **VERSION}, json=PING)
    assert revoked.status_code == 401
    assert _error(revoked) == ("authentication_error", "invalid x-api-key")
    assert emu.api_keys[0]["status"] == "inactive"


@pytest.mark.parametrize(
    ("fault", "status", "check"),
    [
        ("403_no_permission", 403, lambda a: _error(a)[0] == "permission_error"),
        (
            "403_verification_required",
            403,
            lambda a: (
                a.json()["error"]["details"]
                == {"error_code": "verification_required", "error_visibility": "user_facing"}
            ),
        ),
        ("no_raw_key", 200, lambda a: "raw_key" not in a.json() and a.json()["api_key"]),
        ("bad_raw_key", 200, lambda a: not isinstance(a.json()["raw_key"], str)),
        ("500", 500, lambda a: _error(a)[0] == "api_error"),
        ("502_html", 502, lambda a: a.text.lstrip().startswith("<!DOCTYPE html>")),
        ("html403", 403, lambda a: "Just a moment" in a.text),
    ],
)
def test_create_api_key_faults(
    emu: ClaudeEmulator, client: httpx.Client, fault, status, check
) -> None:
    token = emu.issue_login(console=True)["access_token"]
    emu.inject("create_api_key", fault)
    answer = _create(client, token)
    assert answer.status_code == status
    assert check(answer)
    assert emu.api_keys == []
    assert _create(client, token).status_code == 200  # one fault, then the real answer


def test_verification_required_may_name_where_to_verify(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    token = emu.issue_login(console=True)["access_token"]
    url = "https://claude.ai/verify?ref=1"
    emu.inject("create_api_key", "403_verification_required", remediation_url=url)
    details = _create(client, token).json()["error"]["details"]
    assert details["remediation_url"] == url


def test_an_organization_that_withholds_key_creation_grants_without_it(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    emu.withhold_scopes("emulated.user@example.com", "org:create_api_key")
    login = _sign_in(emu, client, "/console/oauth/authorize")["tokens"]
    assert login["scope"] == "user:profile user:inference"
    answer = _create(client, login["access_token"])
    assert answer.status_code == 403
    assert answer.json()["error"]["details"] == {"error_code": "oauth_scope_insufficient"}


def test_the_environment_points_at_the_console_page(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    url = emu.env()["CLAUDE_CODE_OAUTH_CONSOLE_AUTH_URL"]
    assert url == emu.base_url + AUTHORIZE_PATH
    emu.inject("console_authorize", "html403")
    assert client.get(AUTHORIZE_PATH).status_code == 403
