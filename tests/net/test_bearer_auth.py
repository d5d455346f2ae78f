"""OAuthBearerAuth with real httpx clients against the emulator's /v1/models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from claude_code_oauth.net.bearer_auth import OAuthBearerAuth, RememberingSource, merge_beta
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import digest, seed, settings_for, stored

BETA = "oauth-2025-04-20"


class CountingSource:
    """The real provider, counting how often the auth flow asks it for what."""

    def __init__(self, provider: TokenProvider) -> None:
        self._provider = provider
        self.gets = 0
        self.rejected: list[str] = []

    def get_access_token(self) -> str:
        self.gets += 1
        return self._provider.get_access_token()

    def replace_rejected(self, rejected: str) -> str:
        self.rejected.append(digest(rejected))
        return self._provider.replace_rejected(rejected)


@pytest.fixture
def source(emulator: ClaudeEmulator, client_env: dict[str, str], data_dir: Path) -> CountingSource:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=3600)
    return CountingSource(TokenProvider(settings_for(client_env)))


@pytest.fixture
def auth(source: CountingSource, client_env: dict[str, str]) -> OAuthBearerAuth:
    return OAuthBearerAuth(source, settings_for(client_env))


def _models_requests(emulator: ClaudeEmulator) -> list[dict[str, str]]:
    return [r.headers for r in emulator.requests if r.path == "/v1/models"]


def _bearer_hash(headers: dict[str, str]) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    assert scheme == "Bearer"
    return digest(token)


def test_headers(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth, source: CountingSource, data_dir: Path
) -> None:
    with httpx.Client(auth=auth, timeout=10) as client:
        response = client.get(
            emulator.base_url + "/v1/models",
            headers={"anthropic-beta": "tools-2024-04-04", "x-api-key": "not-to-be-sent"},
        )
    assert response.status_code == 200 and response.json()["data"]
    (headers,) = _models_requests(emulator)
    sent = _bearer_hash(headers)
    expected = digest(stored(data_dir / "claude_code_oauth.json").access_token)
    assert sent == expected
    assert headers["anthropic-beta"] == f"tools-2024-04-04,{BETA}"
    assert headers["anthropic-version"] == "2023-06-01"
    assert "x-api-key" not in headers
    assert source.gets == 1 and source.rejected == []


def test_existing_version_and_beta_are_kept_once(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth
) -> None:
    with httpx.Client(auth=auth, timeout=10) as client:
        client.get(
            emulator.base_url + "/v1/models",
            headers={"anthropic-version": "2099-01-01", "anthropic-beta": f"{BETA}, other-beta"},
        )
    (headers,) = _models_requests(emulator)
    assert headers["anthropic-version"] == "2099-01-01"
    assert headers["anthropic-beta"] == f"{BETA},other-beta"


def test_one_401_is_retried_with_one_replacement(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth, source: CountingSource
) -> None:
    emulator.inject("models", "401")
    with httpx.Client(auth=auth, timeout=10) as client:
        response = client.get(emulator.base_url + "/v1/models")
    assert response.status_code == 200
    first, second = _models_requests(emulator)
    first_hash, second_hash = _bearer_hash(first), _bearer_hash(second)
    assert source.rejected == [first_hash]
    assert second_hash != first_hash
    assert emulator.grants["refresh_token"] == 1


def test_a_request_body_is_sent_again_on_the_retry(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth
) -> None:
    emulator.inject("messages", "401")
    body = {
        "model": "claude-haiku-4-5-20251001",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hello"}],
    }
    with httpx.Client(auth=auth, timeout=10) as client:
        response = client.post(emulator.base_url + "/v1/messages", json=body)
    assert response.status_code == 200 and response.json()["type"] == "message"
    sent = [r.json for r in emulator.requests if r.path == "/v1/messages"]
    assert sent == [body, body]


def test_two_401s_return_the_401(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth, source: CountingSource
) -> None:
    emulator.inject("models", "401", times=2)
    with httpx.Client(auth=auth, timeout=10) as client:
        response = client.get(emulator.base_url + "/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"
    assert len(_models_requests(emulator)) == 2
    assert len(source.rejected) == 1 and emulator.grants["refresh_token"] == 1


def test_a_token_the_server_expired_is_replaced(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth, source: CountingSource
) -> None:
    """The server stopped accepting the token before its local expiry: refresh once, retry."""
    emulator.expire_access_tokens()
    with httpx.Client(auth=auth, timeout=10) as client:
        response = client.get(emulator.base_url + "/v1/models")
        again = client.get(emulator.base_url + "/v1/models")
    assert response.status_code == 200 and again.status_code == 200
    assert len(source.rejected) == 1 and emulator.grants["refresh_token"] == 1


def test_async_client(
    emulator: ClaudeEmulator, auth: OAuthBearerAuth, source: CountingSource
) -> None:
    emulator.inject("models", "401")

    async def run() -> tuple[int, int]:
        async with httpx.AsyncClient(auth=auth, timeout=10) as client:
            ok = await client.get(
                emulator.base_url + "/v1/models", headers={"anthropic-beta": "b1"}
            )
            emulator.inject("models", "401", times=2)
            refused = await client.get(emulator.base_url + "/v1/models")
        return ok.status_code, refused.status_code

    assert asyncio.run(run()) == (200, 401)
    requests = _models_requests(emulator)
    assert len(requests) == 4
    assert requests[0]["anthropic-beta"] == f"b1,{BETA}"
    assert all("x-api-key" not in h and h["anthropic-version"] for h in requests)
    assert len(source.rejected) == 2
    # The second 401 pair: one forced refresh each time the file held the refused token.
    assert emulator.grants["refresh_token"] == 2


def test_without_settings_only_the_bearer_is_added(
    emulator: ClaudeEmulator, source: CountingSource
) -> None:
    with httpx.Client(auth=OAuthBearerAuth(source), timeout=10) as client:
        response = client.get(emulator.base_url + "/api/oauth/profile")
    assert response.status_code == 200
    (headers,) = [r.headers for r in emulator.requests]
    assert "anthropic-beta" not in headers and "anthropic-version" not in headers
    _bearer_hash(headers)


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        (None, BETA),
        ("", BETA),
        ("a", f"a,{BETA}"),
        (f" a , {BETA} ,b", f"a,{BETA},b"),
        ("a,,b", f"a,b,{BETA}"),
    ],
)
def test_merge_beta(existing: str | None, expected: str) -> None:
    assert merge_beta(existing, BETA) == expected


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_revoked_tokens_403_is_retried_once_and_every_answer_is_observed(
    emulator: ClaudeEmulator, source: CountingSource, client_env: dict[str, str], mode: str
) -> None:
    emulator.inject("models", "403_revoked")
    seen: list[int] = []
    auth = OAuthBearerAuth(
        source,
        settings_for(client_env),
        observers=(lambda answer: seen.append(answer.status_code),),
    )
    if mode == "sync":
        with httpx.Client(auth=auth, timeout=10) as client:
            status = client.get(emulator.base_url + "/v1/models").status_code
    else:

        async def get() -> int:
            async with httpx.AsyncClient(auth=auth, timeout=10) as client:
                return (await client.get(emulator.base_url + "/v1/models")).status_code

        status = asyncio.run(get())
    assert status == 200 and seen == [403, 200]
    first, second = _models_requests(emulator)
    assert source.rejected == [_bearer_hash(first)] and _bearer_hash(second) != _bearer_hash(first)


def test_a_remembering_source_remembers_every_token_it_handed_out(
    emulator: ClaudeEmulator, source: CountingSource, client_env: dict[str, str]
) -> None:
    """After a 401 the retry carries a second token: both are what an error text must
    not show (``RememberingSource.tokens``)."""
    emulator.inject("models", "401")
    remembering = RememberingSource(source)
    auth = OAuthBearerAuth(remembering, settings_for(client_env), observers=())
    with httpx.Client(auth=auth, timeout=10) as client:
        assert client.get(emulator.base_url + "/v1/models").status_code == 200
    sent = [_bearer_hash(headers) for headers in _models_requests(emulator)]
    assert [digest(token) for token in remembering.tokens] == sent and len(set(sent)) == 2
