"""Model discovery against the Claude emulator (and a raw server for odd page shapes)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import DiscoveryError, NotSignedIn
from claude_code_oauth.models.discovery import DiscoveredModel, discover_models
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.tokens import assert_same_secret


class EmulatorSource:
    """A token source backed by emulator logins; records every replacement request."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.token: str = emu.issue_login()["access_token"]
        self.issued = [self.token]
        self.rejected: list[str] = []

    def get_access_token(self) -> str:
        return self.token

    def replace_rejected(self, rejected: str) -> str:
        self.rejected.append(rejected)
        self.token = self.emu.issue_login()["access_token"]
        self.issued.append(self.token)
        return self.token


class FixedSource:
    """A token source for servers that do not check tokens."""

    token = "fixed-test-token-value"

    def __init__(self) -> None:
        self.rejected: list[str] = []

    def get_access_token(self) -> str:
        return self.token

    def replace_rejected(self, rejected: str) -> str:
        self.rejected.append(rejected)
        return self.token


def make_models(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"claude-test-{i:02d}",
            "display_name": f"Claude Test {i}",
            "created_at": f"2025-01-{i % 28 + 1:02d}T00:00:00Z",
        }
        for i in range(count)
    ]


@pytest.fixture
def emu() -> Iterator[Any]:
    with ClaudeEmulator() as emulator:
        yield emulator


def settings_for(base_url: str, tmp_path: Path, **extra: Any) -> Settings:
    overrides = {"api_base_url": base_url, "data_dir": str(tmp_path), **extra}
    return Settings(overrides=overrides, environ={})


def model_requests(emu: Any) -> list[Any]:
    return [r for r in emu.requests if r.path == "/v1/models"]


def assert_clean(err: DiscoveryError, *tokens: str) -> str:
    message = str(err)
    assert message.startswith("Model discovery failed")
    assert "\n" not in message
    # Booleans only: a failing assert must not print the token it found.
    leaked = any(token in message for token in tokens) or "sk-ant-" in message
    assert not leaked, "an error message contains a token"
    return message


# -- against the emulator -----------------------------------------------------------


def test_paginates_in_api_order_with_small_pages(emu: Any, tmp_path: Path) -> None:
    emu.set_models(make_models(7))
    source = EmulatorSource(emu)
    models = discover_models(settings_for(emu.base_url, tmp_path), source, page_size=3)
    assert [m.id for m in models] == [f"claude-test-{i:02d}" for i in range(7)]
    assert models[3] == DiscoveredModel(
        "claude-test-03", "Claude Test 3", "2025-01-04T00:00:00Z", None
    )
    requests = model_requests(emu)
    assert [(r.query.get("limit"), r.query.get("after_id")) for r in requests] == [
        ("3", None),
        ("3", "claude-test-02"),
        ("3", "claude-test-05"),
    ]
    assert not source.rejected


def test_default_page_size_and_large_lists(emu: Any, tmp_path: Path) -> None:
    emu.set_models([{"id": f"m-{i}"} for i in range(2500)])
    models = discover_models(settings_for(emu.base_url, tmp_path), EmulatorSource(emu))
    assert len(models) == 2500
    assert [r.query.get("limit") for r in model_requests(emu)] == ["1000", "1000", "1000"]
    assert models[-1].id == "m-2499"


def test_max_input_tokens_kept_when_reported(emu: Any, tmp_path: Path) -> None:
    emu.set_models(
        [
            {"id": "big", "display_name": "Big", "max_input_tokens": 1_000_000},
            {"id": "plain", "display_name": "Plain"},
        ]
    )
    models = discover_models(settings_for(emu.base_url, tmp_path), EmulatorSource(emu))
    assert [(m.id, m.max_input_tokens) for m in models] == [("big", 1_000_000), ("plain", None)]


def test_headers_sent(emu: Any, tmp_path: Path) -> None:
    source = EmulatorSource(emu)
    discover_models(settings_for(emu.base_url, tmp_path), source)
    (request,) = model_requests(emu)
    headers = request.headers
    bearer_ok = headers["authorization"] == f"Bearer {source.token}"
    assert bearer_ok, "Authorization is not the source's Bearer token"
    assert "oauth-2025-04-20" in [b.strip() for b in headers["anthropic-beta"].split(",")]
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["user-agent"] == USER_AGENT
    assert "x-api-key" not in list(headers)  # names only, never values


def test_empty_model_list_is_not_an_error(emu: Any, tmp_path: Path) -> None:
    emu.set_models([])
    assert discover_models(settings_for(emu.base_url, tmp_path), EmulatorSource(emu)) == []


def test_one_401_is_retried_with_a_replacement_token(emu: Any, tmp_path: Path) -> None:
    emu.set_models(make_models(2))
    source = EmulatorSource(emu)
    first = source.token
    emu.inject("models", "401")
    models = discover_models(settings_for(emu.base_url, tmp_path), source)
    assert [m.id for m in models] == ["claude-test-00", "claude-test-01"]
    assert_same_secret(source.rejected, [first], "the token replace_rejected got")
    auths = [r.headers["authorization"] for r in model_requests(emu)]
    assert_same_secret(auths, [f"Bearer {first}", f"Bearer {source.token}"], "the Bearers sent")


def test_401_twice_is_a_discovery_error_suggesting_login(emu: Any, tmp_path: Path) -> None:
    source = EmulatorSource(emu)
    emu.inject("models", "401", times=2)
    with pytest.raises(DiscoveryError) as info:
        discover_models(settings_for(emu.base_url, tmp_path), source)
    message = assert_clean(info.value, *source.issued)
    assert "authentication_error" in message
    assert "login" in message
    assert len(source.rejected) == 1


@pytest.mark.parametrize(
    ("fault", "params", "fragments"),
    [
        ("html403", {}, ["HTTP 403", "HTML", "Cloudflare"]),
        ("500", {}, ["HTTP 500", "api_error"]),
        ("502_html", {}, ["HTTP 502", "HTML"]),
        ("invalid_json", {}, ["not valid JSON"]),
        ("429", {"retry_after": 7}, ["429", "Retry after 7 s"]),
    ],
)
def test_bad_answers_are_discovery_errors(
    emu: Any, tmp_path: Path, fault: str, params: dict[str, Any], fragments: list[str]
) -> None:
    source = EmulatorSource(emu)
    emu.inject("models", fault, **params)
    with pytest.raises(DiscoveryError) as info:
        discover_models(settings_for(emu.base_url, tmp_path), source)
    message = assert_clean(info.value, *source.issued)
    assert "models endpoint" in message
    for fragment in fragments:
        assert fragment in message
    # Fault used up: the next discovery works.
    assert discover_models(settings_for(emu.base_url, tmp_path), source)


def test_timeout_names_host_and_timeout(emu: Any, tmp_path: Path) -> None:
    source = EmulatorSource(emu)
    emu.inject("models", "slow", delay=2)
    settings = settings_for(emu.base_url, tmp_path, http_timeout=0.3)
    with pytest.raises(DiscoveryError) as info:
        discover_models(settings, source)
    message = assert_clean(info.value, *source.issued)
    host = urlsplit(emu.base_url).hostname
    assert f"({host}:" in message and "did not answer within 0.3 s" in message


def test_revoked_login_recovers_through_the_token_source(emu: Any, tmp_path: Path) -> None:
    emu.set_models(make_models(1))
    source = EmulatorSource(emu)
    revoked = source.token
    emu.inject("models", "revoke")
    models = discover_models(settings_for(emu.base_url, tmp_path), source)
    assert [m.id for m in models] == ["claude-test-00"]
    assert_same_secret(source.rejected, [revoked], "the token replace_rejected got")


# -- transport and token-source failures ---------------------------------------------


def test_connection_refused_names_host(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = settings_for(f"http://127.0.0.1:{port}", tmp_path, http_timeout=2)
    with pytest.raises(DiscoveryError) as info:
        discover_models(settings, FixedSource())
    message = assert_clean(info.value, FixedSource.token)
    assert "could not reach 127.0.0.1 (timeout 2 s)" in message


def test_token_source_errors_pass_through(tmp_path: Path) -> None:
    class NoLogin(FixedSource):
        def get_access_token(self) -> str:
            raise NotSignedIn("Not signed in.")

    with pytest.raises(NotSignedIn):
        discover_models(settings_for("http://127.0.0.1:9", tmp_path), NoLogin())


def test_page_size_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        discover_models(settings_for("http://127.0.0.1:9", tmp_path), FixedSource(), page_size=0)


# -- odd page shapes from a raw server ------------------------------------------------

Reply = tuple[int, str, bytes]


class RawServer:
    """A loopback server answering /v1/models from a script of replies, recording queries."""

    def __init__(self, replies: list[Reply] | Callable[[dict[str, str]], Reply]) -> None:
        self.replies = replies
        self.queries: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                outer.queries.append(query)
                if callable(outer.replies):
                    status, ctype, body = outer.replies(query)
                else:
                    status, ctype, body = outer.replies[len(outer.queries) - 1]
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        # A short poll interval keeps shutdown (and so each test) fast.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def page(data: Any, **extra: Any) -> Reply:
    return 200, "application/json", json.dumps({"data": data, **extra}).encode()


def item(model_id: Any, **extra: Any) -> dict[str, Any]:
    return {"type": "model", "id": model_id, **extra}


@pytest.mark.parametrize(
    ("replies", "fragment"),
    [
        ([(200, "application/json", b'{"models": []}')], "without a 'data' list (page 1)"),
        ([(200, "application/json", b'{"data": {"id": "x"}}')], "without a 'data' list"),
        ([(200, "application/json", b"[]")], "not an object"),
        ([(200, "text/plain", b"hello")], "not valid JSON"),
        ([page([item("a"), {"display_name": "no id"}])], "without a string 'id' (page 1, entry 2)"),
        ([page([item(42)])], "without a string 'id'"),
        ([page([item("a")], has_more=True)], "gave no 'last_id' (page 1)"),
        (
            [page([item("a")], has_more=True, last_id="a")] * 3,
            "repeated last_id 'a' on page 2",
        ),
        ([page([], has_more=True, last_id="z")], "sent no models"),
        (
            [page([item("a")], has_more=True, last_id="a"), (503, "application/json", b"{}")],
            "HTTP 503",
        ),
        (
            [(404, "application/json", b'{"type":"error","error":{"type":"not_found_error"}}')],
            "404",
        ),
        ([(302, "application/json", b"")], "HTTP 302"),
    ],
)
def test_malformed_pages_are_discovery_errors(
    tmp_path: Path, replies: list[Reply], fragment: str
) -> None:
    with RawServer(replies) as server, pytest.raises(DiscoveryError) as info:
        discover_models(settings_for(server.url, tmp_path), FixedSource())
    assert fragment in assert_clean(info.value, FixedSource.token)


def test_fields_are_normalised_and_ids_deduplicated(tmp_path: Path) -> None:
    replies = [
        page(
            [
                item("a", display_name="", created_at=123, max_input_tokens=True),
                item("b", display_name="B", max_input_tokens=-5),
                item("a", display_name="second a"),
            ],
            has_more=True,
            last_id="a",
        ),
        page([item("c", display_name="C", max_input_tokens=300000, created_at="2025")]),
    ]
    with RawServer(replies) as server:
        models = discover_models(settings_for(server.url, tmp_path), FixedSource())
    assert models == [
        DiscoveredModel("a", "a", None, None),
        DiscoveredModel("b", "B", None, None),
        DiscoveredModel("c", "C", "2025", 300000),
    ]
    assert server.queries == [{"limit": "1000"}, {"limit": "1000", "after_id": "a"}]


def test_echoed_token_is_scrubbed_from_errors(tmp_path: Path) -> None:
    body = json.dumps(
        {"type": "error", "error": {"type": "invalid_request_error", "message": FixedSource.token}}
    ).encode()
    with (
        RawServer([(400, "application/json", body)]) as server,
        pytest.raises(DiscoveryError) as info,
    ):
        discover_models(settings_for(server.url, tmp_path), FixedSource())
    assert "[token]" in assert_clean(info.value, FixedSource.token)


def test_endless_pagination_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import claude_code_oauth.models.discovery as discovery

    monkeypatch.setattr(discovery, "MAX_PAGES", 5)

    def forever(query: dict[str, str]) -> Reply:
        n = len(query.get("after_id", "")) + 1
        return page([item("x" * n)], has_more=True, last_id="x" * n)

    with RawServer(forever) as server:
        with pytest.raises(DiscoveryError, match="after 5 pages"):
            discover_models(settings_for(server.url, tmp_path), FixedSource())
        assert len(server.queries) == 5


def test_given_client_is_used_and_left_open(tmp_path: Path) -> None:
    with RawServer([page([item("a")])]) as server, httpx.Client() as client:
        models = discover_models(settings_for(server.url, tmp_path), FixedSource(), client=client)
        assert [m.id for m in models] == ["a"]
        assert not client.is_closed
