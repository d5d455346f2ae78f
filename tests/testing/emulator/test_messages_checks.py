"""The emulator's Messages API beyond the basics, over real loopback HTTP: the input
window and the long-context beta, fast mode, and what it records of each request."""

from __future__ import annotations

import json
import socket
from typing import Any

import httpx
import pytest

from claude_code_oauth.testing.emulator.capabilities import LONG_CONTEXT_REFUSAL
from claude_code_oauth.testing.emulator.console import CREATE_API_KEY_PATH
from claude_code_oauth.testing.emulator.control import ClaudeEmulator

OAUTH = "oauth-2025-04-20"
LONG = "context-1m-2025-08-07"
FAST = "fast-mode-2026-02-01"
SONNET = "claude-sonnet-4-5-20250929"  # max_input_tokens 1 000 000
HAIKU = "claude-haiku-4-5-20251001"  # no max_input_tokens: 200 000


def _headers(emu: ClaudeEmulator, *betas: str, token: str | None = None) -> dict[str, str]:
    token = token or emu.issue_login()["access_token"]
    return {
        "authorization": f"Bearer {token}",
        "anthropic-beta": ",".join((OAUTH, *betas)),
        "anthropic-version": "2023-06-01",
    }


def _body(model: str, tokens: int = 10, **extra: Any) -> dict[str, Any]:
    """A request whose estimated input is about ``tokens`` tokens (four characters each)."""
    text = "x" * max(1, tokens * 4 - len(json.dumps([{"role": "user", "content": ""}])) - 2)
    return {
        "model": model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def _error(answer: httpx.Response) -> tuple[int, str, str]:
    body = answer.json()
    return answer.status_code, body["error"]["type"], body["error"]["message"]


@pytest.mark.parametrize(
    ("model", "betas", "tokens", "refused_at"),
    [
        (SONNET, (), 200_000, None),
        (SONNET, (), 200_100, 200_000),  # over 200 000 without the beta: refused
        (SONNET, (LONG,), 250_000, None),  # with it: up to the model's million
        (SONNET, (LONG,), 1_000_100, 1_000_000),
        (HAIKU, (LONG,), 200_100, 200_000),  # the beta gives no model more than it has
    ],
)
def test_the_input_window(
    emu: ClaudeEmulator,
    client: httpx.Client,
    model: str,
    betas: tuple[str, ...],
    tokens: int,
    refused_at: int | None,
) -> None:
    answer = client.post("/v1/messages", headers=_headers(emu, *betas), json=_body(model, tokens))
    if refused_at is None:
        assert answer.status_code == 200, answer.text[:300]
        assert answer.json()["usage"]["input_tokens"] == tokens
        assert emu.usage_counters()["requests"] == 1
        return
    status, kind, message = _error(answer)
    assert (status, kind) == (400, "invalid_request_error")
    assert message == f"prompt is too long: {tokens} tokens > {refused_at} maximum"
    assert emu.usage_counters()["requests"] == 0  # a refused request costs nothing


def test_a_subscription_without_long_context_refuses_the_beta_on_any_request(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    emu.deny_long_context()
    token = emu.issue_login()["access_token"]
    refused = client.post(
        "/v1/messages", headers=_headers(emu, LONG, token=token), json=_body(SONNET)
    )
    assert _error(refused) == (400, "invalid_request_error", LONG_CONTEXT_REFUSAL)
    plain = client.post("/v1/messages", headers=_headers(emu, token=token), json=_body(SONNET))
    assert plain.status_code == 200
    emu.deny_long_context(denied=False)
    again = client.post(
        "/v1/messages", headers=_headers(emu, LONG, token=token), json=_body(SONNET)
    )
    assert again.status_code == 200


def test_fast_mode_needs_its_beta_and_a_known_speed(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    fast = client.post("/v1/messages", headers=_headers(emu, FAST), json=_body(HAIKU, speed="fast"))
    assert fast.status_code == 200 and fast.json()["usage"]["speed"] == "fast"
    streamed = client.post(
        "/v1/messages", headers=_headers(emu, FAST), json=_body(HAIKU, speed="fast", stream=True)
    )
    assert streamed.status_code == 200 and '"speed": "fast"' in streamed.text
    plain = client.post("/v1/messages", headers=_headers(emu), json=_body(HAIKU))
    assert "speed" not in plain.json()["usage"]
    without_beta = client.post(
        "/v1/messages", headers=_headers(emu), json=_body(HAIKU, speed="fast")
    )
    assert _error(without_beta)[2] == "speed: Extra inputs are not permitted"
    odd = client.post("/v1/messages", headers=_headers(emu, FAST), json=_body(HAIKU, speed="warp"))
    assert _error(odd) == (
        400,
        "invalid_request_error",
        "speed: Input should be 'standard' or 'fast'",
    )


def test_api_key_requests_have_the_same_window(emu: ClaudeEmulator, client: httpx.Client) -> None:
    console = emu.issue_login(console=True, scope="org:create_api_key user:profile")
    created = client.post(
        CREATE_API_KEY_PATH, headers={"authorization": f"Bearer {console['access_token']}"}
    )
    key = {"x-api-key": created.json()["raw_key"], "anthropic-version": "2023-06-01"}
    over = _body(SONNET, 200_100, speed="fast")
    refused = client.post("/v1/messages", headers=key, json=over)
    assert _error(refused)[2] == "prompt is too long: 200100 tokens > 200000 maximum"
    served = client.post(
        "/v1/messages", headers={**key, "anthropic-beta": f"{LONG},{FAST}"}, json=over
    )
    assert served.status_code == 200 and served.json()["usage"]["speed"] == "fast"


def test_each_request_records_its_betas_and_speed(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    client.post("/v1/messages", headers=_headers(emu, LONG, FAST), json=_body(SONNET, speed="fast"))
    client.post("/v1/messages", headers=_headers(emu), json=_body(SONNET))
    first, second = [r for r in emu.requests if r.path == "/v1/messages"]
    assert first.betas == [OAUTH, LONG, FAST] and first.speed == "fast"
    assert second.betas == [OAUTH] and second.speed is None


def test_a_large_conversation_is_read_and_one_over_claudes_limit_is_refused(
    emu: ClaudeEmulator, client: httpx.Client
) -> None:
    # Past the 1 MiB the other routes take: a conversation of ~300 000 tokens.
    big = client.post("/v1/messages", headers=_headers(emu, LONG), json=_body(SONNET, 300_000))
    assert big.status_code == 200, big.text[:300]
    # Over Claude's 32 MB: refused from the headers alone, the body never read.
    host, port = emu.base_url.removeprefix("http://").split(":")
    head = "".join(f"{k}: {v}\r\n" for k, v in _headers(emu, LONG).items())
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(
            f"POST /v1/messages HTTP/1.1\r\nHost: {host}\r\n{head}"
            "Content-Type: application/json\r\nContent-Length: 32000001\r\n\r\n".encode()
        )
        answer = conn.makefile("rb").read()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"413"
    error = json.loads(rest.partition(b"\r\n\r\n")[2])["error"]
    assert error == {
        "type": "request_too_large",
        "message": "Request exceeds the maximum allowed number of bytes.",
    }
