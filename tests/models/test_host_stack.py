"""Whether this Python's anthropic SDK and pydantic-ai can serve our models together.

The real pairings are tested in real Code Puppy installs: the newest and the oldest
(``tests/hosts/code_puppy/test_doctor_in_code_puppy.py``: they work together) and a
release whose fresh install cannot (``test_host_stack_in_puppy.py``). Here: the probe
on this environment's real libraries, and — with a failure handed in — what the
user is told and what our model does with it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai.exceptions import ModelAPIError

from claude_code_oauth.errors import HostStackMismatch
from claude_code_oauth.models import anthropic_model, host_stack
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX, build_model, pydantic_error
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.tokens import settings_for


@pytest.fixture
def fresh_check() -> Any:
    """``check()`` as if this process had not asked yet (and forgotten again after)."""
    host_stack.check.cache_clear()
    yield host_stack.check
    host_stack.check.cache_clear()


def run(model: Any, *, stream: bool) -> Any:
    async def go() -> Any:
        agent = Agent(model)
        if not stream:
            return (await agent.run("hi")).output
        async with agent.run_stream("hi") as result:
            return await result.get_output()

    return asyncio.run(go())


def test_this_environments_libraries_work_together_checked_once_in_memory(
    fresh_check: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        connects.append(address)
        raise OSError("the probe must not open a connection")

    monkeypatch.setattr(socket.socket, "connect", connect)
    stack = fresh_check()
    assert stack.cause is None and stack.fix is None and stack.problem is None, stack
    assert stack.anthropic == metadata.version("anthropic")
    assert stack.pydantic_ai == metadata.version("pydantic-ai-slim")
    http = host_stack.sdk_http().__name__
    assert stack.http == f"{http} {metadata.version(http)}"
    assert stack.describe() == (
        f"anthropic {stack.anthropic} (on {stack.http}), pydantic-ai-slim {stack.pydantic_ai}"
    )
    assert connects == []
    assert fresh_check() is stack  # once per process


def test_a_failed_probe_names_the_versions_the_cause_and_the_fix(
    fresh_check: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        host_stack, "_run_probe", lambda: TypeError("Cannot instantiate typing.Union\nmore")
    )
    stack = fresh_check()
    sdk, pydantic_ai = metadata.version("anthropic"), metadata.version("pydantic-ai-slim")
    assert stack.cause == "TypeError: Cannot instantiate typing.Union"
    assert stack.problem == f"pydantic-ai-slim {pydantic_ai} cannot drive anthropic {sdk}"
    # This pydantic-ai is built on httpx2: the SDK line below the installed major, at most 1.x.
    major = int(sdk.split(".")[0])
    assert stack.fix == f"{sys.executable} -m pip install 'anthropic<{max(2, major)}'"
    error = host_stack.mismatch()
    assert isinstance(error, HostStackMismatch)
    assert str(error) == (
        f"This Python's pydantic-ai-slim {pydantic_ai} cannot drive anthropic {sdk}, so no "
        f"Anthropic model can run here. Fix: `{stack.fix}`, then restart Code Puppy."
    )


@pytest.mark.parametrize(
    ("sdk", "pydantic_http", "constraint"),
    [
        ("2.17.0", "httpx", "anthropic<1"),  # pydantic-ai-slim 2.31 (Code Puppy 0.0.721–0.0.749)
        ("1.17.0", "httpx", "anthropic<1"),  # 2.31 cannot drive 1.x either (measured)
        ("2.17.0", "httpx2", "anthropic<2"),  # pydantic-ai-slim 2.51 with anthropic 2.x
        ("3.0.1", "httpx2", "anthropic<3"),
        (None, "httpx2", "anthropic<2"),  # pydantic-ai without the SDK
        (None, None, "anthropic<2"),
    ],
)
def test_the_fix_is_the_sdk_line_pydantic_ai_is_written_for(
    sdk: str | None, pydantic_http: str | None, constraint: str
) -> None:
    assert host_stack.fix_constraint(sdk, pydantic_http) == constraint


def test_the_command_installs_into_this_pythons_environment(tmp_path: Path) -> None:
    python = "/opt/code puppy/bin/python"
    pip_env = tmp_path / "pip"
    pip_env.mkdir()
    (pip_env / "pyvenv.cfg").write_text("home = /usr/bin\ninclude-system-site-packages = false\n")
    assert (
        host_stack.install_command("anthropic<1", python, str(pip_env))
        == "'/opt/code puppy/bin/python' -m pip install 'anthropic<1'"
    )
    uv_env = tmp_path / "uv"
    uv_env.mkdir()
    (uv_env / "pyvenv.cfg").write_text("home = /usr/bin\nuv = 0.9.2\n")
    assert (
        host_stack.install_command("anthropic<1", python, str(uv_env))
        == "uv pip install --python '/opt/code puppy/bin/python' 'anthropic<1'"
    )
    # pipx (with uv as its backend or not): its environments have no pip.
    pipx_env = tmp_path / "pipx"
    pipx_env.mkdir()
    (pipx_env / "pyvenv.cfg").write_text("home = /usr/bin\nuv = 0.13.9\n")
    (pipx_env / "pipx_metadata.json").write_text(
        '{"main_package": {"package": "code-puppy", "package_or_url": "code-puppy"}}'
    )
    assert (
        host_stack.install_command("anthropic<1", python, str(pipx_env))
        == "pipx inject --force code-puppy 'anthropic<1'"
    )
    (pipx_env / "pipx_metadata.json").write_text('{"main_package": {"package": "x; rm -rf ~"}}')
    assert host_stack.install_command("anthropic<1", python, str(pipx_env)).startswith("uv pip")
    # No pyvenv.cfg at all (a system Python): pip.
    assert host_stack.install_command("anthropic<1", "/usr/bin/python3", str(tmp_path)) == (
        "/usr/bin/python3 -m pip install 'anthropic<1'"
    )


ERROR = HostStackMismatch(
    "This Python's pydantic-ai-slim 2.31.0 cannot drive anthropic 2.17.0, so no "
    "Anthropic model can run here.",
    hint="Fix: `python -m pip install 'anthropic<1'`, then restart Code Puppy.",
)


@pytest.mark.parametrize("stream", [False, True])
def test_an_unusable_model_answers_with_the_line_when_the_host_says_so(stream: bool) -> None:
    asked: list[tuple[Any, Any, bool]] = []

    def on_failure(error: Any, original: Any, can_reply: bool) -> str:
        asked.append((error, original, can_reply))
        return str(error)

    model = host_stack.unusable_model("claude-x", ERROR, on_failure)
    assert run(model, stream=stream) == REPLY_PREFIX + str(ERROR)
    assert asked == [(ERROR, ERROR, True)]


@pytest.mark.parametrize("stream", [False, True])
def test_an_unusable_model_raises_pydantic_ais_error_by_default(stream: bool) -> None:
    model = host_stack.unusable_model("claude-x", ERROR, pydantic_error("claude-x"))
    with pytest.raises(ModelAPIError) as raised:
        run(model, stream=stream)
    assert str(raised.value.message) == str(ERROR)
    assert raised.value.claude_error is ERROR


def test_build_model_in_a_python_that_cannot_serve_sends_nothing(
    emulator: ClaudeEmulator, client_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(anthropic_model, "mismatch", lambda: ERROR)
    settings = settings_for(client_env)
    model = build_model(
        "claude-code-claude-haiku-4-5-20251001",
        {"name": "claude-haiku-4-5-20251001"},
        settings,
        TokenProvider(settings),
        on_failure=lambda error, original, can_reply: str(error),
    )
    assert run(model, stream=True) == REPLY_PREFIX + str(ERROR)
    assert not [r for r in emulator.requests if r.path == "/v1/messages"]
