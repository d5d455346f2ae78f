"""Inside a real Code Puppy, a data directory on a read-only filesystem: every command
that must write says so in one line naming the path and the cause — no traceback,
no "could not be reached" — and nothing is spent at the token endpoint."""

from __future__ import annotations

from pathlib import Path

from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.machine_faults import remount, tmpfs
from helpers.tokens import seed

COMMANDS = [
    "/claude-code-usage --refresh",
    "/claude-code-logout",
    "/claude-code-switch default",
    "/claude-code-auth --no-browser --timeout 5",
]


def test_a_read_only_data_dir_is_one_line_per_command_in_code_puppy(
    tmp_path: Path, emulator: ClaudeEmulator
) -> None:
    home = Path(driver.make_home(str(tmp_path)))
    with tmpfs("1m") as disk:
        data = disk / "data"
        data.mkdir(mode=0o700)
        seed(emulator, data / "claude_code_oauth.json", expires_in=-10)
        (data / "claude_code_oauth.json.lock").touch(mode=0o600)
        env = driver.puppy_env(str(home), emulator.env(), browser=None)
        env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data)
        remount(disk, read_only=True)
        try:
            steps = [{"op": "load"}] + [{"op": "cmd", "text": text} for text in COMMANDS]
            steps.append({"op": "cmd", "text": "/claude-code-doctor"})
            t = driver.run_driver(steps, env)
        finally:
            remount(disk, read_only=False)
    assert "Traceback" not in t.stderr
    for step, text in enumerate(COMMANDS, start=1):
        data_of = t.data(step)
        assert data_of["returned"] is True and data_of["raised"] is None, (text, data_of)
        errors = [said for kind, said in t.messages(step) if kind == "error"]
        assert len(errors) == 1, (text, t.messages(step))
        assert "Read-only file system" in errors[0] and str(data) in errors[0], (text, errors)
        assert "Traceback" not in t.texts(step) and "could not be reached" not in t.texts(step)
    doctor = t.texts(len(COMMANDS) + 1)
    assert "✗ Data directory and token file" in doctor and "Read-only file system" in doctor
    assert "could not be reached" not in doctor and "Traceback" not in doctor
    assert emulator.grants["refresh_token"] == 0
