"""What a user meets inside a real Code Puppy: arguments, output order, Ctrl-C, one
message per problem, and a bundled plugin that cannot be superseded.

Each scenario runs ``tests/helpers/puppy_driver.py`` in a fresh Code Puppy
process (see ``test_plugin.py`` for the set-up), once per configured release.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.models.discovery import DiscoveredModel
from claude_code_oauth.models.registry import register_models
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from helpers import puppy_driver as driver
from helpers.puppy_hosts import PuppyHost

BUNDLED_STATUS = "Claude Code OAuth: Not authenticated"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return Path(driver.make_home(str(tmp_path)))


def _env(home: Path, emulator: ClaudeEmulator, browser: str | None = None) -> dict[str, str]:
    return driver.puppy_env(str(home), emulator.env(), browser=browser)


def _cmd(text: str) -> dict[str, str]:
    return {"op": "cmd", "text": text}


def _answered(t: driver.Transcript, step: int) -> None:
    data = t.data(step)
    assert data["returned"] is True and data["raised"] is None, data


# -- arguments -----------------------------------------------------------------------------


def test_slash_command_arguments_use_the_clis_definitions(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    started = time.monotonic()
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth --timeout 1 --no-browser"),  # 1
            _cmd("/claude-code-auth --bogus"),
            _cmd("/claude-code-auth --timeout soon"),
            _cmd("/claude-code-auth --help"),
            _cmd("/claude-code-status --verbose"),  # 5
            _cmd("/claude-code-logout --help"),
        ],
        _env(home, emulator),
    )
    for step in range(1, 7):
        _answered(t, step)
        # One message each; the sign-in two: its URLs before the wait, then the outcome.
        assert len(t.message_numbers(step)) == (2 if step == 1 else 1), (step, t.messages(step))

    # --timeout is honoured (1 s, not 180 s), --no-browser too.
    waited = t.data(1)["seconds"]
    assert waited < 30, waited  # a liveness bound: the default would be 180 s
    auth = t.texts(1)
    assert "--no-browser was given" in auth and "Waiting up to 1 s" in auth
    assert t.messages(1)[-1][0] == "error" and "within 1 s" in t.messages(1)[-1][1]
    assert time.monotonic() - started < 120

    # Unknown options and bad values: one line ending with the usage, nothing started.
    for step, fragment in ((2, "unrecognized arguments: --bogus"), (3, "invalid float value")):
        ((kind, text),) = t.messages(step)
        assert kind == "error" and fragment in text, text
        assert text.endswith(
            "Usage: /claude-code-auth [-h] [--profile NAME] [--console] [--pin] [--no-browser] "
            "[--timeout SECONDS] [--no-models]"
        )
    ((kind, text),) = t.messages(5)
    assert kind == "error" and "unrecognized arguments: --verbose" in text
    assert "Usage: /claude-code-status [-h]" in text

    # --help is the command's help, as one message.
    help_text = t.texts(4)
    assert help_text.startswith("usage: /claude-code-auth")
    for option in ("--no-browser", "--timeout SECONDS", "--no-models", "-h, --help"):
        assert option in help_text
    assert t.texts(6).startswith("usage: /claude-code-logout")
    # Only the first attempt reached the authorization server's port: none did here.
    assert not [r for r in emulator.requests if r.path == "/v1/oauth/token"]
    assert "Traceback" not in t.stderr


# -- order: one message per command, or per wait ----------------------------------------------


def test_each_command_is_one_message_in_the_order_written(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth"),
            _cmd("/claude-code-status"),
            _cmd("/claude-code-logout"),
        ],
        _env(home, emulator, scripted_browser),
    )
    for step in (1, 2, 3):
        _answered(t, step)
    # The sign-in: one message before the wait (so its URLs show while it waits),
    # one with the outcome.
    before, after = t.message_numbers(1)
    lines = t.messages(1)
    texts = [text for _, text in lines]
    first_url = next(i for i, text in enumerate(texts) if text.strip().startswith("http"))
    assert texts[first_url - 1].startswith("Opening your browser")
    assert texts[first_url + 1].startswith("Signing in from another machine")
    waiting = next(i for i, text in enumerate(texts) if text.startswith("Waiting up to"))
    signed_in = next(i for i, text in enumerate(texts) if text.startswith("Signed in as"))
    assert first_url < waiting < signed_in
    numbers = [e["message"] for e in t.events if e.get("event") == "message" and e["step"] == 1]
    assert numbers[waiting] == before and numbers[signed_in] == after
    assert lines[signed_in][0] == "success"

    assert len(t.message_numbers(2)) == 1
    status_texts = [text for _, text in t.messages(2)]
    assert status_texts[0].startswith("Signed in to Claude as")
    assert status_texts.index(next(x for x in status_texts if x.startswith("Scopes:"))) < (
        status_texts.index(next(x for x in status_texts if x.startswith("Credentials: file ")))
    )
    assert len(t.message_numbers(3)) == 1
    assert t.texts(3).startswith("Removed the tokens")
    # The message is emitted at its most severe line's level, lines keep their own.
    kinds = {e["as"] for e in t.events if e.get("event") == "message" and e["step"] == 2}
    assert kinds == {"success"}


# -- Ctrl-C ---------------------------------------------------------------------------------


def test_ctrl_c_cancels_the_sign_in_at_once_and_gives_code_puppy_its_guard_back(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    pressed: list[float] = []

    def on_event(event: dict[str, Any], send: Any) -> None:
        text = event.get("text", "") if event.get("event") == "message" else ""
        if text.startswith("Waiting up to") and not pressed:
            pressed.append(time.monotonic())
            send.interrupt()

    t = puppy.run(
        [
            {"op": "load"},
            {"op": "sigint_guard"},  # as Code Puppy's interactive loop does
            _cmd("/claude-code-auth --no-browser --timeout 60"),  # 2
            {"op": "sigint_state"},
            _cmd("/claude-code-status"),
        ],
        _env(home, emulator),
        on_event=on_event,
        timeout=120,
    )
    assert pressed, "the login never said it was waiting"
    _answered(t, 2)
    # Cancelled within a second of the press, not at the 60 s timeout (liveness bound).
    assert t.data(2)["seconds"] < 20, t.data(2)
    outcome = t.messages(2)[-1]
    assert outcome == ("warning", "Sign-in cancelled; nothing was changed."), t.messages(2)
    # Code Puppy's own handler is back, and our handler took the press, not the guard.
    assert t.data(3) == {"guard_restored": True, "guard_presses": 0}
    _answered(t, 4)
    assert t.messages(4)[0] == ("warning", "Not signed in to Claude.")
    assert not (home / ".code_puppy" / "claude_code_oauth.json").exists()
    assert "Traceback" not in t.stderr and "KeyboardInterrupt" not in t.stderr


# -- one message per problem -----------------------------------------------------------------


def test_a_corrupt_models_file_during_sign_in_is_one_message_with_code_puppy_advice(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    models = home / ".code_puppy" / "extra_models.json"
    models.write_text('{"a": 1,,}')
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth"),
            {"op": "models"},  # Code Puppy re-reads its model list
            {"op": "models"},
            _cmd("/claude-code-status"),
        ],
        _env(home, emulator, scripted_browser),
    )
    _answered(t, 1)
    auth = t.messages(1)
    assert any(text.startswith("Signed in as ") for _, text in auth)
    about_the_file = [(kind, text) for kind, text in auth if "extra_models.json" in text]
    assert len(about_the_file) == 1, auth
    kind, text = about_the_file[0]
    assert kind == "warning"
    assert text.startswith("Signed in, but the models could not be registered: ")
    assert "is not valid JSON" in text and "line 1, column 9" in text
    assert text.endswith("Fix or remove the file, then run /claude-code-auth.")
    everything = "\n".join(t.texts(step) for step in range(1, 5))
    assert "claude-code-oauth login" not in everything
    assert "claude-code-oauth models" not in everything  # no shell command inside Code Puppy
    # Said once: the model list reloads after the command do not repeat it.
    assert "cannot read the model registry" not in everything
    assert models.read_text() == '{"a": 1,,}'
    assert "Sign in with" not in t.texts(4)  # signed in: status has no sign-in advice
    assert "Traceback" not in t.stderr


def test_status_advice_names_code_puppys_command(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    # An entry left from an earlier sign-in: its prompt says why it cannot run.
    register_models(
        Settings(environ={"HOME": str(home)}),
        [DiscoveredModel("claude-haiku-4-5-20251001", "Claude Haiku 4.5", None, None)],
    )
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-status"),
            _cmd("/claude-code-usage"),
            {"op": "prompt", "model": "claude-code-claude-haiku-4-5-20251001"},
        ],
        _env(home, emulator),
    )
    assert ("info", "Sign in with /claude-code-auth.") in t.messages(1)
    assert "Sign in with /claude-code-auth." in t.texts(2)
    answer = t.data(3)["output"]
    assert (
        answer.startswith("[claude-code-oauth] Not signed in to Claude")
        and "/claude-code-auth" in answer
    )
    for said in (t.texts(1), t.texts(2), answer):
        assert "claude-code-oauth login" not in said  # no shell command inside Code Puppy


# -- a bundled plugin that cannot be superseded --------------------------------------------------


@pytest.mark.parametrize("mode", ["drop", "raise"])
def test_superseding_that_fails_half_way_leaves_the_bundled_plugin_exactly_as_it_was(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, mode: str
) -> None:
    # The third of the five wrappers fails: two were registered already and must go.
    t = puppy.run(
        [
            {"op": "load_with_broken_registration", "phase": "prepare_model_prompt", "mode": mode},
            _cmd("/claude-code-status"),
            {"op": "heal"},
            _cmd("/claude-code-status"),  # 3: superseded now, from the next dispatch on
            _cmd("/claude-code-status"),
            {"op": "prompt_hook", "model": "claude-code-x"},
        ],
        _env(home, emulator),
    )
    loaded = t.data(0)
    assert loaded["injected"] >= 1
    assert loaded["bundled_unchanged"] is True, loaded
    assert "could not be stood aside" in loaded["failure"]
    assert set(loaded["our_owners"]) == {
        "custom_command",
        "custom_command_help",
        "register_model_type",
    }

    # Our command still answers, and says why the bundled one answered too.
    _answered(t, 1)
    both = t.messages(1)
    assert ("warning", "Not signed in to Claude.") in both
    problem = [text for kind, text in both if "could not be stood aside" in text]
    assert len(problem) == 1 and "/plugins disable claude_code_oauth" in problem[0]
    assert BUNDLED_STATUS in t.texts(1)  # the bundled plugin answered as it always did

    # Once registration works, the next command supersedes it and says nothing more.
    _answered(t, 4)
    assert BUNDLED_STATUS not in t.texts(4)
    assert not [text for _, text in t.messages(4) if "stood aside" in text]
    assert t.data(5)["handled"] == 1  # not our model: the bundled prompt hook still works
    assert "Traceback" not in t.stderr


def test_the_registry_promise_holds_inside_code_puppy(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    models = home / ".code_puppy" / "extra_models.json"
    original = '{\n\t"a" :   {"x": 1}, "b": [1,2]\n}\n'  # the example
    models.write_text(original)
    t = puppy.run(
        [{"op": "load"}, _cmd("/claude-code-auth"), _cmd("/claude-code-logout")],
        _env(home, emulator, scripted_browser),
    )
    _answered(t, 1)
    _answered(t, 2)
    assert "Removed 5 registered model(s)" in t.texts(2)
    assert models.read_text() == original
    assert json.loads(original) == {"a": {"x": 1}, "b": [1, 2]}


@pytest.mark.parametrize(
    "setting", ["output_level = low", "suppress_informational_messages = true"]
)
def test_sign_in_urls_survive_code_puppys_quiet_output_settings(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, setting: str
) -> None:
    # Code Puppy cuts informational messages to one line (low) or drops them (suppress):
    # the block with the URLs goes out at error level, so it is shown in full.
    with (home / ".code_puppy" / "puppy.cfg").open("a") as cfg:
        cfg.write(setting + "\n")
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth --no-browser --timeout 1"),
            _cmd("/claude-code-status"),
        ],
        _env(home, emulator),
    )
    _answered(t, 1)
    urls, outcome = t.message_numbers(1)
    emitted_as = {e["message"]: e["as"] for e in t.events if e.get("event") == "message"}
    assert emitted_as[urls] == "error"
    lines = [e for e in t.events if e.get("event") == "message" and e["message"] == urls]
    assert {e["type"] for e in lines} == {"info"}  # the lines keep their own level
    assert sum(e["text"].strip().startswith("http") for e in lines) == 2
    assert emitted_as[outcome] == "error"  # the timeout itself
    # Everything else follows the user's setting.
    (status,) = t.message_numbers(2)
    assert emitted_as[status] == "warning"


def test_a_models_file_damaged_behind_our_back_is_said_once_per_problem(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator
) -> None:
    models = home / ".code_puppy" / "extra_models.json"
    damage = iter(['{"a": 1,,}', '{"a": 1}', "[1, 2]"])

    def on_event(event: dict[str, Any], send: Any) -> None:
        if event.get("event") == "waiting":
            models.write_text(next(damage))
            send("go")

    t = puppy.run(
        [
            {"op": "load"},
            {"op": "wait", "label": "corrupt"},
            {"op": "models"},  # 2
            {"op": "models"},
            {"op": "wait", "label": "repair"},
            {"op": "models"},  # 5
            {"op": "wait", "label": "another problem"},
            {"op": "models"},  # 7
            {"op": "models"},
        ],
        _env(home, emulator),
        on_event=on_event,
    )

    def registry_lines(step: int) -> list[tuple[str, str]]:
        return [(k, x) for k, x in t.messages(step) if "cannot read the model registry" in x]

    ((kind, text),) = registry_lines(2)
    assert kind == "error" and "is not valid JSON" in text and "line 1, column 9" in text
    assert "claude-code-oauth " not in text.split(":", 1)[1]  # no CLI command suggested
    assert registry_lines(3) == [] and registry_lines(5) == []
    ((kind, text),) = registry_lines(7)
    assert "must hold a JSON object" in text
    assert registry_lines(8) == []


def test_logging_out_of_the_model_in_use_says_so_and_the_next_prompt_is_no_traceback(
    puppy: PuppyHost, home: Path, emulator: ClaudeEmulator, scripted_browser: str
) -> None:
    ours = "claude-code-claude-haiku-4-5-20251001"
    t = puppy.run(
        [
            {"op": "load"},
            _cmd("/claude-code-auth"),
            {"op": "prompt", "model": ours},
            _cmd("/claude-code-logout"),
            {"op": "prompt", "model": ours},
        ],
        _env(home, emulator, scripted_browser),
    )
    _answered(t, 1)
    assert t.data(2)["ended"] == "answered"
    _answered(t, 3)
    assert f"Code Puppy's current model, {ours}, was one of them" in t.texts(3)
    assert "/model" in t.texts(3)
    # This session's agent keeps our model: the next prompt is its one-line answer.
    assert t.data(4)["ended"] == "answered"
    assert t.data(4)["output"].startswith("[claude-code-oauth] Not signed in to Claude")
    assert "Traceback" not in t.stderr
