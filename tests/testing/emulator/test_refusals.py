"""Claude's late-2026 answers as emulator faults: each shaped like the real one."""

from __future__ import annotations

import httpx
import pytest

from claude_code_oauth.account import unified_limits
from claude_code_oauth.testing.emulator import refusals
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

BETA = "oauth-2025-04-20"
MODEL = "claude-haiku-4-5-20251001"


def _headers(login: dict) -> dict[str, str]:
    return {
        "authorization": f"Bearer {login['access_token']}",
        "anthropic-beta": BETA,
        "anthropic-version": "2023-06-01",
    }


def post_message(client: httpx.Client, login: dict, *, stream: bool = False) -> httpx.Response:
    body = {
        "model": MODEL,
        "max_tokens": 5,
        "messages": [{"role": "user", "content": "hi"}],
        "stream": stream,
    }
    return client.post("/v1/messages", json=body, headers=_headers(login))


def get_models(client: httpx.Client, login: dict) -> httpx.Response:
    return client.get("/v1/models", headers=_headers(login))


def _error(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()
    assert body["type"] == "error"
    return answer.status_code, body["error"]["type"], body["error"]["message"]


ENVELOPES = {
    "400_third_party": (400, "invalid_request_error", refusals.THIRD_PARTY_MESSAGE),
    "400_request": (400, "invalid_request_error", refusals.REQUEST_SHAPE_MESSAGE),
    "403_revoked": (403, "permission_error", refusals.REVOKED_MESSAGE),
    "401_revoked": (401, "authentication_error", refusals.ACCESS_REVOKED_MESSAGE),
    "401_org_not_allowed": (401, "authentication_error", refusals.ORG_NOT_ALLOWED_MESSAGE),
    "403_org_not_allowed": (403, "permission_error", refusals.ORG_NOT_ALLOWED_MESSAGE),
    "403_model_not_on_plan": (
        403,
        "permission_error",
        f"model: {MODEL} is not available on your plan.",
    ),
    "529": (529, "overloaded_error", "Overloaded"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("fault", sorted(ENVELOPES))
def test_messages_refusals_are_anthropic_envelopes(
    emu: ClaudeEmulator, client: httpx.Client, fault, stream
) -> None:
    login = emu.issue_login()
    emu.inject("messages", fault)
    answer = post_message(client, login, stream=stream)
    assert _error(answer) == ENVELOPES[fault]
    assert answer.headers["content-type"] == "application/json"
    assert unified_limits.parse(answer.headers.multi_items()) is None
    assert post_message(client, login).status_code == 200  # one answer, then normal again


@pytest.mark.parametrize("fault", sorted(f for f in ENVELOPES if "model" not in f))
def test_models_refusals_are_anthropic_envelopes(
    emu: ClaudeEmulator, client: httpx.Client, fault
) -> None:
    login = emu.issue_login()
    emu.inject("models", fault)
    assert _error(get_models(client, login)) == ENVELOPES[fault]
    assert get_models(client, login).status_code == 200


#: fault -> (status, error type, error_code, user-facing by default)
CODED = {
    "429_credits_required": (429, "rate_limit_error", "credits_required", True),
    "403_scope_insufficient": (403, "permission_error", "oauth_scope_insufficient", False),
    "403_organization_disabled": (403, "permission_error", "organization_disabled", False),
    "401_token_expired": (401, "authentication_error", "token_expired", False),
    "403_model_suspended": (403, "permission_error", "model_access_suspended", False),
}


@pytest.mark.parametrize("fault", sorted(CODED))
def test_coded_refusals_carry_error_details(emu, client, fault):
    status, kind, code, user_facing = CODED[fault]
    login = emu.issue_login()
    emu.inject("messages", fault)
    emu.inject("messages", fault, user_facing=not user_facing)
    for facing in (user_facing, not user_facing):
        answer = post_message(client, login)
        error = answer.json()["error"]
        assert (answer.status_code, error["type"]) == (status, kind)
        expected = {"error_code": code, **({"error_visibility": "user_facing"} if facing else {})}
        assert error["details"] == expected and error["message"]
    assert post_message(client, login).status_code == 200


def test_out_of_credits_names_the_exhausted_window_and_the_reason(emu, client):
    login = emu.issue_login()
    emu.inject("messages", "429_credits_required")
    answer = post_message(client, login)
    assert answer.json()["error"]["message"] == refusals.CREDITS_MESSAGE
    disabled = answer.headers["anthropic-ratelimit-unified-overage-disabled-reason"]
    assert disabled == "out_of_credits"
    limits = unified_limits.parse(answer.headers.multi_items())
    assert limits is not None and limits.limit_reached and limits.overage_status == "rejected"


def test_a_suspended_model_is_named(emu, client):
    login = emu.issue_login()
    emu.inject("messages", "403_model_suspended")
    message = post_message(client, login).json()["error"]["message"]
    assert f"model: {MODEL}" in message and "suspended for this organization" in message


def test_a_token_without_user_inference_is_scope_insufficient(emu, client):
    login = emu.issue_login(scope="user:profile")
    error = post_message(client, login).json()["error"]
    assert error["type"] == "permission_error"
    assert error["details"] == {"error_code": "oauth_scope_insufficient"}


@pytest.mark.parametrize(
    ("window", "code"),
    [("five_hour", "5h"), ("seven_day", "7d"), ("seven_day_overage_included", "7d_oi")],
)
def test_usage_limit_429_carries_the_unified_headers_of_an_exhausted_window(
    emu: ClaudeEmulator, client: httpx.Client, window, code
) -> None:
    login = emu.issue_login()
    emu.inject("messages", "429_limit", window=window, reset_in=4320)
    now = emu.wall_clock()
    answer = post_message(client, login)
    status, kind, _ = _error(answer)
    assert (status, kind) == (429, "rate_limit_error")
    assert answer.headers[f"anthropic-ratelimit-unified-{code}-status"] == "rejected"
    assert answer.headers["retry-after"] == "4320"
    limits = unified_limits.parse(answer.headers.multi_items(), now)
    assert limits is not None and limits.limit_reached
    assert limits.binding_window == window
    assert limits.resets_at == now + 4320
    binding = limits.binding()
    assert binding is not None and binding.utilization == 100.0
    assert limits.overage_status == "rejected" and limits.overage_in_use is False


def test_usage_limit_defaults_and_plain_429_has_no_unified_headers(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    emu.inject("models", "429_limit")
    limits = unified_limits.parse(get_models(client, login).headers.multi_items(), emu.wall_clock())
    assert limits is not None and limits.binding_window == "five_hour"
    emu.inject("messages", "429", retry_after=5)
    plain = post_message(client, login, stream=True)
    assert (plain.status_code, plain.headers["retry-after"]) == (429, "5")
    assert unified_limits.parse(plain.headers.multi_items()) is None


def test_a_stream_that_starts_then_fails_with_an_error_event(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    login = emu.issue_login()
    emu.inject("messages", "stream_error")
    answer = post_message(client, login, stream=True)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [line[7:] for line in answer.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "message_start" and "content_block_delta" in events
    assert events[-1] == "error" and "message_stop" not in events
    assert '"type": "overloaded_error"' in answer.text.rsplit("event: error", 1)[1]
    # A JSON request meets the same failure as a plain 529.
    emu.inject("messages", "stream_error")
    assert _error(post_message(client, login))[:2] == (529, "overloaded_error")


def test_the_anthropic_sdk_raises_the_mid_stream_error(emu: ClaudeEmulator) -> None:
    import anthropic

    login = emu.issue_login()
    emu.inject("messages", "stream_error")
    sdk = anthropic.Anthropic(
        base_url=emu.base_url,
        auth_token=login["access_token"],
        default_headers={"anthropic-beta": BETA},
        max_retries=0,
    )
    stream = sdk.messages.create(
        model=MODEL, max_tokens=5, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    seen = []
    with pytest.raises(anthropic.APIStatusError) as caught:
        for event in stream:
            seen.append(event.type)
    assert "message_start" in seen
    assert caught.value.body["error"]["type"] == "overloaded_error"


@pytest.mark.parametrize("endpoint", ["token", "models", "authorize"])
def test_an_endpoint_that_is_not_there(emu: ClaudeEmulator, client: httpx.Client, endpoint) -> None:
    path = {"token": "/v1/oauth/token", "models": "/v1/models", "authorize": "/oauth/authorize"}
    method = "POST" if endpoint == "token" else "GET"
    emu.inject(endpoint, "404")
    answer = client.request(method, path[endpoint], json={} if method == "POST" else None)
    assert _error(answer)[:2] == (404, "not_found_error")
    emu.inject(endpoint, "404_html")
    page = client.request(method, path[endpoint], json={} if method == "POST" else None)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("429_limit", {"window": "one_hour"}),
        ("429_limit", {"reset_in": -1}),
        ("429_limit", {"delay": 1}),
        ("403_revoked", {"window": "five_hour"}),
    ],
)
def test_refusal_parameters_are_checked(emu: ClaudeEmulator, fault, params) -> None:
    with pytest.raises(ValueError):
        emu.inject("messages", fault, **params)


def test_refusals_through_the_control_endpoint(emu: ClaudeEmulator, client: httpx.Client) -> None:
    login = emu.issue_login()
    fault = {"endpoint": "messages", "fault": "429_limit", "window": "seven_day", "reset_in": 60}
    assert client.post("/_emulator/faults", json=fault).status_code == 200
    limits = unified_limits.parse(
        post_message(client, login).headers.multi_items(), emu.wall_clock()
    )
    assert limits is not None and limits.binding_window == "seven_day"
