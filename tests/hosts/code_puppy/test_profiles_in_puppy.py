"""Several accounts inside a real Code Puppy: switching, pinned models, logout of one.

One Code Puppy subprocess per scenario (tests/helpers/puppy_driver.py) signs in to
two emulated accounts through the consent page (the test changes which account
the "browser" is signed in as between steps), then sends model requests. Which
account served each request is read from the emulator (the bearer token of each
recorded /v1/messages request → the account that was issued it), in this
process, never printed. Nothing is mocked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from claude_code_oauth.models.model_failures import REPLY_PREFIX
from claude_code_oauth.testing.emulator.api import REPLY_TEXT
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver

FIRST = "emulated.user@example.com"
WORK = "work@example.com"
SONNET_ID = "claude-sonnet-4-5-20250929"
SONNET = f"claude-code-{SONNET_ID}"
OUR_TYPE = "claude_code_oauth_pkce"


def _cmd(text: str) -> dict[str, str]:
    return {"op": "cmd", "text": text}


def _served_by(emulator: ClaudeEmulator) -> list[str | None]:
    """The account behind each /v1/messages request, oldest first."""
    accounts = []
    for request in emulator.requests:
        if request.path == "/v1/messages":
            bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
            accounts.append(emulator.account_for_token(bearer))
    return accounts


def _switch_browser_to(emulator: ClaudeEmulator) -> Any:
    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            emulator.consent_account = event["label"]
            send("go")

    return on_event


def _assert_clean(t: driver.Transcript, step: int) -> None:
    data = t.data(step)
    assert data["returned"] is True and data["raised"] is None, (step, data)
    assert "sk-ant-" not in t.texts(step)


def test_switching_in_a_running_session_changes_the_account_of_the_next_request(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    emulator.add_account(WORK, organization="Acme")
    home = driver.make_home(str(tmp_path))
    data_dir = Path(home) / ".code_puppy"
    pinned_work = f"claude-code-work-{SONNET_ID}"
    t = driver.run_driver(
        [
            {"op": "load"},
            _cmd("/claude-code-auth"),  # 1: default profile, first account
            {"op": "wait", "label": WORK},
            _cmd("/claude-code-auth --profile work --pin"),  # 3
            {"op": "model_run", "model": SONNET},  # 4: follows the active profile
            {"op": "model_run", "model": pinned_work},  # 5
            _cmd("/claude-code-switch"),  # 6: the list
            _cmd("/claude-code-switch work"),  # 7
            {"op": "model_run", "model": SONNET},  # 8: the same model object as in 4
            {"op": "env_token", "profile": "work"},  # 9
            _cmd("/claude-code-status"),  # 10
            _cmd("/claude-code-logout --profile work"),  # 11
            {"op": "models"},  # 12
            {"op": "model_run", "model": SONNET},  # 13: the active profile is signed out
            _cmd("/claude-code-switch default"),  # 14
            {"op": "model_run", "model": SONNET},  # 15
            {"op": "env_token"},  # 16
            _cmd("/claude-code-switch Bad"),  # 17
            _cmd("/claude-code-auth --profile ../x"),  # 18
            _cmd("/claude-code-switch ghost"),  # 19
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=_switch_browser_to(emulator),
    )
    for step in (1, 3, 6, 7, 10, 11, 14, 17, 18, 19):
        _assert_clean(t, step)
    assert ("success", f"Signed in as {FIRST} (via browser).") in t.messages(1)
    assert ("success", f"Signed in as {WORK} to profile work (via browser).") in t.messages(3)
    assert any("The active profile is still default" in text for _, text in t.messages(3))
    assert any("pinned to profile work" in text for _, text in t.messages(3))

    # Two accounts side by side: the unpinned entry is served by the active (first)
    # account, the pinned one by work; after the switch the same model object is
    # served by work without being built or registered again.
    for step in (4, 5, 8, 15):
        assert t.data(step) == {"model_class": "OAuthAnthropicModel", "output": REPLY_TEXT}, step
    assert _served_by(emulator) == [FIRST, WORK, WORK, FIRST]

    listing = t.texts(6)
    assert f"* default: {FIRST}" in listing and f"  work: {WORK} (Acme, Max 20x)" in listing
    assert t.messages(7)[0] == (
        "success",
        "Switched to profile work (work@example.com): models named claude-code-<model> now use it.",
    )
    assert t.data(9)["present"] and t.data(9)["equals_stored"]  # the variable follows

    status = t.messages(10)
    assert status[0] == ("success", f"Signed in to Claude as {WORK} (Acme) — profile work.")
    others = [text for _, text in status if text.startswith("  default: ")]
    assert len(others) == 1 and FIRST in others[0] and "token valid" in others[0]
    assert any(text.startswith("Other profiles") for _, text in status)

    # Logout of work: its token file and its pinned entries only.
    assert not (data_dir / "claude_code_oauth.work.json").exists()
    assert (data_dir / "claude_code_oauth.json").exists()
    models = t.data(12)["models"]
    ours = sorted(k for k, v in models.items() if v["type"] == OUR_TYPE)
    assert SONNET in ours and not [k for k in ours if k.startswith("claude-code-work-")]
    assert any("not signed in (profile work)" in text for _, text in t.messages(11))
    registry = json.loads((data_dir / "extra_models.json").read_text())
    assert not [v for v in registry.values() if v.get("oauth_profile")]

    # Answered in one line of ours (not sent to Claude, not an exception).
    refused = t.data(13)
    assert "error" not in refused, refused
    assert refused["output"].startswith(REPLY_PREFIX + "Not signed in to Claude (profile work).")
    assert "/claude-code-switch" in refused["output"]
    assert t.data(16)["present"] and t.data(16)["equals_stored"]  # back to default's token

    bad = [text for kind, text in t.messages(17) if kind == "error"]
    assert len(bad) == 1 and "'Bad' is not a profile name" in bad[0]
    usage = [text for kind, text in t.messages(18) if kind == "error"]
    assert len(usage) == 1 and "'../x' is not a profile name" in usage[0]
    ghost = [text for kind, text in t.messages(19) if kind == "error"]
    assert len(ghost) == 1 and ghost[0].startswith("Profile ghost is not signed in.")
    assert (data_dir / "claude_code_oauth.active_profile").read_text() == "default\n"
    assert emulator.grants["authorization_code"] == 2
    assert "Traceback" not in t.stderr


def test_two_pinned_models_of_two_accounts_answer_in_one_session(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    emulator.add_account(WORK)
    home = driver.make_home(str(tmp_path))
    personal = f"claude-code-personal-{SONNET_ID}"
    work = f"claude-code-work-{SONNET_ID}"
    t = driver.run_driver(
        [
            {"op": "load"},
            _cmd("/claude-code-auth --profile personal --pin"),  # 1
            {"op": "wait", "label": WORK},
            _cmd("/claude-code-auth --profile work --pin"),  # 3
            {"op": "model_run", "model": personal},
            {"op": "model_run", "model": work},  # 5
            # Code Puppy's own agent, switched between the two as a user does.
            _cmd(f"/set model {personal}"),
            {"op": "agent_run", "model": personal},  # 7
            _cmd(f"/set model {work}"),
            {"op": "agent_run", "model": work},  # 9
            {"op": "model_run", "model": personal},
            _cmd("/claude-code-switch"),  # 11
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=_switch_browser_to(emulator),
    )
    _assert_clean(t, 1)
    _assert_clean(t, 3)
    # The first sign-in of all made its profile active (nothing else was signed in).
    assert any("personal is now the active profile" in text for _, text in t.messages(1))
    for step in (4, 5, 7, 9, 10):
        assert t.data(step).get("output") == REPLY_TEXT, t.data(step)
    assert _served_by(emulator) == [FIRST, WORK, FIRST, WORK, FIRST]
    assert "* personal: " in t.texts(11) and "  work: " in t.texts(11)
    assert emulator.grants["refresh_token"] == 0
    assert "Traceback" not in t.stderr


def test_a_usage_limit_names_the_other_profiles_and_switches_nothing(
    tmp_path: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    emulator.add_account(WORK, organization="Acme")
    home = driver.make_home(str(tmp_path))
    data_dir = Path(home) / ".code_puppy"
    t = driver.run_driver(
        [
            {"op": "load"},
            _cmd("/claude-code-auth"),  # 1: default profile, first account
            {"op": "wait", "label": WORK},
            _cmd("/claude-code-auth --profile work"),  # 3
            {"op": "wait", "label": "limit"},
            {"op": "model_run", "model": SONNET},  # 5: the first account's limit
            {"op": "model_run", "model": SONNET},  # 6: still the first account
            _cmd("/claude-code-status --profile work"),  # 7
            _cmd("/claude-code-usage --profile work"),  # 8
        ],
        driver.puppy_env(home, emulator.env(), browser=scripted_browser),
        on_event=_limit_or_switch_browser(emulator),
    )
    for step in (1, 3, 7, 8):
        _assert_clean(t, step)
    limited = t.data(5)["output"]
    assert limited.startswith(REPLY_PREFIX + "Claude usage limit reached (5-hour window)")
    assert f"Other signed-in profiles: work ({WORK}). Switching is your choice: " in limited
    assert limited.endswith("/claude-code-switch NAME.") and "`claude-code-oauth" not in limited
    assert t.data(6)["output"] == REPLY_TEXT
    assert _served_by(emulator) == [FIRST, FIRST]  # no switch behind the user's back
    assert not (data_dir / "claude_code_oauth.active_profile").exists() or (
        (data_dir / "claude_code_oauth.active_profile").read_text() == "default\n"
    )
    assert t.messages(7)[0] == ("success", f"Signed in to Claude as {WORK} (Acme) — profile work.")
    assert "Plan: Max" in t.texts(8)


def _limit_or_switch_browser(emulator: ClaudeEmulator) -> Any:
    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") != "waiting":
            return
        if event["label"] == "limit":
            emulator.inject("messages", "429_limit", reset_in=3600)
        else:
            emulator.consent_account = event["label"]
        send("go")

    return on_event
