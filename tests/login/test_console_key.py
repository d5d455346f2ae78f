"""create_api_key against the emulator over real HTTP: the key, and one line for each failure."""

from __future__ import annotations

import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import ApiKeyCreationError, ApiKeyNotPermitted
from claude_code_oauth.login.console_key import create_api_key
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens.api_key import ApiKeyRecord

CREATE = "/api/oauth/claude_cli/create_api_key"


def _login(emulator: ClaudeEmulator, **kwargs: object) -> dict:
    return emulator.issue_login(console=True, **kwargs)


def test_a_console_login_creates_a_key_with_its_access_token(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    login = _login(emulator)
    record = create_api_key(settings, login["access_token"], login, now=1234.5)
    assert isinstance(record, ApiKeyRecord)
    assert emulator.api_key_created(record.api_key)
    (listed,) = emulator.api_keys
    assert record.key_name == listed["name"] and record.key_id == listed["id"]
    assert record.created_at is not None and record.created_at > 1_700_000_000
    assert record.obtained_at == 1234.5
    assert record.organization_name == "Emulated Organization"
    assert record.email == "emulated.user@example.com"
    (request,) = [r for r in emulator.requests if r.path == CREATE]
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {login['access_token']}"
    assert request.headers["user-agent"] == USER_AGENT
    assert "x-api-key" not in request.headers


def _refused(emulator: ClaudeEmulator, settings: Settings, login: dict) -> ApiKeyCreationError:
    with pytest.raises(ApiKeyCreationError) as caught:
        create_api_key(settings, login["access_token"], login)
    text = str(caught.value)
    assert "\n" not in text and login["access_token"] not in text
    assert "Traceback" not in text
    assert emulator.api_keys == [] or all(k["requests"] == 0 for k in emulator.api_keys)
    return caught.value


def test_no_permission_in_the_organization(emulator: ClaudeEmulator, settings: Settings) -> None:
    emulator.deny_api_keys("emulated.user@example.com")
    error = _refused(emulator, settings, _login(emulator))
    assert isinstance(error, ApiKeyNotPermitted)
    assert str(error).startswith(
        f"Claude's API ({emulator.base_url.removeprefix('http://')}) refused to create an API "
        "key (HTTP 403 permission_error: You do not have permission to create API keys in "
        "this organization."
    )
    assert "may not create API keys in the organization 'Emulated Organization'" in str(error)
    assert "Ask an admin of the organization" in str(error)
    assert emulator.api_keys == []


def test_a_subscription_login_is_refused_the_same_way(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    login = emulator.issue_login()
    error = _refused(emulator, settings, login)
    assert isinstance(error, ApiKeyNotPermitted)
    assert "only be created with a Console login" in str(error)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("500", "failed (HTTP 500 api_error: Internal server error); try again shortly."),
        ("502_html", 'answered HTTP 502 with an HTML page "502 Bad Gateway"'),
        ("html403", 'answered HTTP 403 with an HTML page "Just a moment..." (a Cloudflare'),
        ("401", "rejected the sign-in (HTTP 401 authentication_error: Invalid bearer token)"),
        ("429", "HTTP 429, not a usage limit"),
        ("invalid_json", "answered HTTP 200 with a body that is not a JSON object."),
        ("no_raw_key", "answered HTTP 200 without an API key: the answer has no raw_key."),
        ("bad_raw_key", "without an API key: its raw_key is not a plausible API key."),
    ],
)
def test_each_failure_is_one_line_naming_it(
    emulator: ClaudeEmulator, settings: Settings, fault: str, expected: str
) -> None:
    emulator.inject("create_api_key", fault)
    error = _refused(emulator, settings, _login(emulator))
    assert not isinstance(error, ApiKeyNotPermitted)
    assert str(error).startswith("Could not create an API key for this Console sign-in: ")
    assert expected in str(error)
    assert str(error).endswith(
        "Nothing was saved (the profile's previous sign-in, if any, is unchanged); "
        "run the Console sign-in again to retry."
    )


def test_no_answer_within_the_deadline_and_no_server(
    emulator: ClaudeEmulator, settings: Settings, data_dir
) -> None:
    login = _login(emulator)
    emulator.inject("create_api_key", "slow", delay=3)
    quick = Settings(environ={**dict(settings._environ), "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "0.5"})
    error = _refused(emulator, quick, login)
    assert "did not answer within 0.5 s" in str(error)
    gone = Settings(
        environ={**dict(settings._environ), "CLAUDE_CODE_OAUTH_API_BASE_URL": "http://127.0.0.1:9"}
    )
    error = _refused(emulator, gone, login)
    assert "(127.0.0.1:9) could not be reached: ConnectError." in str(error)
