"""The emulator's API side over real loopback HTTP: models, profile, messages."""

from __future__ import annotations

import json

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator

BETA = "oauth-2025-04-20"


@pytest.fixture
def auth(emu: ClaudeEmulator) -> dict[str, str]:
    token = emu.issue_login()["access_token"]
    return {
        "authorization": f"Bearer {token}",
        "anthropic-beta": BETA,
        "anthropic-version": "2023-06-01",
    }


def error_of(answer: httpx.Response) -> tuple[str, str]:
    body = answer.json()
    assert body["type"] == "error"
    return body["error"]["type"], body["error"]["message"]


# -- /v1/models -----------------------------------------------------------------


def test_models_default_page_lists_every_model(client: httpx.Client, auth: dict[str, str]) -> None:
    answer = client.get("/v1/models", headers=auth)
    assert answer.status_code == 200
    body = answer.json()
    assert len(body["data"]) == 5
    assert body["has_more"] is False
    assert body["first_id"] == body["data"][0]["id"]
    assert body["last_id"] == body["data"][-1]["id"]
    for item in body["data"]:
        assert item["type"] == "model"
        assert {"id", "display_name", "created_at"} <= set(item)
    created = [item["created_at"] for item in body["data"]]
    assert created == sorted(created, reverse=True)
    big = [item["id"] for item in body["data"] if "max_input_tokens" in item]
    assert big == ["claude-sonnet-4-5-20250929"]
    sonnet = next(m for m in body["data"] if m["id"] == "claude-sonnet-4-5-20250929")
    assert sonnet["max_input_tokens"] == 1000000


def test_models_paginate_with_after_id(client: httpx.Client, auth: dict[str, str]) -> None:
    everything = [m["id"] for m in client.get("/v1/models", headers=auth).json()["data"]]
    seen: list[str] = []
    pages = 0
    params: dict[str, str | int] = {"limit": 2}
    while True:
        body = client.get("/v1/models", headers=auth, params=params).json()
        pages += 1
        assert len(body["data"]) <= 2
        seen += [m["id"] for m in body["data"]]
        assert body["last_id"] == body["data"][-1]["id"]
        if not body["has_more"]:
            break
        params = {"limit": 2, "after_id": body["last_id"]}
    assert pages == 3
    assert seen == everything


@pytest.mark.parametrize("params", [{"after_id": "claude-nope"}, {"limit": 0}, {"limit": 1001}])
def test_models_bad_paging_parameters(client: httpx.Client, auth: dict[str, str], params) -> None:
    answer = client.get("/v1/models", headers=auth, params=params)
    assert answer.status_code == 400
    assert error_of(answer)[0] == "invalid_request_error"


def test_models_limit_1000_is_allowed(client: httpx.Client, auth: dict[str, str]) -> None:
    assert client.get("/v1/models", headers=auth, params={"limit": 1000}).status_code == 200


def test_models_need_the_oauth_beta(client: httpx.Client, auth: dict[str, str]) -> None:
    del auth["anthropic-beta"]
    answer = client.get("/v1/models", headers=auth)
    assert answer.status_code == 401
    assert error_of(answer) == (
        "authentication_error",
        "OAuth authentication is currently not supported.",
    )


def test_models_accept_the_beta_in_a_list(client: httpx.Client, auth: dict[str, str]) -> None:
    auth["anthropic-beta"] = f"prompt-caching-2024-07-31, {BETA}"
    assert client.get("/v1/models", headers=auth).status_code == 200


@pytest.mark.parametrize(
    "authorization", ["Bearer forged-access-token", "Basic abc", "Bearer", None]
)
def test_models_refuse_bad_credentials(
    client: httpx.Client, auth: dict[str, str], authorization
) -> None:
    headers = dict(auth)
    if authorization is None:
        del headers["authorization"]
    else:
        headers["authorization"] = authorization
    answer = client.get("/v1/models", headers=headers)
    assert answer.status_code == 401
    assert error_of(answer)[0] == "authentication_error"


def test_models_record_an_x_api_key_and_answer(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    answer = client.get("/v1/models", headers={**auth, "x-api-key": "sk-ant-api03-x"})
    assert answer.status_code == 200
    assert emu.requests[-1].headers["x-api-key"] == "sk-ant-api03-x"


def test_set_models_replaces_the_list(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    emu.set_models([{"id": "claude-test-1"}, {"id": "claude-test-2", "max_input_tokens": 5}])
    body = client.get("/v1/models", headers=auth).json()
    assert [m["id"] for m in body["data"]] == ["claude-test-1", "claude-test-2"]
    assert body["data"][0]["display_name"] == "claude-test-1"
    assert body["data"][1]["max_input_tokens"] == 5
    with pytest.raises(ValueError):
        emu.set_models([{"display_name": "no id"}])


def test_models_constructor_argument(auth: dict[str, str]) -> None:
    with ClaudeEmulator(models=[{"id": "only-one"}]) as emu, httpx.Client() as c:
        login = emu.issue_login()["access_token"]
        headers = {"authorization": f"Bearer {login}", "anthropic-beta": BETA}
        body = c.get(emu.base_url + "/v1/models", headers=headers).json()
        assert [m["id"] for m in body["data"]] == ["only-one"]


# -- /api/oauth/profile ---------------------------------------------------------------


def test_profile_needs_only_a_bearer_token(
    emu: ClaudeEmulator, client: httpx.Client, auth: dict[str, str]
) -> None:
    login = emu.issue_login()
    answer = client.get(
        "/api/oauth/profile", headers={"authorization": f"Bearer {login['access_token']}"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body["account"]) >= {"uuid", "email_address", "display_name"}
    assert set(body["organization"]) >= {"uuid", "name", "organization_type"}
    assert body["account"]["uuid"] == login["account"]["uuid"]
    assert body["organization"]["uuid"] == login["organization"]["uuid"]


def test_profile_refuses_bad_tokens_and_missing_scope(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    forged = client.get("/api/oauth/profile", headers={"authorization": "Bearer nope"})
    assert forged.status_code == 401
    token = emu.issue_login(scope="user:inference")["access_token"]
    narrow = client.get("/api/oauth/profile", headers={"authorization": f"Bearer {token}"})
    assert narrow.status_code == 403
    assert error_of(narrow)[0] == "permission_error"


# -- /v1/messages -------------------------------------------------------------------------


def message_body(**extra: object) -> dict[str, object]:
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Say hello"}],
        **extra,
    }


def test_messages_answer_a_complete_message(client: httpx.Client, auth: dict[str, str]) -> None:
    answer = client.post("/v1/messages", headers=auth, json=message_body())
    assert answer.status_code == 200
    body = answer.json()
    assert body["id"].startswith("msg_")
    assert (body["type"], body["role"], body["model"]) == (
        "message",
        "assistant",
        "claude-sonnet-4-5-20250929",
    )
    assert body["content"] == [{"type": "text", "text": "Hello from the Claude emulator."}]
    assert body["stop_reason"] == "end_turn"
    assert body["stop_sequence"] is None
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] > 0


def test_messages_stream_the_standard_events(client: httpx.Client, auth: dict[str, str]) -> None:
    answer = client.post("/v1/messages", headers=auth, json=message_body(stream=True))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = []
    for block in answer.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(lines["data"])
        assert data["type"] == lines["event"]
        events.append(data)
    kinds = [e["type"] for e in events if e["type"] != "ping"]
    assert kinds == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text == "Hello from the Claude emulator."
    final = next(e for e in events if e["type"] == "message_delta")
    assert final["delta"]["stop_reason"] == "end_turn"
    assert final["usage"]["output_tokens"] > 0


def test_messages_need_anthropic_version(client: httpx.Client, auth: dict[str, str]) -> None:
    del auth["anthropic-version"]
    answer = client.post("/v1/messages", headers=auth, json=message_body())
    assert answer.status_code == 400
    assert error_of(answer)[0] == "invalid_request_error"


def test_messages_need_the_oauth_beta(client: httpx.Client, auth: dict[str, str]) -> None:
    del auth["anthropic-beta"]
    answer = client.post("/v1/messages", headers=auth, json=message_body())
    assert answer.status_code == 401


def test_messages_unknown_model_is_not_found(client: httpx.Client, auth: dict[str, str]) -> None:
    answer = client.post("/v1/messages", headers=auth, json=message_body(model="claude-nope"))
    assert answer.status_code == 404
    assert error_of(answer)[0] == "not_found_error"


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
        {"model": "claude-sonnet-4-5-20250929", "messages": [{"role": "user", "content": "x"}]},
        {"model": "claude-sonnet-4-5-20250929", "max_tokens": 5, "messages": []},
        ["not", "an", "object"],
    ],
)
def test_messages_validate_the_body(client: httpx.Client, auth: dict[str, str], body) -> None:
    answer = client.post("/v1/messages", headers=auth, json=body)
    assert answer.status_code == 400
    assert error_of(answer)[0] == "invalid_request_error"


def test_messages_need_the_inference_scope(emu: ClaudeEmulator, client: httpx.Client) -> None:
    token = emu.issue_login(scope="user:profile")["access_token"]
    headers = {
        "authorization": f"Bearer {token}",
        "anthropic-beta": BETA,
        "anthropic-version": "2023-06-01",
    }
    answer = client.post("/v1/messages", headers=headers, json=message_body())
    assert answer.status_code == 403
