"""The pydantic-ai model of our entries, used as a library (no Code Puppy), against the emulator.

Every answer of Claude's reaches the caller as pydantic-ai's own exception type
whose ``str()`` is the named line and whose ``claude_error`` is the named error;
the tests count how often the anthropic SDK sent the request (its own retries
only) and how often the token endpoint was asked.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelAPIError, ModelHTTPError

from claude_code_oauth.errors import (
    ApiUnavailable,
    ApiUnreachable,
    CreditsRequired,
    LoginRequired,
    LoginRevoked,
    ModelNotAvailable,
    NotSignedIn,
    OrganizationRefused,
    RequestRejected,
    SignInRejected,
    ThirdPartyRefused,
    UsageLimitReached,
)
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX, build_model, pydantic_error
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import seed, settings_for, stored, token_requests

MODEL = "claude-haiku-4-5-20251001"
ENTRY = {"name": MODEL}


@pytest.fixture
def token_file(emulator: ClaudeEmulator, data_dir: Path) -> Path:
    path = data_dir / "claude_code_oauth.json"
    seed(emulator, path, expires_in=3600)
    return path


def make_model(client_env: dict[str, str], on_failure: Any = None, **entry: Any) -> Any:
    settings = settings_for(client_env)
    return build_model(
        "claude-code-" + MODEL,
        {**ENTRY, **entry},
        settings,
        TokenProvider(settings),
        **({"on_failure": on_failure} if on_failure is not None else {}),
    )


def run(model: Any, *, stream: bool) -> Any:
    async def go() -> Any:
        agent = Agent(model)
        if not stream:
            return (await agent.run("hi")).output
        async with agent.run_stream("hi") as result:
            return await result.get_output()

    return asyncio.run(go())


def messages_sent(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


CASES: list[tuple[str, dict[str, Any], int, type, type, int]] = [
    # fault, params, times injected, pydantic-ai type, named error, requests sent
    ("400_third_party", {}, 1, ModelHTTPError, ThirdPartyRefused, 1),
    ("400_request", {}, 1, ModelHTTPError, RequestRejected, 1),
    ("403_revoked", {}, 2, ModelHTTPError, LoginRevoked, 2),  # one refresh, one retry
    ("429_limit", {}, 3, ModelHTTPError, UsageLimitReached, 1),  # the SDK is told: no retry
    ("429_credits_required", {}, 3, ModelHTTPError, CreditsRequired, 1),  # no retry either
    ("429", {"retry_after": 0}, 3, ModelHTTPError, RequestRejected, 3),  # the SDK's 2 retries
    ("529", {}, 3, ModelHTTPError, ApiUnavailable, 3),
    ("500", {}, 3, ModelHTTPError, ApiUnavailable, 3),
    ("401", {}, 2, ModelHTTPError, SignInRejected, 2),  # one refresh, one retry
    ("401_org_not_allowed", {}, 2, ModelHTTPError, OrganizationRefused, 1),  # no refresh
    ("403_org_not_allowed", {}, 2, ModelHTTPError, OrganizationRefused, 1),
    ("403_model_not_on_plan", {}, 1, ModelHTTPError, ModelNotAvailable, 1),
]
#: The faults another token may cure: one refresh each.
REFRESHED = ("401", "403_revoked")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("fault", "params", "times", "kind", "named", "sent"), CASES, ids=[c[0] for c in CASES]
)
def test_each_answer_as_a_pydantic_ai_error(
    emulator: ClaudeEmulator,
    token_file: Path,
    client_env: dict[str, str],
    stream: bool,
    fault: str,
    params: dict[str, Any],
    times: int,
    kind: type,
    named: type,
    sent: int,
) -> None:
    model = make_model(client_env)
    emulator.inject("messages", fault, times=times, **params)
    with pytest.raises(kind) as caught:
        run(model, stream=stream)
    error = caught.value
    assert type(error.claude_error) is named
    line = str(error)
    assert line == str(error.claude_error) and "\n" not in line
    assert emulator.base_url.removeprefix("http://") in line or named is UsageLimitReached
    assert messages_sent(emulator) == sent
    refreshes = 1 if fault in REFRESHED else 0
    assert emulator.grants["refresh_token"] == refreshes == token_requests(emulator)
    # Nothing chained but the named error: no transient transport error behind it.
    assert error.__cause__ is error.claude_error and error.claude_error.__cause__ is None
    assert not stored(token_file).needs_login  # a refresh that worked proves the login alive


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_revoked_token_is_replaced_once_and_the_request_answered(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str], stream: bool
) -> None:
    emulator.inject("messages", "403_revoked")
    assert run(make_model(client_env), stream=stream) == REPLY_TEXT
    assert messages_sent(emulator) == 2
    assert emulator.grants["refresh_token"] == 1 == token_requests(emulator)
    assert not stored(token_file).needs_login


def test_a_revocation_the_refresh_confirms_ends_the_login_without_another_request(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    emulator.revoke_all()
    model = make_model(client_env)
    with pytest.raises(ModelAPIError) as caught:
        run(model, stream=True)
    assert isinstance(caught.value.claude_error, LoginRequired)
    assert "login has ended" in str(caught.value) and "revoked" in str(caught.value)
    assert messages_sent(emulator) == 1 and token_requests(emulator) == 1
    assert stored(token_file).needs_login
    # The next request says so before sending anything, and asks nobody.
    with pytest.raises(ModelAPIError):
        run(model, stream=False)
    assert messages_sent(emulator) == 1 and token_requests(emulator) == 1


def test_the_usage_limit_line(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    emulator.inject("messages", "429_limit", window="seven_day", reset_in=600)
    with pytest.raises(ModelHTTPError) as caught:
        run(make_model(client_env), stream=True)
    assert caught.value.status_code == 429
    assert str(caught.value).startswith("Claude usage limit reached (7-day window); resets at ")
    assert "(in 10 min)" in str(caught.value) or "(in 9 min)" in str(caught.value)


def test_a_stream_that_fails_after_it_started(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    emulator.inject("messages", "stream_error")
    with pytest.raises(ModelAPIError) as caught:
        run(make_model(client_env), stream=True)
    assert isinstance(caught.value.claude_error, ApiUnavailable)
    assert "failed after it had started answering (overloaded_error" in str(caught.value)
    assert messages_sent(emulator) == 1
    # The next request is answered normally.
    assert run(make_model(client_env), stream=True) == REPLY_TEXT


def test_not_signed_in_fails_before_any_request(
    emulator: ClaudeEmulator, data_dir: Path, client_env: dict[str, str]
) -> None:
    model = make_model(client_env)  # building needs no sign-in
    with pytest.raises(ModelAPIError) as caught:
        run(model, stream=False)
    assert isinstance(caught.value.claude_error, NotSignedIn)
    assert "Not signed in to Claude" in str(caught.value)
    assert messages_sent(emulator) == 0 and token_requests(emulator) == 0


def test_an_ended_login_fails_before_any_request(
    emulator: ClaudeEmulator, data_dir: Path, client_env: dict[str, str]
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=-5, login_ends_in=-1)
    with pytest.raises(ModelAPIError) as caught:
        run(make_model(client_env), stream=True)
    assert isinstance(caught.value.claude_error, LoginRequired)
    assert "login has ended" in str(caught.value)
    assert messages_sent(emulator) == 0 and token_requests(emulator) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_token_endpoint_fails_before_any_request(
    emulator: ClaudeEmulator, data_dir: Path, client_env: dict[str, str]
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=-5)
    port = free_port()
    env = {**client_env, "CLAUDE_CODE_OAUTH_TOKEN_URL": f"http://127.0.0.1:{port}/v1/oauth/token"}
    with pytest.raises(ModelAPIError) as caught:
        run(make_model(env), stream=False)
    assert f"Could not reach the token endpoint (127.0.0.1:{port})" in str(caught.value)
    assert messages_sent(emulator) == 0


def test_an_unreachable_api_names_its_host_and_stays_a_transport_error(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    port = free_port()
    model = make_model(client_env, custom_endpoint={"url": f"http://127.0.0.1:{port}"})
    with pytest.raises(ModelAPIError) as caught:
        run(model, stream=True)
    assert isinstance(caught.value.claude_error, ApiUnreachable)
    assert str(caught.value).startswith(
        f"Connection error: could not reach Claude's API (127.0.0.1:{port}): ConnectError."
    )
    # The transport error stays chained, so a host can still see a network blip.
    assert type(caught.value.__cause__).__name__ == "ModelAPIError"


def answer_with_the_line(error: Any, original: BaseException, can_reply: bool) -> Any:
    """A host's policy: answer with the line while nothing streamed, else raise as usual."""
    return str(error) if can_reply else pydantic_error(MODEL)(error, original, False)


def test_a_host_may_answer_with_the_line_which_never_reaches_claude(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    model = make_model(client_env, on_failure=answer_with_the_line)
    emulator.inject("messages", "400_third_party")

    async def go() -> tuple[str, str]:
        agent = Agent(model)
        async with agent.run_stream("first") as refused:
            line = await refused.get_output()
            history = refused.all_messages()
        again = await agent.run("second", message_history=history)
        return line, again.output

    line, output = asyncio.run(go())
    assert line.startswith(REPLY_PREFIX + "Claude's API (") and "outside Claude Code" in line
    assert output == REPLY_TEXT
    last = [r.json for r in emulator.requests if r.path == "/v1/messages"][-1]
    sent = str(last["messages"])
    assert "first" in sent and "second" in sent and REPLY_PREFIX.strip() not in sent


def test_a_broken_stream_cannot_be_answered_so_it_is_raised(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str]
) -> None:
    model = make_model(client_env, on_failure=answer_with_the_line)
    emulator.inject("messages", "stream_error")
    with pytest.raises(ModelAPIError) as caught:
        run(model, stream=True)
    assert isinstance(caught.value.claude_error, ApiUnavailable)
    # The original failure stays chained: a host may treat it as transient.
    assert caught.value.__cause__ is not caught.value.claude_error


class _CountingProvider(TokenProvider):
    """The real provider, counting how often a request asks it for a token."""

    asked = 0

    def get_credential(self) -> Any:
        type(self).asked += 1
        return super().get_credential()


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_one_token_lookup_per_request_and_none_left_for_the_next(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_file: Path, stream: bool
) -> None:
    settings = settings_for(client_env)
    _CountingProvider.asked = 0
    model = build_model("claude-code-" + MODEL, ENTRY, settings, _CountingProvider(settings))
    asked: list[int] = []

    async def ask() -> Any:
        agent = Agent(model)
        try:
            if not stream:
                return (await agent.run("hi")).output
            async with agent.run_stream("hi") as result:
                return await result.get_output()
        finally:
            asked.append(_CountingProvider.asked)

    async def three() -> list[Any]:  # one event loop, as in Code Puppy
        first = await ask()
        emulator.inject("messages", "400_request")
        try:
            second: Any = await ask()
        except ModelHTTPError as exc:
            second = exc
        return [first, second, await ask()]

    first, second, third = asyncio.run(three())
    assert first == REPLY_TEXT and third == REPLY_TEXT
    assert isinstance(second, ModelHTTPError)
    # The pre-flight's lookup serves the request's auth too (one thread hop, not two),
    # and a refused request leaves nothing behind for the next one.
    assert asked == [1, 2, 3] and messages_sent(emulator) == 3


#: One request through our model in a child process, so its peak memory is its own.
MODEL_CHILD = """
import asyncio, os, sys
sys.path.insert(0, sys.argv[2])
from pydantic_ai import Agent
from claude_code_oauth.models.anthropic_model import build_model
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import settings_for
settings = settings_for(os.environ)
model = build_model("claude-code-m", {"name": sys.argv[3]}, settings, TokenProvider(settings))
async def go():
    agent = Agent(model)
    if sys.argv[1] == "json":
        return (await agent.run("hi")).output
    async with agent.run_stream("hi") as result:
        return await result.get_output()
try:
    asyncio.run(go())
except Exception as exc:
    print(type(exc).__name__, str(exc))
"""


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("encode", "stream", "status"),
    [(("gzip", "gzip"), False, 200), (("gzip",), True, 200), (("gzip",), False, 401)],
    ids=["gzip,gzip-json", "gzip-stream", "gzip-json-401"],
)
def test_a_compressed_bomb_on_the_model_path_is_one_line_in_bounded_memory(
    emulator: ClaudeEmulator,
    token_file: Path,
    client_env: dict[str, str],
    encode: tuple[str, ...],
    stream: bool,
    status: int,
) -> None:
    """The anthropic SDK's own HTTP client decodes through the same bounds (its
    response hook), for the bodies the SDK reads and the 401 our auth flow reads."""
    import sys

    from claude_code_oauth.testing.hostile_proxy import HostileProxy
    from claude_code_oauth.testing.peak_memory import run_measured

    tests = str(Path(__file__).parents[1])
    with HostileProxy(emulator.base_url) as proxy:
        proxy.add_rule("/v1/messages", encode=encode, inflate_by=2 << 30, status=status, times=None)
        done, peak = run_measured(
            [sys.executable, "-c", MODEL_CHILD, "stream" if stream else "json", tests, MODEL],
            proxy.env(client_env),
            timeout=300,
        )
        (sent,) = proxy.requests_to("/v1/messages")[:1]
    said = "encoded 2 times over" if len(encode) == 2 else "larger than"
    assert said in done.stdout and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert done.stdout.startswith(("ClaudeModelAPIError", "ClaudeModelHTTPError"))
    assert peak < 300 << 20, peak
    assert sent.request.headers.get("accept-encoding") == "identity"


def test_out_of_credits_is_not_retried_even_without_the_unified_headers(
    emulator: ClaudeEmulator, token_file: Path, client_env: dict[str, str], proxy: Any
) -> None:
    """Nothing clears credits_required by itself: the body's code alone stops the SDK's
    retries (a plain 429 without it would be retried)."""
    error = {
        "type": "rate_limit_error",
        "message": "You're out of extra usage.",
        "details": {"error_code": "credits_required", "error_visibility": "user_facing"},
    }
    body = json.dumps({"type": "error", "error": error}).encode()
    proxy.add_rule("/v1/messages", times=3, forward=False, status=429, body=body)
    with pytest.raises(ModelHTTPError) as caught:
        run(make_model(proxy.env(client_env)), stream=False)
    assert isinstance(caught.value.claude_error, CreditsRequired)
    assert len(proxy.requests_to("/v1/messages")) == 1
