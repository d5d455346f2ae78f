"""``/claude-code-storage`` inside a real Code Puppy (tests/helpers/puppy_driver.py), against
the private gnome-keyring: it runs the same use case as ``storage --to`` (both ways, no
token in any file after the move to the keyring, no item after the move back), and says
where each profile's credentials live without an argument."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import StoreOpener
from helpers import puppy_driver as driver
from helpers.tokens import assert_same_secret, seed

CALM_TIMEOUT = 30.0


def _cmd(text: str) -> dict[str, str]:
    return {"op": "cmd", "text": text}


def test_storage_moves_the_sign_in_both_ways_inside_code_puppy(
    tmp_path: Path,
    emulator: ClaudeEmulator,
    keyring_env: dict[str, str],
    profile: str,
    secret_service: SecretServiceStore,
) -> None:
    home = driver.make_home(str(tmp_path))
    data_dir = Path(home) / ".code_puppy"
    path = data_dir / f"claude_code_oauth.{profile}.json"
    record = seed(emulator, path, expires_in=3600)
    secrets = [s.encode() for s in (record.access_token, record.refresh_token) if s]
    env = driver.puppy_env(home, emulator.env(), browser=None)
    env["DBUS_SESSION_BUS_ADDRESS"] = keyring_env["DBUS_SESSION_BUS_ADDRESS"]
    seen: dict[str, Any] = {}

    def in_the_keyring(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            seen["files"] = [
                p.name
                for p in sorted(data_dir.rglob("*"))
                if p.is_file() and any(s in p.read_bytes() for s in secrets)
            ]
            seen["item"] = secret_service.get(profile) is not None
            stores = StoreOpener(timeout=CALM_TIMEOUT, environ=keyring_env)
            loaded = token_store.load(str(path), stores=stores)
            seen["access_token"] = loaded.access_token if loaded else None
            send("go")

    t = driver.run_driver(
        [
            {"op": "load"},
            _cmd("/claude-code-storage"),  # 1
            _cmd(f"/claude-code-storage keyring --profile {profile}"),  # 2
            {"op": "wait", "label": "moved"},  # 3
            _cmd(f"/claude-code-storage --profile {profile}"),  # 4
            _cmd(f"/claude-code-storage file --profile {profile}"),  # 5
            _cmd("/claude-code-storage elsewhere"),  # 6
            _cmd("/claude-code-storage keyring --profile nobody"),  # 7
            _cmd("/claude-code-storage --help"),  # 8
        ],
        env,
        on_event=in_the_keyring,
        timeout=120,
    )
    for step in range(1, 9):
        if step != 3:
            assert t.data(step)["raised"] is None, (step, t.data(step))
            assert "sk-ant-" not in t.texts(step)
    assert ("info", f"{profile}: in its token file {path} (mode 0600)") in t.messages(1)
    assert ("info", "Move them with /claude-code-storage keyring (or file).") in t.messages(1)
    assert (
        "success",
        f"Moved profile {profile}'s credentials to the Secret Service (item {profile}): its "
        f"token file {path} no longer holds any secret.",
    ) in t.messages(2)
    assert "set CLAUDE_CODE_OAUTH_STORAGE=keyring" in t.texts(2)
    # While moved: no token in any file under Code Puppy's data directory; the item holds it.
    assert seen["files"] == [] and seen["item"] is True
    assert_same_secret(seen["access_token"], record.access_token, "the access token")
    assert t.texts(4).startswith(f"{profile}: in the Secret Service (item {profile})")

    assert (
        "success",
        f"Moved profile {profile}'s credentials to its token file {path} (mode 0600).",
    ) in t.messages(5)
    assert secret_service.get(profile) is None
    loaded = token_store.load(str(path))  # the file alone again
    assert loaded is not None
    assert_same_secret(loaded.access_token, record.access_token, "the access token")

    assert "invalid choice: 'elsewhere'" in t.texts(6)
    (level, line) = t.messages(7)[-1]
    assert level == "error" and "Profile nobody is not signed in" in line
    help_text = " ".join(t.texts(8).split())
    assert "--all-profiles" in help_text and "keyring" in help_text
