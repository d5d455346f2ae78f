"""login.sign_in_page: a sign-in page that moved is named; any other answer is not."""

from __future__ import annotations

from claude_code_oauth.config import Settings
from claude_code_oauth.login.sign_in_page import sign_in_page_moved
from claude_code_oauth.testing.emulator.control import ClaudeEmulator


def test_a_404_is_named_with_its_variable(emulator: ClaudeEmulator, settings: Settings) -> None:
    assert sign_in_page_moved(settings) is None  # the emulator's page is there
    emulator.inject("authorize", "404")
    line = sign_in_page_moved(settings)
    assert line is not None and "answered HTTP 404: it has probably moved" in line
    assert "CLAUDE_CODE_OAUTH_AUTH_URL" in line


def test_a_cloudflare_challenge_or_no_answer_is_not_a_move(
    emulator: ClaudeEmulator, settings: Settings
) -> None:
    emulator.inject("authorize", "html403")
    assert sign_in_page_moved(settings) is None
    gone = Settings(
        environ={**settings._environ, "CLAUDE_CODE_OAUTH_AUTH_URL": "http://127.0.0.1:9/x"}
    )
    assert sign_in_page_moved(gone) is None  # never raises
