"""The hostile proxy itself: what it forwards, rewrites and records."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy


@pytest.fixture
def proxy(emu: ClaudeEmulator) -> Iterator[HostileProxy]:
    with HostileProxy(emu.base_url) as running:
        yield running


def test_env_points_only_the_token_and_api_urls_at_the_proxy(
    emu: ClaudeEmulator, proxy: HostileProxy
) -> None:
    env = proxy.env(emu.env())
    assert env["CLAUDE_CODE_OAUTH_TOKEN_URL"] == proxy.base_url + "/v1/oauth/token"
    assert env["CLAUDE_CODE_OAUTH_API_BASE_URL"] == proxy.base_url
    assert env["CLAUDE_CODE_OAUTH_AUTH_URL"] == emu.env()["CLAUDE_CODE_OAUTH_AUTH_URL"]


def test_forwards_untouched_without_a_rule_and_rewrites_with_one(
    emu: ClaudeEmulator, proxy: HostileProxy
) -> None:
    with httpx.Client(base_url=proxy.base_url, timeout=10) as client:
        plain = client.get("/v1/models")  # no token: the emulator's own 401
        proxy.add_rule("/v1/models", status=200, set_json={"n": "NaN", "big": "9" * 40})
        proxy.add_rule("/v1/models", forward=False, status=302, headers={"Location": "/x"})
        rewritten = client.get("/v1/models")
        redirected = client.get("/v1/models")
        again = client.get("/v1/models")  # both rules used up
    assert plain.status_code == again.status_code == 401
    assert rewritten.status_code == 200
    assert b'"n": NaN' in rewritten.content and b'"big": ' + b"9" * 40 in rewritten.content
    assert b'"type": "error"' in rewritten.content  # the upstream members are kept
    assert redirected.status_code == 302 and redirected.headers["location"] == "/x"
    assert [e.status for e in proxy.requests_to("/v1/models")] == [401, 200, 302, 401]
    assert len([r for r in emu.requests if r.path == "/v1/models"]) == 3  # not the 302


def test_a_trickle_notices_the_client_hanging_up(proxy: HostileProxy) -> None:
    proxy.add_rule("/v1/models", forward=False, body=b"x" * 100, trickle=0.2)
    with (
        httpx.Client(base_url=proxy.base_url, timeout=10) as client,
        client.stream("GET", "/v1/models") as answer,
    ):
        assert next(answer.iter_raw()) == b"x"  # the first byte; then we hang up
    (exchange,) = proxy.requests_to("/v1/models")
    assert exchange.finished.wait(10)
    assert exchange.client_left_after is not None and exchange.body_bytes_sent < 100
