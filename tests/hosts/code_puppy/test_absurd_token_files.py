"""/claude-code-status inside a real Code Puppy with an absurd or hand-edited token file.

Additive to ``test_plugin.py``: the core (:mod:`claude_code_oauth.account.status`)
must turn whatever the file holds into one clear line, never an exception that
reaches Code Puppy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.tokens import seed

#: name -> (how to change the stored text, the one line that must say so)
FILES = {
    "NaN expiry (written by an older version)": (
        lambda text: text.replace('"expires_at": ', '"expires_at": NaN, "was_expires_at": ', 1),
        "Note: The token file held unusable values (expires_at)",
    ),
    "a 400-digit login deadline": (
        lambda text: text.replace(
            '"refresh_token_expires_at": ',
            '"refresh_token_expires_at": ' + "9" * 400 + ', "was_refresh_token_expires_at": ',
            1,
        ),
        "Note: The token file held unusable values (refresh_token_expires_at)",
    ),
    "a 5000-digit expiry": (
        lambda text: '{"access_token": "x", "expires_at": ' + "9" * 5000 + "}",
        "Problem: The token file",
    ),
}


@pytest.mark.parametrize(("change", "line"), FILES.values(), ids=FILES.keys())
def test_status_in_code_puppy_is_one_clear_line_for_an_absurd_token_file(
    tmp_path: Path,
    emulator: ClaudeEmulator,
    change,
    line: str,
) -> None:
    home = Path(driver.make_home(str(tmp_path)))
    path = home / ".code_puppy" / "claude_code_oauth.json"
    seed(emulator, path, expires_in=3600, login_ends_in=20 * 86400)
    path.write_text(change(path.read_text()))
    t = driver.run_driver(
        [{"op": "load"}, {"op": "cmd", "text": "/claude-code-status"}],
        driver.puppy_env(str(home), emulator.env(), browser=None),
    )
    data = t.data(1)
    assert data["returned"] is True and data["raised"] is None, data
    said = [text for kind, text in t.messages(1) if text.startswith(line)]
    assert len(said) == 1, t.messages(1)
    assert "Traceback" not in t.stderr and "Traceback" not in t.texts(1)
    assert "sk-ant-" not in t.texts(1)
