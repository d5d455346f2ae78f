"""The plugin inside a real Code Puppy: loading, the commands, the bundled plugin.

Every scenario runs ``tests/helpers/puppy_driver.py`` in a fresh subprocess
(Code Puppy keeps global state and fixes its directories at import) with HOME
in a temp dir, XDG_* unset, a pre-seeded ``puppy.cfg``, the null keyring and
stdin a pipe, against the emulator running here over loopback HTTP. Nothing is
mocked. Requests through our model type are in ``test_code_puppy_requests.py``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from claude_code_oauth.testing.emulator.api import DEFAULT_MODELS
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost

OURS = "claude_code_oauth_pkce"
OUR_TYPE = "claude_code_oauth_pkce"
OUR_MARK = "claude-code-plugin"
#: The commands the bundled plugin has too; /claude-code-switch, /claude-code-usage,
#: /claude-code-doctor and /claude-code-storage are ours alone.
COMMANDS = ("claude-code-auth", "claude-code-status", "claude-code-logout", "claude-code-fast")
ALL_OURS = (
    *COMMANDS,
    "claude-code-switch",
    "claude-code-usage",
    "claude-code-doctor",
    "claude-code-storage",
)
OUR_COMMANDS = ALL_OURS
SONNET = "claude-code-claude-sonnet-4-5-20250929"
OUR_KEYS = ["claude-code-" + m["id"] for m in DEFAULT_MODELS]
#: What the bundled plugin says; none of it may appear while ours is enabled.
BUNDLED_STATUS = "Claude Code OAuth: Not authenticated"
BUNDLED_TRACES = ("Listening for callback", "claude.ai", "Claude Code OAuth", "OAuth callback")
#: An entry of ours as extra_models.json holds it (so model hooks have one to see).
OUR_ENTRY = {
    "type": OUR_TYPE,
    "name": "claude-sonnet-4-5-20250929",
    "custom_endpoint": {"url": "http://127.0.0.1:9", "api_key": "$CLAUDE_CODE_ACCESS_TOKEN"},
    "context_length": 200000,
    "oauth_source": OUR_MARK,
}
FOREIGN = {
    "my-local-model": {
        "type": "custom_openai",
        "name": "local",
        "custom_endpoint": {"url": "http://127.0.0.1:9/v1"},
    }
}
#: A same-named entry as the bundled plugin writes it into claude_models.json.
BUNDLED_ENTRY = {
    SONNET: {
        "type": "claude_code",
        "name": "claude-sonnet-4-5-20250929",
        "custom_endpoint": {"url": "https://api.anthropic.com", "api_key": "x"},
        "context_length": 200000,
        "oauth_source": "claude-code-plugin",
    }
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return Path(driver.make_home(str(tmp_path)))


def _cp(home: Path) -> Path:
    return home / ".code_puppy"


def _write(home: Path, name: str, content: Any) -> Path:
    path = _cp(home) / name
    path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    return path


def _env(home: Path, emulator: ClaudeEmulator, browser: str | None = None) -> dict[str, str]:
    return driver.puppy_env(str(home), emulator.env(), browser=browser)


def _cmd(text: str) -> dict[str, str]:
    return {"op": "cmd", "text": text}


def _help_entries(help_text: str) -> dict[str, list[str]]:
    """``/claude-code-*`` lines of /help: name → descriptions (one per occurrence)."""
    found: dict[str, list[str]] = {}
    for line in help_text.splitlines():
        match = re.match(r"^/(claude-code-[a-z-]+)\s+(.*?)\s*$", line)
        if match:
            found.setdefault(match.group(1), []).append(match.group(2))
    return found


def _assert_ours_ran_alone(t: Any, step: int) -> None:
    data = t.data(step)
    assert data["returned"] is True and data["raised"] is None, data
    texts = t.texts(step)
    for trace in BUNDLED_TRACES:
        assert trace not in texts, f"the bundled plugin acted: {trace!r} in\n{texts}"
    assert "sk-ant-" not in texts


def _superseded_notes(t: Any, step: int) -> list[str]:
    return [text for _, text in t.messages(step) if "superseded" in text]


def _authorize_requests(emulator: ClaudeEmulator) -> int:
    return sum(1 for r in emulator.requests if r.method == "GET" and r.path == "/oauth/authorize")


# -- 1, 2, 7, 8 (signed out) ---------------------------------------------------------


def test_loads_by_entry_point_owns_help_status_and_stands_the_bundled_hooks_aside(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    _write(home, "extra_models.json", {SONNET: OUR_ENTRY, **FOREIGN})
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/help"),
            _cmd("/claude-code-status"),
            {"op": "prompt_hook", "model": SONNET},
            {"op": "prompt_hook", "model": "claude-code-x"},
            {"op": "heartbeat", "model": SONNET},
            {"op": "heartbeat", "model": "claude-code-x"},
        ],
        _env(home, emulator),
    )
    load = t.data(0)
    assert load["loaded"]["builtin"].count(OURS) == 1
    assert "claude_code_oauth" in load["loaded"]["builtin"]  # the bundled one is there too
    owners = load["our_owners"]
    assert set(owners) == {"custom_command", "custom_command_help", "register_model_type"}
    assert all(owner == [OURS] for owner in owners.values()), owners

    entries = _help_entries(t.texts(1))
    ours = dict(load["our_help"])
    assert set(ours) == set(ALL_OURS)
    for name in ALL_OURS:
        assert entries.get(name) == [ours[name]], (name, entries.get(name))

    _assert_ours_ran_alone(t, 2)
    status = t.messages(2)
    assert status[0] == ("warning", "Not signed in to Claude.")
    assert any("claude_code_oauth.json (absent)" in text for _, text in status)
    assert len(_superseded_notes(t, 2)) == 1
    assert BUNDLED_STATUS not in t.texts(2)

    # The bundled prompt hook and heartbeat stand aside for our model only.
    assert t.data(3) == {"handled": 0, "identity_prompt": False}
    assert t.data(4) == {"handled": 1, "identity_prompt": True}
    assert t.data(5) == {"during": 0, "after": 0}
    assert t.data(6) == {"during": 1, "after": 0}
    assert "Traceback" not in t.stderr


# -- 3, 5, 8 (signed in), 9 ----------------------------------------------------------------


def test_auth_in_the_browser_registers_models_that_win_and_logout_removes_only_ours(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    claude_models = _write(home, "claude_models.json", BUNDLED_ENTRY)
    bundled_bytes = claude_models.read_bytes()
    _write(home, "extra_models.json", FOREIGN)
    t = puppy.run(
        [
            {"op": "load"},
            {"op": "models"},
            _cmd("/claude-code-auth"),
            {"op": "models"},
            _cmd("/claude-code-status"),
            {"op": "env_token"},
            _cmd("/claude-code-logout"),
            {"op": "models"},
            _cmd("/claude-code-status"),
            {"op": "env_token"},
        ],
        _env(home, emulator, scripted_browser),
    )
    # Code Puppy reads the bundled plugin's same-named entry before we sign in.
    assert t.data(1)["models"][SONNET]["type"] == "claude_code"

    _assert_ours_ran_alone(t, 2)
    auth = t.messages(2)
    assert ("success", "Signed in as emulated.user@example.com (via browser).") in auth
    assert any(text.startswith("Select a model with: /set model claude-code-") for _, text in auth)
    assert t.data(2)["seconds"] < 30  # the bundled flow would wait 180 s for its callback
    assert emulator.grants["authorization_code"] == 1
    assert _authorize_requests(emulator) == 1
    assert claude_models.read_bytes() == bundled_bytes  # the bundled flow writes this file

    models = t.data(3)["models"]
    for key in OUR_KEYS:
        assert models[key]["type"] == OUR_TYPE and models[key]["oauth_source"] == OUR_MARK, key
    assert models[SONNET]["name"] == "claude-sonnet-4-5-20250929"
    assert "my-local-model" in models

    _assert_ours_ran_alone(t, 4)
    status = t.messages(4)
    assert status[0][0] == "success"
    assert status[0][1].startswith("Signed in to Claude as emulated.user@example.com")
    assert any(text.startswith("Access token: valid") for _, text in status)
    assert len(_superseded_notes(t, 4)) == 1
    assert t.data(5)["present"] and t.data(5)["equals_stored"]
    assert t.data(5)["mode"] == "0o600"

    _assert_ours_ran_alone(t, 6)
    # The login is revoked at Anthropic first, and the message says it was confirmed.
    host = emulator.base_url.removeprefix("http://")
    confirmed = (
        f"Anthropic confirmed the revocation ({host}): this login's tokens no longer work anywhere."
    )
    assert ("info", confirmed) in t.messages(6), t.messages(6)
    assert [r.kind for r in emulator.revocations] == ["refresh_token"]
    assert not (_cp(home) / "claude_code_oauth.json").exists()
    assert json.loads((_cp(home) / "extra_models.json").read_text()) == FOREIGN
    after = t.data(7)["models"]
    assert not [k for k, v in after.items() if v["type"] == OUR_TYPE]
    assert "my-local-model" in after
    assert after[SONNET]["type"] == "claude_code"  # the bundled plugin's file is untouched
    assert t.messages(8)[0] == ("warning", "Not signed in to Claude.")
    assert t.data(9)["present"] is False
    assert "Traceback" not in t.stderr


# -- 4 -----------------------------------------------------------------------------------


def _code_from_manual_page(url: str) -> str:
    """Open the manual URL like the user would and read the CODE#STATE it shows."""
    with httpx.Client(trust_env=False, follow_redirects=True, timeout=10) as client:
        page = client.get(url)
    match = re.search(r'<code id="code">([^<]+)</code>', page.text)
    assert match is not None, f"no code on the manual page (HTTP {page.status_code})"
    return html.unescape(match.group(1))


def test_paste_login_through_code_puppy(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    emulator.auto_approve = True
    manual = emulator.manual_redirect_uri
    pasted: list[str] = []

    def on_event(event: dict[str, Any], send: Any) -> None:
        # While /claude-code-auth blocks, its messages arrive here as they are emitted.
        text = event.get("text", "").strip() if event.get("event") == "message" else ""
        is_url = text.startswith("http") and "/oauth/authorize?" in text
        if is_url and not pasted and httpx.URL(text).params.get("redirect_uri") == manual:
            pasted.append(text)
            send(_code_from_manual_page(text))

    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth --no-browser"),
            {"op": "models"},
            {"op": "env_token"},
        ],
        _env(home, emulator),  # no BROWSER: nothing could complete the loopback flow
        on_event=on_event,
    )
    assert pasted, "the manual URL was never emitted while the login waited"
    _assert_ours_ran_alone(t, 1)
    auth = t.messages(1)
    signed_in = "Signed in as emulated.user@example.com (via paste"
    assert any(kind == "success" and text.startswith(signed_in) for kind, text in auth), auth
    assert any("--no-browser was given" in text for _, text in auth)
    assert emulator.grants["authorization_code"] == 1
    exchanges = [
        r
        for r in emulator.requests
        if r.path == "/v1/oauth/token" and (r.json or {}).get("grant_type") == "authorization_code"
    ]
    # Only the redirect URIs: the request bodies hold the code and verifier.
    assert [(r.json or {}).get("redirect_uri") for r in exchanges] == [manual]
    registered = [k for k, v in t.data(2)["models"].items() if v["type"] == OUR_TYPE]
    assert sorted(registered) == sorted(OUR_KEYS)
    assert t.data(3)["equals_stored"]
    assert "Traceback" not in t.stderr


# -- 10 ----------------------------------------------------------------------------------


def test_plugins_disable_hands_the_commands_back_and_enable_takes_them_again(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    _write(home, "extra_models.json", {SONNET: OUR_ENTRY})
    t = puppy.run(
        [
            {"op": "load"},
            _cmd(f"/plugins disable {OURS}"),
            _cmd("/claude-code-status"),  # 2
            _cmd("/help"),
            {"op": "prompt_hook", "model": SONNET},
            _cmd(f"/plugins enable {OURS}"),  # 5
            _cmd("/claude-code-status"),
            _cmd("/help"),
            {"op": "prompt_hook", "model": SONNET},
            _cmd("/plugins disable claude_code_oauth"),  # 9
            _cmd("/claude-code-status"),
            _cmd("/claude-code-auth"),
            {"op": "models"},
        ],
        _env(home, emulator, scripted_browser),
    )
    ours = dict(t.data(0)["our_help"])
    assert f"Plugin '{OURS}' disabled." in t.texts(1)

    # Disabled: the bundled plugin answers, and ours stays silent.
    assert t.messages(2)[0] == ("warning", BUNDLED_STATUS)
    assert "Not signed in to Claude." not in t.texts(2)
    assert not _superseded_notes(t, 2)
    entries = _help_entries(t.texts(3))
    for name in COMMANDS:
        assert len(entries.get(name, [])) == 1 and entries[name] != [ours[name]], name
    assert t.data(4) == {"handled": 1, "identity_prompt": True}

    # Enabled again: ours, alone.
    _assert_ours_ran_alone(t, 6)
    assert t.messages(6)[0] == ("warning", "Not signed in to Claude.")
    entries = _help_entries(t.texts(7))
    for name in COMMANDS:
        assert entries.get(name) == [ours[name]], name
    assert t.data(8) == {"handled": 0, "identity_prompt": False}

    # The bundled plugin disabled: ours keeps working, sign-in included.
    assert "Plugin 'claude_code_oauth' disabled." in t.texts(9)
    _assert_ours_ran_alone(t, 10)
    assert t.messages(10)[0] == ("warning", "Not signed in to Claude.")
    assert not _superseded_notes(t, 10)  # nothing is superseded while it is disabled
    _assert_ours_ran_alone(t, 11)
    assert any(text.startswith("Signed in as ") for _, text in t.messages(11))
    assert emulator.grants["authorization_code"] == 1
    models = t.data(12)["models"]
    assert sorted(k for k, v in models.items() if v["type"] == OUR_TYPE) == sorted(OUR_KEYS)
    cfg = (_cp(home) / "puppy.cfg").read_text()
    assert "claude_code_oauth" in cfg and OURS not in cfg.split("disabled_plugins", 1)[1]


# -- 11 ----------------------------------------------------------------------------------


def test_bundled_plugin_loading_after_ours_without_a_startup_phase(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    # A direct handle_command never fires `startup`: the first command must already
    # reach ours alone (the bundled flow would otherwise block for 180 s).
    t = puppy.run(
        [
            {"op": "load_bundled_last", "startup": False},
            _cmd("/claude-code-auth"),
        ],
        _env(home, emulator, scripted_browser),
    )
    assert t.data(0)["before_startup"] == [[OURS, False], ["claude_code_oauth", True]]
    _assert_ours_ran_alone(t, 1)
    assert any(text.startswith("Signed in as ") for _, text in t.messages(1))
    assert emulator.grants["authorization_code"] == 1
    assert _authorize_requests(emulator) == 1


def test_bundled_plugin_loading_after_ours_is_still_superseded_at_startup(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    t = puppy.run(
        [
            {"op": "load_bundled_last"},
            _cmd("/claude-code-status"),
            _cmd("/help"),
            _cmd("/claude-code-auth"),
            {"op": "prompt_hook", "model": SONNET},
            {"op": "heartbeat", "model": SONNET},
        ],
        _env(home, emulator, scripted_browser),
    )
    order = t.data(0)
    assert order["our_owners"]["custom_command"] == [OURS]
    # Really the reverse order: ours registered first; the bundled handler is wrapped
    # as soon as its module has loaded, before any startup phase.
    assert order["before_startup"] == [[OURS, False], ["claude_code_oauth", True]]
    assert order["after_startup"] == [[OURS, False], ["claude_code_oauth", True]]

    _assert_ours_ran_alone(t, 1)
    assert t.messages(1)[0] == ("warning", "Not signed in to Claude.")
    entries = _help_entries(t.texts(2))
    for name in COMMANDS:
        assert len(entries.get(name, [])) == 1, name
    _assert_ours_ran_alone(t, 3)
    assert any(text.startswith("Signed in as ") for _, text in t.messages(3))
    assert t.data(3)["seconds"] < 30
    assert emulator.grants["authorization_code"] == 1
    assert _authorize_requests(emulator) == 1
    assert t.data(4) == {"handled": 0, "identity_prompt": False}
    assert t.data(5) == {"during": 0, "after": 0}


# -- 12 ----------------------------------------------------------------------------------


def test_importing_the_adapter_adds_no_heavy_module(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    t = puppy.run([{"op": "import_cost"}], _env(home, emulator))
    cost = t.data(0)
    assert "driver_error" not in cost, cost
    assert cost["heavy_new"] == []
    assert cost["anthropic_loaded"] is False
    assert cost["new_count"] > 0  # the adapter itself was imported here


# -- 13 ----------------------------------------------------------------------------------


def test_damaged_files_give_one_clear_line_and_never_raise_into_code_puppy(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    _write(home, "claude_code_oauth.json", "{not json")
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-status"),
            {"op": "wait", "label": "damage the models file"},
            _cmd("/claude-code-logout"),
            {"op": "models"},
            {"op": "models"},
            _cmd("/claude-code-auth"),
        ],
        _env(home, emulator, scripted_browser),
        on_event=lambda event, send: (
            event.get("event") == "waiting"
            and (_write(home, "extra_models.json", '{"a": 1,,}'), send("go"))
        ),
    )
    for step in (1, 3, 6):
        data = t.data(step)
        assert data["returned"] is True and data["raised"] is None, (step, data)
        assert "unexpected" not in t.texts(step).lower(), t.texts(step)
        assert "sk-ant-" not in t.texts(step)

    problems = [
        text
        for kind, text in t.messages(1)
        if kind in ("warning", "error") and "claude_code_oauth.json" in text
    ]
    assert len(problems) == 1 and "not valid JSON" in problems[0], t.messages(1)

    logout_errors = [text for kind, text in t.messages(3) if kind == "error"]
    assert len(logout_errors) == 1 and "extra_models.json is not valid JSON" in logout_errors[0]
    # Code Puppy rebuilds its model list often: the problem logout just reported is
    # not said again.
    reloads = t.messages(4) + t.messages(5)
    assert not [text for _, text in reloads if "extra_models.json" in text], reloads

    auth = t.messages(6)
    assert any(text.startswith("Signed in as ") for _, text in auth)
    unregistered = [text for kind, text in auth if "extra_models.json" in text and kind != "info"]
    assert len(unregistered) == 1 and unregistered[0].startswith("Signed in, but the models")
    assert "Traceback" not in t.stderr
