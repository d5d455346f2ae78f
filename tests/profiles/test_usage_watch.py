"""Usage of a profile-following model is filed under the profile that sent each request."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from claude_code_oauth.account.extra_usage_guard import WARNING
from claude_code_oauth.account.usage_capture import capture_for
from claude_code_oauth.config import Settings
from claude_code_oauth.profiles.active import write_active_profile
from claude_code_oauth.profiles.token_source import ProfileTokenSource
from claude_code_oauth.profiles.usage_watch import ProfileUsageWatch
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.provider import provider_for
from helpers.tokens import seed


@pytest.fixture
def two(emulator: ClaudeEmulator, settings: Settings) -> Settings:
    for name in ("default", "work"):
        seed(emulator, settings.with_profile(name).token_path, expires_in=3600)
    write_active_profile(settings, "default")
    return settings


def _ask(emulator: ClaudeEmulator, settings: Settings, token: str) -> httpx.Response:
    return httpx.post(
        emulator.base_url + "/v1/messages",
        headers={
            "authorization": f"Bearer {token}",
            "anthropic-beta": settings.anthropic_beta,
            "anthropic-version": settings.anthropic_version,
        },
        json={
            "model": "claude-haiku-4-5-20251001",
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "hi"}],
        },
        timeout=10,
    )


def test_an_answer_is_filed_under_the_profile_that_sent_the_request_despite_a_switch(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(two)
    warnings: list[str] = []
    watch = ProfileUsageWatch(source, warnings.append)
    token = source.get_access_token()  # issued by the active profile, default
    write_active_profile(two, "work")  # the user switches while the request is out
    response = _ask(emulator, two, token)
    assert response.status_code == 200
    watch(response)
    default_capture = capture_for(two.with_profile("default"))
    assert default_capture.flush(10)
    assert os.path.exists(default_capture.path)
    with open(default_capture.path) as handle:
        assert "five_hour" in json.dumps(json.load(handle))
    assert not os.path.exists(capture_for(two.with_profile("work")).path)
    # The guard asked before the next request is the profile that will serve it.
    assert source.settings().profile == "work"
    watch.check()  # nothing recorded for work: sends


def test_an_answer_this_source_did_not_sign_is_filed_under_the_active_profile(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    source = ProfileTokenSource(two)
    watch = ProfileUsageWatch(source, [].append)
    write_active_profile(two, "work")
    # A token this source never handed out, and a request with no bearer at all (an API
    # key goes in x-api-key): neither names a profile, so the active one is charged.
    foreign = provider_for(two.with_profile("default")).get_access_token()
    unsigned = _ask(emulator, two, foreign)
    del unsigned.request.headers["authorization"]
    for response in (_ask(emulator, two, foreign), unsigned):
        assert response.status_code == 200
        watch(response)
    work_capture = capture_for(two.with_profile("work"))
    assert work_capture.flush(10)
    assert os.path.exists(work_capture.path)
    assert not os.path.exists(capture_for(two.with_profile("default")).path)


def test_the_first_answer_billed_as_extra_usage_warns_where_the_host_shows_warnings(
    emulator: ClaudeEmulator, two: Settings
) -> None:
    emulator.configure_usage(extra_usage=True, bill_all_as_extra=True)
    source = ProfileTokenSource(two)
    warnings: list[str] = []
    watch = ProfileUsageWatch(source, warnings.append)
    watch(_ask(emulator, two, source.get_access_token()))
    assert capture_for(two.with_profile("default")).flush(10)
    assert warnings == [WARNING]
