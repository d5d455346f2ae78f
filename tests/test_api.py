"""The public API (claude_code_oauth.api) against the emulator, in this process: the
documentation's example runs as written, the SDK's clients and the httpx auth send the
sign-in the profile has (an OAuth token, or a Console key), with our User-Agent."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from claude_code_oauth import USER_AGENT, api
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers.cli import run_cli
from helpers.tokens import seed

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "python-api.md"


def python_example(path: Path) -> str:
    """The first ``python`` code block of ``path``."""
    found = re.search(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
    assert found is not None, path
    return found.group(1)


@pytest.fixture
def signed_in(emulator: ClaudeEmulator, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This process's configuration points at the emulator, with a login in ``data_dir``."""
    for name, value in emulator.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CLAUDE_CODE_OAUTH_PROFILE", raising=False)
    path = data_dir / "claude_code_oauth.json"
    seed(emulator, path, expires_in=3600)
    return path


def messages(emulator: ClaudeEmulator) -> list[dict[str, object]]:
    """Facts about each Messages request (never a header's value but the User-Agent)."""
    return [
        {
            "bearer": r.headers.get("authorization", "").startswith("Bearer sk-ant-oat01-"),
            "api_key": emulator.api_key_created(r.headers.get("x-api-key", "")),
            "oauth_beta": "oauth-2025-04-20" in r.betas,
            "user_agent": r.headers.get("user-agent"),
        }
        for r in emulator.requests
        if r.path == "/v1/messages"
    ]


OAUTH = {"bearer": True, "api_key": False, "oauth_beta": True, "user_agent": USER_AGENT}


def test_the_documented_example_runs_as_written(
    signed_in: Path, emulator: ClaudeEmulator, capsys: pytest.CaptureFixture[str]
) -> None:
    exec(compile(python_example(PAGE), str(PAGE), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[0]
    assert printed[1].startswith("{") and "five_hour" in printed[1]
    assert messages(emulator) == [OAUTH]


def test_the_readme_example_runs_as_written(signed_in: Path, emulator: ClaudeEmulator) -> None:
    namespace: dict[str, object] = {}
    exec(compile(python_example(ROOT / "README.md"), "README.md", "exec"), namespace)
    assert type(namespace["reply"]).__name__ == "Message"
    assert messages(emulator) == [OAUTH]


def test_the_async_client_signs_the_same_way(signed_in: Path, emulator: ClaudeEmulator) -> None:
    async def ask() -> str:
        client = api.async_anthropic_client()
        reply = await client.messages.create(
            model="claude-haiku-4-5-20251001",
            max_tokens=8,
            messages=[{"role": "user", "content": "Hi"}],
        )
        await client.close()
        return reply.model

    assert asyncio.run(ask()) == "claude-haiku-4-5-20251001"
    assert messages(emulator) == [OAUTH]


def test_an_httpx_client_with_the_auth_and_a_named_refusal(
    signed_in: Path, emulator: ClaudeEmulator
) -> None:
    emulator.inject("messages", "429_limit", window="five_hour", reset_in=600)
    with httpx.Client(auth=api.auth()) as client:
        response = client.post(
            api.settings().api_base_url + "/v1/messages",
            json={"model": "claude-haiku-4-5-20251001", "max_tokens": 8, "messages": []},
        )
    with pytest.raises(api.UsageLimitReached) as caught:
        api.raise_for_answer(response)
    assert caught.value.window == "five_hour"
    assert messages(emulator)[0]["bearer"] is True


def test_the_credential_is_the_stored_token(signed_in: Path) -> None:
    from claude_code_oauth.tokens import store

    record = store.load(str(signed_in))
    assert record is not None
    same = api.credential() == record.access_token  # compared, never shown
    assert same


def test_not_signed_in_is_one_named_line(signed_in: Path) -> None:
    signed_in.unlink()
    with pytest.raises(api.NotSignedIn) as caught:
        api.credential()
    assert "\n" not in str(caught.value) and "claude-code-oauth login" in str(caught.value)


@pytest.mark.subprocess
def test_a_console_sign_in_sends_its_key(
    signed_in: Path,
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    scripted_browser: str,
) -> None:
    signed_in.unlink()
    done = run_cli({**client_env, "BROWSER": scripted_browser}, "login", "--console")
    assert done.returncode == 0, done.stderr
    reply = api.anthropic_client().messages.create(
        model="claude-haiku-4-5-20251001",
        max_tokens=8,
        messages=[{"role": "user", "content": "Hi"}],
    )
    assert reply.model == "claude-haiku-4-5-20251001"
    assert messages(emulator) == [
        {"bearer": False, "api_key": True, "oauth_beta": False, "user_agent": USER_AGENT}
    ]
    assert emulator.api_key_created(api.credential())
