"""A sign-in whose secrets live in the OS keyring, inside a real Code Puppy.

``storage = keyring`` (``CLAUDE_CODE_OAUTH_STORAGE=keyring``) with a real gnome-keyring on
a private session bus (``testing/private_keyring.py``): ``/claude-code-auth`` in Code
Puppy saves the secrets in the profile's Secret Service item, requests carry the token
read from it, a refresh during the session (the emulator expires the access tokens)
writes the item again, and at no point does any file under Code Puppy's home hold a
token. With the keyring gone (its bus closed) a request is one line naming the keyring,
and Code Puppy keeps going. Tokens are compared by short hashes only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.models.anthropic_model import REPLY_PREFIX
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import register_models
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost
from helpers.tokens import seed_in_keyring

pytestmark = pytest.mark.keyring

HAIKU = "claude-code-claude-haiku-4-5-20251001"
SONNET = "claude-code-claude-sonnet-4-5-20250929"


def _files_holding_a_token(root: Path) -> list[str]:
    """Files under ``root`` holding a token-shaped string or any secret the emulator
    issued in this process (names only)."""
    secrets = [s.encode() for s in list(ISSUED_SECRETS) if len(s) >= 16]
    held = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            raw = path.read_bytes()
            if b"sk-ant-" in raw or any(secret in raw for secret in secrets):
                held.append(str(path.relative_to(root)))
    return held


def _item_hash(store: SecretServiceStore, profile: str) -> str | None:
    """The short hash of the access token in ``profile``'s item (``None``: no item)."""
    raw = store.get(profile)
    if raw is None:
        return None
    return driver.short_hash(json.loads(raw)["access_token"])


def _keyring_env(
    home: str, emulator: ClaudeEmulator, bus: str, browser: str | None
) -> dict[str, str]:
    env = driver.puppy_env(home, emulator.env(), browser=browser)
    env["DBUS_SESSION_BUS_ADDRESS"] = bus
    env["CLAUDE_CODE_OAUTH_STORAGE"] = "keyring"
    return env


def test_a_keyring_sign_in_in_code_puppy_serves_requests_and_refreshes_into_the_item(
    puppy: PuppyHost,
    tmp_path: Path,
    emulator: ClaudeEmulator,
    scripted_browser: str,
    private_keyring: PrivateKeyring,
) -> None:
    """Uses the default profile's item in this test session's private keyring (a sign-in
    replaces it whole, whatever an earlier test left there)."""
    bus = private_keyring.env["DBUS_SESSION_BUS_ADDRESS"]
    store = SecretServiceStore(environ={"DBUS_SESSION_BUS_ADDRESS": bus}, timeout=30)
    home = driver.make_home(str(tmp_path))
    token_file = Path(home, ".code_puppy", "claude_code_oauth.json")
    seen: dict[str, Any] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            label = event["label"]
            seen[label] = {
                "files": _files_holding_a_token(Path(home)),
                "item": _item_hash(store, "default"),
                # Only the member naming the item: never the file's other values.
                "where": json.loads(token_file.read_text()).get("secrets"),
                "refreshes": emulator.grants["refresh_token"],
            }
            if label == "expire":
                emulator.expire_access_tokens()
            send("go")

    t = puppy.run(
        [
            {"op": "load"},
            {"op": "cmd", "text": "/claude-code-auth"},
            {"op": "env_token"},  # 2
            {"op": "prompt", "model": HAIKU, "prompt": "hello"},
            {"op": "wait", "label": "expire"},  # 4
            {"op": "prompt", "model": HAIKU, "prompt": "after expiry"},
            {"op": "env_token"},  # 6
            {"op": "agent_run", "model": SONNET},
            {"op": "wait", "label": "end"},  # 8
        ],
        _keyring_env(home, emulator, bus, scripted_browser),
        on_event=on_event,
        timeout=120,
    )
    assert any(text.startswith("Signed in as ") for _, text in t.messages(1)), t.messages(1)
    first = t.data(2)
    assert first["present"] and first["equals_stored"], first

    # Signed in: the secrets are in the item, the file names it and holds none.
    signed_in = seen["expire"]
    assert signed_in["item"] == first["hash"]
    assert signed_in["where"] == {
        "store": "secret-service",
        "item": "default",
        "generation": 1,
    }
    assert signed_in["files"] == []
    assert t.data(3)["ended"] == "answered" and t.data(3)["output"] == REPLY_TEXT, t.data(3)

    # The access token expired at Claude: 401, one refresh, written to the item, answered.
    assert t.data(5)["ended"] == "answered" and t.data(5)["output"] == REPLY_TEXT, t.data(5)
    after = seen["end"]
    assert after["refreshes"] == signed_in["refreshes"] + 1 == 1
    second = t.data(6)
    assert second["equals_stored"] and second["hash"] != first["hash"]
    assert after["item"] == second["hash"]
    assert after["where"] == {"store": "secret-service", "item": "default", "generation": 2}
    assert t.data(7).get("output") == REPLY_TEXT, t.data(7)

    # No token in any file, before or after the refresh.
    assert after["files"] == []
    assert _files_holding_a_token(Path(home)) == []
    assert "Traceback" not in t.stderr


@pytest.fixture
def own_keyring() -> Iterator[PrivateKeyring]:
    """A private keyring of this test alone (the test closes its bus)."""
    with PrivateKeyring() as keyring:
        yield keyring


def test_with_the_keyring_gone_a_request_in_code_puppy_is_one_line_naming_it(
    puppy: PuppyHost, tmp_path: Path, emulator: ClaudeEmulator, own_keyring: PrivateKeyring
) -> None:
    """The keyring's bus closes during a session: the token already read is still good
    and the token file unchanged, so requests go on with no keyring call. A new session
    without it: each request (which must read the item) is one line naming the keyring,
    no request reaches Claude, nothing is spent, and Code Puppy goes on."""
    home = driver.make_home(str(tmp_path))
    settings = Settings(environ={"HOME": home, **emulator.env()})
    register_models(settings, [DiscoveredModel(HAIKU[len("claude-code-") :], "Haiku", None, None)])
    bus = own_keyring.env["DBUS_SESSION_BUS_ADDRESS"]
    bus_env = {"DBUS_SESSION_BUS_ADDRESS": bus}
    seed_in_keyring(emulator, settings.token_path, bus_env, "default", expires_in=3600)
    marks: dict[str, int] = {}

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            marks["answered"] = _message_count(emulator)
            own_keyring.stop()  # the daemon and its bus gone: the address names no socket
            send("go")

    steps = [
        {"op": "load"},
        {"op": "prompt", "model": HAIKU, "prompt": "hello"},  # 1
        {"op": "wait", "label": "close the bus"},
        {"op": "prompt", "model": HAIKU, "prompt": "after the bus closed"},  # 3
        {"op": "cmd", "text": "/claude-code-status"},
        {"op": "prompt", "model": HAIKU, "prompt": "again"},  # 5
    ]
    t = puppy.run(steps, _keyring_env(home, emulator, bus, None), on_event=on_event, timeout=120)
    assert t.data(1)["ended"] == "answered" and t.data(1)["output"] == REPLY_TEXT, t.data(1)
    assert marks["answered"] == 1
    for step in (3, 5):  # the token read before the bus closed serves them
        assert t.data(step)["ended"] == "answered", t.data(step)
    assert t.data(4)["returned"] is True and t.data(4)["raised"] is None, t.data(4)
    assert _message_count(emulator) == 3
    assert emulator.grants["refresh_token"] == 0

    # A new Code Puppy with the keyring still gone: one line, from the first request.
    later = puppy.run(
        [steps[0], steps[1], steps[4], steps[5]], _keyring_env(home, emulator, bus, None)
    )
    _assert_one_line_naming_the_keyring(later, 1)
    assert later.data(2)["returned"] is True and later.data(2)["raised"] is None
    _assert_one_line_naming_the_keyring(later, 3)
    assert _message_count(emulator) == 3  # nothing more reached Claude
    assert emulator.grants["refresh_token"] == 0
    for run in (t, later):
        assert "Traceback" not in run.stderr
        assert not any(
            "Traceback" in text for step in range(len(steps)) for _, text in run.messages(step)
        )
    assert _files_holding_a_token(Path(home)) == []


def _message_count(emulator: ClaudeEmulator) -> int:
    """How many /v1/messages requests reached the emulator (a number: never a header)."""
    return sum(1 for r in emulator.requests if r.path == "/v1/messages")


def _assert_one_line_naming_the_keyring(t: driver.Transcript, step: int) -> None:
    data = t.data(step)
    assert data["ended"] == "answered", data
    lines = data["output"].splitlines()
    assert len(lines) == 1, data
    assert lines[0].startswith(
        REPLY_PREFIX + "The Secret Service (the keyring) is out of reach ("
    ), data
