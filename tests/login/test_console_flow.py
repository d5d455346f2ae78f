"""LoginFlow(console=True) in process against the emulator: the Console's page, the key saved
(and only the key), what the browser tab says, and a failed key creation changing nothing."""

from __future__ import annotations

import html
import json
import random
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import (
    ApiKeyCreationError,
    ApiKeyNotPermitted,
    ClaudeOAuthError,
    ScopeNotGranted,
)
from claude_code_oauth.login.flow import LoginFlow, LoginResult
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.api_key import KIND, ApiKeyRecord
from helpers.tokens import assert_same_secret, digest, seed


@pytest.fixture
def flow_settings(emulator: ClaudeEmulator, data_dir: Path) -> Settings:
    low = random.randint(20000, 60000)
    return Settings(
        environ={
            "HOME": str(data_dir.parent / "home"),
            **emulator.env(),
            "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
            "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}",
        }
    )


def _approve(url: str) -> str:
    with httpx.Client(trust_env=False, timeout=10) as client:
        page = client.get(url)
        assert "Anthropic Console" in page.text
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        answer = client.post(
            origin + "/oauth/authorize/decision",
            data={"request_id": html.unescape(request_id.group(1)), "decision": "approve"},
        )
    assert answer.status_code == 302
    return answer.headers["location"]


def _sign_in(flow: LoginFlow) -> tuple[object, str]:
    """Approve in the "browser", deliver the callback; (the wait's outcome, the tab's text)."""
    urls = flow.start()
    assert urlsplit(urls.browser).path == urlsplit(urls.manual).path == "/console/oauth/authorize"
    callback = _approve(urls.browser)
    tab: list[str] = []

    def visit() -> None:
        with httpx.Client(trust_env=False, timeout=30) as client:
            tab.append(client.get(callback).text)

    visitor = threading.Thread(target=visit)
    visitor.start()
    try:
        outcome: object = flow.wait()
    except ClaudeOAuthError as exc:
        outcome = exc
    visitor.join(30)
    return outcome, html.unescape(tab[0])


def _key_sign_in(flow: LoginFlow) -> tuple[LoginResult, ApiKeyRecord]:
    """:func:`_sign_in` that must succeed with an API key: (the result, its key record)."""
    outcome, _ = _sign_in(flow)
    assert isinstance(outcome, LoginResult)
    assert isinstance(outcome.record, ApiKeyRecord)
    return outcome, outcome.record


def test_the_console_flow_saves_only_the_key_and_says_so_in_the_tab(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    with LoginFlow(flow_settings, console=True) as flow:
        result, tab = _sign_in(flow)
    assert isinstance(result, LoginResult)
    assert isinstance(result.record, ApiKeyRecord)
    assert result.replaced is None
    assert "Signed in to the Anthropic Console as emulated.user@example.com" in tab
    assert "an API key was created and saved" in tab
    stored = json.loads(Path(flow_settings.token_path).read_text())
    assert stored["kind"] == KIND and emulator.api_key_created(stored["api_key"])
    assert not {"access_token", "refresh_token"} & set(stored)
    assert stored["organization"]["name"] == "Emulated Organization"
    (authorize,) = [r for r in emulator.requests if r.path == "/console/oauth/authorize"]
    assert authorize.query["code_challenge_method"] == "S256"
    assert emulator.grants["authorization_code"] == 1


def test_a_failed_key_creation_leaves_the_previous_sign_in_and_tells_the_tab(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    seed(emulator, flow_settings.token_path, expires_in=3600)
    before = Path(flow_settings.token_path).read_bytes()
    emulator.deny_api_keys("emulated.user@example.com")
    with LoginFlow(flow_settings, console=True) as flow:
        outcome, tab = _sign_in(flow)
    assert isinstance(outcome, ApiKeyNotPermitted)
    assert "refused to create an API key" in tab
    assert Path(flow_settings.token_path).read_bytes() == before
    assert emulator.api_keys == []


def test_a_new_key_reports_the_one_it_replaced(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    with LoginFlow(flow_settings, console=True) as flow:
        _, first = _key_sign_in(flow)
    with LoginFlow(flow_settings, console=True) as flow:
        second, second_key = _key_sign_in(flow)
    replaced = second.replaced
    assert replaced is not None
    assert_same_secret(replaced.api_key, first.api_key, "the key reported as replaced")
    current = token_store.load_sign_in(flow_settings.token_path)
    assert isinstance(current, ApiKeyRecord)
    assert_same_secret(current.api_key, second_key.api_key, "the key saved")
    assert digest(current.api_key) != digest(replaced.api_key)  # a new key
    assert len(emulator.api_keys) == 2


def test_a_subscription_sign_in_over_a_key_reports_the_key(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    with LoginFlow(flow_settings, console=True) as flow:
        _, console = _key_sign_in(flow)
    with LoginFlow(flow_settings) as flow:
        urls = flow.start()
        assert urlsplit(urls.browser).path == "/oauth/authorize"
        # Pasted as the whole callback address (the loopback redirect it was issued for).
        flow.submit_paste(_approve_subscription(urls.browser))
        result = flow.wait()
    assert result.replaced is not None
    assert_same_secret(result.replaced.api_key, console.api_key, "the key reported as replaced")
    assert token_store.load(flow_settings.token_path) is not None


def _approve_subscription(url: str) -> str:
    with httpx.Client(trust_env=False, timeout=10) as client:
        page = client.get(url)
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        answer = client.post(
            origin + "/oauth/authorize/decision",
            data={"request_id": html.unescape(request_id.group(1)), "decision": "approve"},
        )
    return answer.headers["location"]


def test_a_grant_without_org_create_api_key_is_refused_before_asking_for_a_key(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    """An organization can withhold key creation from the grant; the sign-in then says
    so instead of sending a request that can only be refused."""
    seed(emulator, flow_settings.token_path, expires_in=3600)
    before = Path(flow_settings.token_path).read_bytes()
    emulator.withhold_scopes("emulated.user@example.com", "org:create_api_key")
    with LoginFlow(flow_settings, console=True) as flow:
        outcome, tab = _sign_in(flow)
    assert isinstance(outcome, ScopeNotGranted)
    line = str(outcome)
    assert "without org:create_api_key (granted: user:profile user:inference)" in line
    assert "does not let this account create API keys" in line and "admin" in line
    assert "without org:create_api_key" in tab
    assert Path(flow_settings.token_path).read_bytes() == before
    assert not [r for r in emulator.requests if r.path.endswith("/create_api_key")]


def test_verification_required_is_said_in_claudes_words_with_where_to_verify(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    url = "https://claude.ai/settings/verify?ref=1"
    emulator.inject("create_api_key", "403_verification_required", remediation_url=url)
    with LoginFlow(flow_settings, console=True) as flow:
        outcome, _ = _sign_in(flow)
    assert isinstance(outcome, ApiKeyCreationError)
    line = str(outcome)
    assert "Verify your identity before creating API keys" in line
    assert f"Verify at {url}, then try again." in line and "Nothing was saved" in line
    assert not Path(flow_settings.token_path).exists() and emulator.api_keys == []
