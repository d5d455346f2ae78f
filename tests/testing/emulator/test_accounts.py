"""Several emulated accounts: the consent page's choice, whose login a token is, the profile.

Over real loopback HTTP. Tokens are never printed: tests compare emails the
emulator derives from them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import DEFAULT_CLIENT_ID, ClaudeEmulator

CALLBACK = "http://localhost:8765/callback"
FIRST = "emulated.user@example.com"
WORK = "work@example.com"
EMULATOR = (sys.executable, "-m", "claude_code_oauth.testing.emulator")


@pytest.fixture
def emu() -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator() as emulator:
        yield emulator


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, timeout=10, follow_redirects=False) as c:
        yield c


def _authorize(emu: ClaudeEmulator, client: httpx.Client) -> tuple[httpx.Response, dict[str, str]]:
    return _authorize_as(emu.client_id, client)


def _authorize_as(client_id: str, client: httpx.Client) -> tuple[httpx.Response, dict[str, str]]:
    verifier = secrets.token_urlsafe(32)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "code": "true",
        "client_id": client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": "org:create_api_key user:profile user:inference",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(32),
    }
    return client.get("/oauth/authorize", params=params), {
        "verifier": verifier,
        "state": params["state"],
    }


def _request_id(page: str) -> str:
    match = re.search(r'name="request_id" value="([^"]+)"', page)
    assert match, "consent page has no request_id field"
    return match.group(1)


def _redeem(emu: ClaudeEmulator, client: httpx.Client, answer: httpx.Response, flow: dict) -> Any:
    assert answer.status_code == 302, answer.text[:200]
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    body = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": CALLBACK,
        "client_id": emu.client_id,
        "code_verifier": flow["verifier"],
        "state": flow["state"],
    }
    response = client.post("/v1/oauth/token", json=body)
    assert response.status_code == 200
    return response.json()


def _profile_email(client: httpx.Client, token: str) -> str:
    response = client.get("/api/oauth/profile", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.json()["account"]["email_address"]


def test_one_account_keeps_the_plain_consent_page(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    page, _ = _authorize(emu, client)
    assert page.status_code == 200
    assert 'name="account"' not in page.text
    assert emu.accounts == [FIRST]
    # The attributes older callers use are the first account's.
    identity = emu._state.accounts[0]
    assert emu._state.account is identity["account"]
    assert emu._state.organization is identity["organization"]


def test_the_consent_page_approves_as_the_chosen_account(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    work = emu.add_account(WORK, organization="Acme")
    assert emu.accounts == [FIRST, WORK]
    page, flow = _authorize(emu, client)
    radio = r'<input type="radio" name="account" value="([^"]+)"( checked)?>'
    radios = re.findall(radio, page.text)
    assert radios == [(FIRST, " checked"), (WORK, "")]
    answer = client.post(
        "/oauth/authorize/decision",
        data={"request_id": _request_id(page.text), "decision": "approve", "account": WORK},
    )
    body = _redeem(emu, client, answer, flow)
    assert body["account"]["email_address"] == WORK
    assert body["organization"] == {"uuid": work["organization"]["uuid"], "name": "Acme"}
    account = emu.account_for_token(body["access_token"])
    assert account == WORK
    assert emu.account_for_token(body["refresh_token"]) == WORK
    assert _profile_email(client, body["access_token"]) == WORK
    # The rotated tokens still belong to the same account.
    refreshed = client.post(
        "/v1/oauth/token",
        json={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": emu.client_id,
        },
    ).json()
    assert refreshed["account"]["email_address"] == WORK
    assert emu.account_for_token(refreshed["access_token"]) == WORK


def test_without_a_choice_the_browser_account_is_approved(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    emu.add_account(WORK)
    emu.consent_account = WORK
    page, flow = _authorize(emu, client)
    assert f'value="{WORK}" checked' in page.text
    answer = client.post(
        "/oauth/authorize/decision",
        data={"request_id": _request_id(page.text), "decision": "approve"},
    )
    assert _redeem(emu, client, answer, flow)["account"]["email_address"] == WORK
    emu.auto_approve = True
    emu.consent_account = FIRST
    answer, flow = _authorize(emu, client)
    assert _redeem(emu, client, answer, flow)["account"]["email_address"] == FIRST


def test_an_unknown_account_is_refused_and_the_request_stays_open(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    emu.add_account(WORK)
    page, flow = _authorize(emu, client)
    request_id = _request_id(page.text)
    refused = client.post(
        "/oauth/authorize/decision",
        data={"request_id": request_id, "decision": "approve", "account": "x@evil.test"},
    )
    assert refused.status_code == 400 and "Unknown account" in refused.text
    answer = client.post(
        "/oauth/authorize/decision",
        data={"request_id": request_id, "decision": "approve", "account": WORK},
    )
    assert _redeem(emu, client, answer, flow)["account"]["email_address"] == WORK


def test_accounts_are_unique_and_known(emu: ClaudeEmulator) -> None:
    with pytest.raises(ValueError, match="already exists"):
        emu.add_account(FIRST)
    with pytest.raises(ValueError, match="no emulated account"):
        emu.consent_account = "nobody@example.com"
    with pytest.raises(ValueError, match="no emulated account"):
        emu.issue_login(email="nobody@example.com")
    assert emu.account_for_token("not-a-token") is None


def test_issue_login_as_an_account(emu: ClaudeEmulator, client: httpx.Client) -> None:
    emu.add_account(WORK)
    first = emu.issue_login()
    work = emu.issue_login(email=WORK)
    assert first["account"]["email_address"] == FIRST
    assert work["account"]["email_address"] == WORK
    assert _profile_email(client, work["access_token"]) == WORK
    assert _profile_email(client, first["access_token"]) == FIRST
    # account=False still leaves the identity out of the body, not out of the login.
    bare = emu.issue_login(email=WORK, account=False)
    assert "account" not in bare
    assert emu.account_for_token(bare["access_token"]) == WORK


@pytest.mark.subprocess
def test_the_command_line_adds_accounts() -> None:
    proc = subprocess.Popen(
        [*EMULATOR, "--port", "0", "--account", WORK, "--account", "other@example.com"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base = first.strip().rsplit(" ", 1)[-1]
        assert base.startswith("http://127.0.0.1:"), first
        with httpx.Client(base_url=base, timeout=10) as client:
            page, _ = _authorize_as(DEFAULT_CLIENT_ID, client)
        emails = re.findall(r'name="account" value="([^"]+)"', page.text)
        assert emails == [FIRST, WORK, "other@example.com"]
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    repeated = subprocess.run(
        [*EMULATOR, "--account", FIRST],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert repeated.returncode == 2
    assert repeated.stderr.strip().splitlines() == [
        f"Claude emulator: an account '{FIRST}' already exists"
    ]
