"""The emulator's OAuth side over real loopback HTTP: authorize, consent, token endpoint."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator

CALLBACK = "http://localhost:8765/callback"
SCOPE = "org:create_api_key user:profile user:inference"
BETA = {"anthropic-beta": "oauth-2025-04-20"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[ClaudeEmulator]:
    with ClaudeEmulator(clock=clock) as emulator:
        yield emulator


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, timeout=10, follow_redirects=False) as c:
        yield c


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_params(emu: ClaudeEmulator, **overrides: Any) -> tuple[dict[str, Any], str]:
    verifier, challenge = pkce()
    params: dict[str, Any] = {
        "code": "true",
        "client_id": emu.client_id,
        "response_type": "code",
        "redirect_uri": CALLBACK,
        "scope": SCOPE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(32),
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}, verifier


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent_request_id(page: str) -> str:
    match = re.search(r'name="request_id" value="([^"]+)"', page)
    assert match, "consent page has no request_id field"
    return match.group(1)


def obtain_code(
    emu: ClaudeEmulator, client: httpx.Client, redirect_uri: str = CALLBACK
) -> dict[str, str]:
    """Authorize and approve; returns code, state, verifier and redirect_uri."""
    params, verifier = authorize_params(emu, redirect_uri=redirect_uri)
    page = client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    answer = client.post(
        "/oauth/authorize/decision",
        data={"request_id": consent_request_id(page.text), "decision": "approve"},
    )
    assert answer.status_code == 302
    query = query_of(answer.headers["location"])
    return {
        "code": query["code"],
        "state": query["state"],
        "verifier": verifier,
        "redirect_uri": redirect_uri,
    }


def exchange(
    emu: ClaudeEmulator, client: httpx.Client, grant: dict[str, str], **overrides: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "grant_type": "authorization_code",
        "code": grant["code"],
        "redirect_uri": grant["redirect_uri"],
        "client_id": emu.client_id,
        "code_verifier": grant["verifier"],
        "state": grant["state"],
    }
    body.update(overrides)
    return client.post("/v1/oauth/token", json={k: v for k, v in body.items() if v is not None})


def refresh(emu: ClaudeEmulator, client: httpx.Client, token: str) -> httpx.Response:
    body = {"grant_type": "refresh_token", "refresh_token": token, "client_id": emu.client_id}
    return client.post("/v1/oauth/token", json=body)


def models_status(client: httpx.Client, access_token: str) -> int:
    headers = {"authorization": f"Bearer {access_token}", **BETA}
    return client.get("/v1/models", headers=headers).status_code


# -- authorize ------------------------------------------------------------------


def test_unknown_client_gets_an_error_page_not_a_redirect(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    params, _ = authorize_params(emu, client_id="someone-else")
    answer = client.get("/oauth/authorize", params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        None,
        "https://evil.example/callback",
        "http://evil.example:8765/callback",
        "http://localhost/callback",  # loopback redirects carry an explicit port
        "http://localhost:8765/callback#frag",
        "https://platform.claude.com/oauth/code/callback",
    ],
)
def test_bad_redirect_uri_gets_an_error_page_not_a_redirect(
    emu: ClaudeEmulator, client: httpx.Client, redirect_uri
) -> None:
    params, _ = authorize_params(emu, redirect_uri=redirect_uri)
    answer = client.get("/oauth/authorize", params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://localhost:9/cb", "http://127.0.0.1:8765/callback", "http://[::1]:8765/callback"],
)
def test_loopback_redirect_uris_are_accepted(
    emu: ClaudeEmulator, client: httpx.Client, redirect_uri
) -> None:
    params, _ = authorize_params(emu, redirect_uri=redirect_uri)
    assert client.get("/oauth/authorize", params=params).status_code == 200


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"code_challenge_method": "plain"}, "S256"),
        ({"code_challenge_method": None}, "code_challenge_method"),
        ({"code_challenge": "too-short"}, "code_challenge"),
        ({"code_challenge": None}, "code_challenge"),
        ({"response_type": "token"}, "response_type"),
        ({"scope": None}, "scope"),
    ],
)
def test_invalid_parameters_redirect_back_with_invalid_request(
    emu: ClaudeEmulator, client: httpx.Client, override, fragment
) -> None:
    params, _ = authorize_params(emu, **override)
    answer = client.get("/oauth/authorize", params=params)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert query["error"] == "invalid_request"
    assert fragment in query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query


def test_missing_state_redirects_with_error_and_no_state(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    params, _ = authorize_params(emu, state=None)
    answer = client.get("/oauth/authorize", params=params)
    assert answer.status_code == 302
    query = query_of(answer.headers["location"])
    assert query["error"] == "invalid_request"
    assert "state" in query["error_description"]
    assert "state" not in query


def test_repeated_parameter_is_refused(emu: ClaudeEmulator, client: httpx.Client) -> None:
    params, _ = authorize_params(emu)
    url = "/oauth/authorize?" + urlencode(params) + "&scope=user:profile"
    answer = client.get(url)
    assert answer.status_code == 302
    assert query_of(answer.headers["location"])["error"] == "invalid_request"


def test_consent_page_offers_approve_and_deny(emu: ClaudeEmulator, client: httpx.Client) -> None:
    params, _ = authorize_params(emu)
    page = client.get("/oauth/authorize", params=params)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'action="/oauth/authorize/decision"' in page.text
    assert 'value="approve"' in page.text
    assert 'value="deny"' in page.text
    assert params["state"] not in page.text


def test_approve_redirects_with_code_and_state_once(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    params, _ = authorize_params(emu)
    page = client.get("/oauth/authorize", params=params)
    form = {"request_id": consent_request_id(page.text), "decision": "approve"}
    answer = client.post("/oauth/authorize/decision", data=form)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = query_of(location)
    assert query["state"] == params["state"]
    assert query["code"] in ISSUED_SECRETS
    again = client.post("/oauth/authorize/decision", data=form)
    assert again.status_code == 400
    assert "location" not in again.headers


def test_deny_redirects_with_access_denied(emu: ClaudeEmulator, client: httpx.Client) -> None:
    params, _ = authorize_params(emu)
    page = client.get("/oauth/authorize", params=params)
    form = {"request_id": consent_request_id(page.text), "decision": "deny"}
    answer = client.post("/oauth/authorize/decision", data=form)
    assert answer.status_code == 302
    query = query_of(answer.headers["location"])
    assert query == {
        "error": "access_denied",
        "error_description": "The user denied the request",
        "state": params["state"],
    }


def test_auto_approve_redirects_at_once(clock) -> None:
    with ClaudeEmulator(auto_approve=True, clock=clock) as emu, httpx.Client() as client:
        params, _ = authorize_params(emu)
        answer = client.get(emu.base_url + "/oauth/authorize", params=params)
        assert answer.status_code == 302
        query = query_of(answer.headers["location"])
        assert query["state"] == params["state"]
        assert query["code"] in ISSUED_SECRETS


def test_manual_redirect_shows_code_and_state(emu: ClaudeEmulator, client: httpx.Client) -> None:
    grant = obtain_code(emu, client, redirect_uri=emu.manual_redirect_uri)
    page = client.get(
        "/oauth/code/callback", params={"code": grant["code"], "state": grant["state"]}
    )
    assert page.status_code == 200
    shown = re.search(r'<code id="code">([^<]*)</code>', page.text)
    assert shown is not None
    assert shown.group(1) == f"{grant['code']}#{grant['state']}"
    assert exchange(emu, client, grant).status_code == 200


def test_manual_redirect_lands_on_the_manual_page(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    params, _ = authorize_params(emu, redirect_uri=emu.manual_redirect_uri)
    page = client.get("/oauth/authorize", params=params)
    form = {"request_id": consent_request_id(page.text), "decision": "approve"}
    location = client.post("/oauth/authorize/decision", data=form).headers["location"]
    assert location.startswith(emu.base_url + "/oauth/code/callback?code=")


def test_manual_page_escapes_what_it_shows(client: httpx.Client) -> None:
    page = client.get("/oauth/code/callback", params={"code": "a<b>&", "state": '"><script>x'})
    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "a&lt;b&gt;&amp;#&quot;&gt;&lt;script&gt;x" in page.text


# -- token endpoint: authorization_code --------------------------------------------


def test_code_exchange_returns_the_claude_token_shape(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    grant = obtain_code(emu, client)
    answer = exchange(emu, client, grant)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["access_token"].startswith("sk-ant-oat01-")
    assert body["refresh_token"].startswith("sk-ant-ort01-")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 28800
    assert body["scope"] == SCOPE
    assert body["refresh_token_expires_in"] == 30 * 86400
    assert set(body["account"]) == {"uuid", "email_address"}
    assert set(body["organization"]) == {"uuid", "name"}
    assert {body["access_token"], body["refresh_token"], grant["verifier"]} <= ISSUED_SECRETS
    assert emu.grants["authorization_code"] == 1
    assert models_status(client, body["access_token"]) == 200


@pytest.mark.parametrize(
    ("override", "status", "error"),
    [
        ({"code_verifier": "x" * 43}, 400, "invalid_grant"),
        ({"redirect_uri": CALLBACK + "/"}, 400, "invalid_grant"),
        ({"redirect_uri": "http://127.0.0.1:8765/callback"}, 400, "invalid_grant"),
        ({"state": "another-state"}, 400, "invalid_grant"),
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"code": "never-issued"}, 400, "invalid_grant"),
        ({"state": None}, 400, "invalid_request"),
        ({"code_verifier": None}, 400, "invalid_request"),
        ({"code_verifier": "short"}, 400, "invalid_request"),
    ],
)
def test_code_exchange_failures(
    emu: ClaudeEmulator, client: httpx.Client, override, status, error
) -> None:
    grant = obtain_code(emu, client)
    answer = exchange(emu, client, grant, **override)
    assert answer.status_code == status
    body = answer.json()
    assert body["error"] == error
    assert body["error_description"]
    assert emu.grants["authorization_code"] == 0


def test_reused_code_is_refused_and_revokes_its_tokens(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    grant = obtain_code(emu, client)
    first = exchange(emu, client, grant).json()
    assert models_status(client, first["access_token"]) == 200
    again = exchange(emu, client, grant)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    # A revoked login's access token: Claude's 403 "OAuth token has been revoked".
    assert models_status(client, first["access_token"]) == 403
    assert refresh(emu, client, first["refresh_token"]).status_code == 400
    assert emu.grants["authorization_code"] == 1


def test_code_is_burnt_by_a_failed_attempt(emu: ClaudeEmulator, client: httpx.Client) -> None:
    grant = obtain_code(emu, client)
    assert exchange(emu, client, grant, state="wrong").status_code == 400
    assert exchange(emu, client, grant).json()["error"] == "invalid_grant"


def test_expired_code_is_refused(emu: ClaudeEmulator, client: httpx.Client, clock) -> None:
    grant = obtain_code(emu, client)
    clock.advance(601)
    answer = exchange(emu, client, grant)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "expired" in answer.json()["error_description"]


def test_form_encoded_body_gets_the_anthropic_envelope(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    grant = obtain_code(emu, client)
    form = {"grant_type": "authorization_code", "client_id": emu.client_id, **grant}
    answer = client.post("/v1/oauth/token", data=form)
    assert answer.status_code == 400
    assert answer.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Invalid request format"},
    }


@pytest.mark.parametrize("grant_type", ["password", None])
def test_unsupported_or_missing_grant_type(
    emu: ClaudeEmulator, client: httpx.Client, grant_type
) -> None:
    answer = client.post(
        "/v1/oauth/token", json={"grant_type": grant_type, "client_id": emu.client_id}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] in {"unsupported_grant_type", "invalid_request"}


# -- token endpoint: refresh_token ------------------------------------------------------


def test_refresh_rotates_both_tokens_without_extending_the_login(
    emu: ClaudeEmulator, client: httpx.Client, clock
) -> None:
    first = emu.issue_login()
    clock.advance(3600)
    answer = refresh(emu, client, first["refresh_token"])
    assert answer.status_code == 200
    second = answer.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["refresh_token"].startswith("sk-ant-ort01-")
    assert second["refresh_token_expires_in"] == 30 * 86400 - 3600
    assert second["scope"] == first["scope"]
    assert emu.grants["refresh_token"] == 1
    assert models_status(client, second["access_token"]) == 200


def test_spent_refresh_token_is_a_replay_that_revokes_the_login(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    first = emu.issue_login()
    second = refresh(emu, client, first["refresh_token"]).json()
    assert models_status(client, second["access_token"]) == 200
    replay = refresh(emu, client, first["refresh_token"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert emu.replays == 1
    assert models_status(client, second["access_token"]) == 403
    assert refresh(emu, client, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert emu.grants["refresh_token"] == 1


def test_other_logins_survive_a_replay(emu: ClaudeEmulator, client: httpx.Client) -> None:
    victim, bystander = emu.issue_login(), emu.issue_login()
    refresh(emu, client, victim["refresh_token"])
    refresh(emu, client, victim["refresh_token"])
    assert emu.replays == 1
    assert models_status(client, bystander["access_token"]) == 200


def test_refresh_after_the_login_deadline_is_refused(clock) -> None:
    with (
        ClaudeEmulator(login_ttl=100, clock=clock) as emu,
        httpx.Client(base_url=emu.base_url) as c,
    ):
        login = emu.issue_login()
        assert login["refresh_token_expires_in"] == 100
        clock.advance(101)
        answer = refresh(emu, c, login["refresh_token"])
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"


def test_login_without_deadline_omits_refresh_token_expires_in(clock) -> None:
    with ClaudeEmulator(login_ttl=None, clock=clock) as emu:
        assert "refresh_token_expires_in" not in emu.issue_login()


def test_refresh_with_unknown_token_or_client(emu: ClaudeEmulator, client: httpx.Client) -> None:
    assert refresh(emu, client, "unknown-refresh-token").json()["error"] == "invalid_grant"
    login = emu.issue_login()
    body = {"grant_type": "refresh_token", "refresh_token": login["refresh_token"]}
    answer = client.post("/v1/oauth/token", json={**body, "client_id": "other"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert refresh(emu, client, login["refresh_token"]).status_code == 200


# -- direct state control ----------------------------------------------------------------


def test_issue_login_shapes(emu: ClaudeEmulator) -> None:
    full = emu.issue_login(scope="user:inference", access_ttl=60)
    assert full["expires_in"] == 60
    assert full["scope"] == "user:inference"
    assert "account" in full and "organization" in full
    bare = emu.issue_login(account=False)
    assert "account" not in bare and "organization" not in bare


def test_access_tokens_expire_with_the_clock(
    emu: ClaudeEmulator, client: httpx.Client, clock
) -> None:
    login = emu.issue_login(access_ttl=60)
    clock.advance(59)
    assert models_status(client, login["access_token"]) == 200
    clock.advance(2)
    assert models_status(client, login["access_token"]) == 401


def test_expire_access_tokens_keeps_refresh_tokens(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    emu.expire_access_tokens()
    assert models_status(client, login["access_token"]) == 401
    fresh = refresh(emu, client, login["refresh_token"]).json()
    assert models_status(client, fresh["access_token"]) == 200


def test_revoke_all_kills_access_and_refresh_tokens(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    emu.revoke_all()
    assert models_status(client, login["access_token"]) == 403
    assert refresh(emu, client, login["refresh_token"]).json()["error"] == "invalid_grant"
    assert emu.replays == 0


# -- transport -------------------------------------------------------------------------


def test_unknown_path_is_a_json_404_with_request_id(client: httpx.Client) -> None:
    answer = client.get("/v2/nothing")
    assert answer.status_code == 404
    assert answer.json()["error"]["type"] == "not_found_error"
    assert answer.headers["request-id"].startswith("req_")


def test_requests_are_recorded_without_query(emu: ClaudeEmulator, client: httpx.Client) -> None:
    login = emu.issue_login()
    client.get(
        "/v1/models?limit=3",
        headers={"Authorization": f"Bearer {login['access_token']}", "User-Agent": "t/1", **BETA},
    )
    client.post("/v1/oauth/token", json={"grant_type": "x"})
    first, second = emu.requests[-2:]
    assert (first.method, first.path, first.json) == ("GET", "/v1/models", None)
    assert first.headers["user-agent"] == "t/1"
    assert first.query == {"limit": "3"}
    assert (second.method, second.path, second.json) == (
        "POST",
        "/v1/oauth/token",
        {"grant_type": "x"},
    )


def test_server_logs_nothing(
    emu: ClaudeEmulator, client: httpx.Client, capfd: pytest.CaptureFixture[str]
) -> None:
    grant = obtain_code(emu, client)
    client.get("/oauth/code/callback", params={"code": grant["code"], "state": grant["state"]})
    exchange(emu, client, grant)
    out, err = capfd.readouterr()
    assert out == "" and err == "", "the emulator wrote to stdout/stderr"


def test_a_silent_connection_does_not_block_others(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    host, port = urlsplit(emu.base_url).hostname, urlsplit(emu.base_url).port
    with socket.create_connection((host, port)) as silent:
        assert client.get("/v2/nothing").status_code == 404
        # Answered while the silent connection is still open (the server closes it only
        # after its 10 s timeout): the request did not wait for it. No timing involved.
        silent.setblocking(False)
        with pytest.raises(BlockingIOError):
            silent.recv(1, socket.MSG_PEEK)


def test_keep_alive_serves_several_requests_on_one_connection(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    for _ in range(3):
        assert client.get("/v2/nothing", headers={"connection": "keep-alive"}).status_code == 404
    assert len([r for r in emu.requests if r.path == "/v2/nothing"]) == 3


def test_refresh_grants_and_replays_are_logged_as_digests(
    emu: ClaudeEmulator, client: httpx.Client, clock: FakeClock
) -> None:
    from claude_code_oauth.testing.emulator.control import token_digest

    first = emu.issue_login()["refresh_token"]

    def refresh(token: str) -> httpx.Response:
        body = {"grant_type": "refresh_token", "refresh_token": token, "client_id": emu.client_id}
        return client.post("/v1/oauth/token", json=body)

    second = refresh(first).json()["refresh_token"]
    clock.advance(5)
    third = refresh(second).json()["refresh_token"]
    g1, g2 = emu.refresh_grants
    assert (g1.spent, g1.issued) == (token_digest(first), token_digest(second))
    assert (g2.spent, g2.issued) == (token_digest(second), token_digest(third))
    assert g2.at - g1.at == 5 and g1.login_id == g2.login_id
    assert emu.was_presented(g1.issued) and not emu.was_presented(g2.issued)
    clock.advance(1)
    assert refresh(first).status_code == 400  # a replay: the login ends
    (replay,) = emu.replay_log
    assert (replay.token, replay.login_id, replay.at) == (g1.spent, g1.login_id, g2.at + 1)
    assert refresh(third).status_code == 400  # revoked with the login, not a replay
    assert len(emu.replay_log) == 1 and emu.replays == 1
    logged = repr(emu.refresh_grants) + repr(emu.replay_log)
    assert all(token not in logged for token in (first, second, third))
