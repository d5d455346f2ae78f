"""Drive a real Code Puppy in this process, one scripted scenario per run.

Run by the Code Puppy tests as a subprocess (Code Puppy keeps global state and
computes its directories at import, so every scenario gets a fresh process with
its own ``HOME``)::

    python puppy_driver.py '<JSON list of steps>'

Each step is an object with an ``op`` (see ``OPS``). Every line written to
stdout is one JSON object:

* ``{"event": "message", "step": N, "message": M, "as": "info", "type": "info",
  "text": "..."}`` for each line of each message Code Puppy's messaging
  received (``M`` numbers the messages, ``as`` is the type it was emitted as,
  ``type`` the line's own level: one of our blocks carries lines of several
  levels), printed *as it is emitted* by a background thread (so a test can
  react while a command is still blocking, for example to paste a code into a
  waiting login);
* ``{"event": "waiting", "step": N, "label": "..."}`` when a ``wait`` step
  blocks until the test writes a line to stdin;
* ``{"event": "result", "step": N, "op": "...", "data": {...}}`` when a step ends;
* ``{"event": "done"}`` at the end.

Only the driver writes to stdout: what Code Puppy prints itself (an agent's
streamed answer, for one) is sent to stderr, so it cannot split an event line.

The clock: a test gives the run its wall clock through the environment —
``PUPPY_DRIVER_CLOCK_OFFSET`` (:meth:`claude_code_oauth.testing.clock.WallClock.env`),
seconds added to ``time.time`` in this process before Code Puppy or the plugin is
imported (the time keeps running; ``time.monotonic`` is untouched) — and a
``sync_clock`` step, which waits like ``wait`` and takes the test's reply as the
new offset. The test's emulator reads the same clock, so a reset the emulator
announces and the time the plugin compares it with agree, at an hour the test chose.

Stdin is read raw (``os.read``), one line per ``wait`` step, so nothing is
buffered away from a login that reads pasted codes from the same descriptor.
The driver never prints a token or code: it reports facts (booleans, counts,
truncated hashes) and redacts anything shaped like a Claude token.

This module imports only the standard library at the top: ``import_cost``
must be able to watch what the first Code Puppy imports bring in.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import threading
import time
import traceback
from typing import Any

REDACT = re.compile(r"sk-ant-[A-Za-z0-9_\-]*")
OUR_PLUGIN = "claude_code_oauth_pkce"
BUNDLED_PLUGIN = "claude_code_oauth"
#: Where the bundled plugin lives: in code-puppy-core-plugins, or in-tree (0.0.716).
BUNDLED_MODULES = (
    "code_puppy_core_plugins.claude_code_oauth.register_callbacks",
    "code_puppy.plugins.claude_code_oauth.register_callbacks",
)
OUR_MODULE = "claude_code_oauth.hosts.code_puppy.plugin"
HEAVY = ("httpx", "httpx2", "anthropic", "pydantic_ai", "rich", "filelock")

_out_lock = threading.Lock()
_events: Any = None


def emit(obj: dict[str, Any]) -> None:
    line = REDACT.sub("sk-ant-REDACTED", json.dumps(obj, default=str))
    with _out_lock:
        _events.write(line + "\n")
        _events.flush()


def claim_stdout() -> None:
    """Keep fd 1 for events only: whatever Code Puppy prints itself goes to stderr."""
    global _events
    _events = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)


def short_hash(secret: str | None) -> str | None:
    return None if secret is None else hashlib.sha256(secret.encode()).hexdigest()[:16]


def bundled_module() -> str:
    """The bundled plugin's module name in this Code Puppy."""
    from importlib.util import find_spec

    for name in BUNDLED_MODULES:
        try:
            if find_spec(name) is not None:
                return name
        except ImportError:
            continue
    raise RuntimeError("no bundled claude_code_oauth plugin in this Code Puppy")


@contextlib.contextmanager
def loading_context(callbacks: Any, owner: str) -> Any:
    """As Code Puppy's loader does: a token to restore from 0.0.850, none before."""
    token = callbacks.set_loading_context(owner)
    try:
        yield
    finally:
        if token is None:
            callbacks.clear_loading_context()
        else:
            callbacks.clear_loading_context(token)


def read_control_line() -> str:
    """One line from fd 0, read byte by byte so nothing else on stdin is consumed."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(0, 1)
        if not chunk:
            break
        data += chunk
    return data.decode().strip()


class Messages:
    """Streams Code Puppy's buffered messages out as they are emitted."""

    def __init__(self) -> None:
        self._seen = 0
        self._lock = threading.Lock()
        self.step = -1

    def start(self) -> None:
        threading.Thread(target=self._poll, name="driver-messages", daemon=True).start()

    def _poll(self) -> None:
        while True:
            time.sleep(0.05)
            self.flush()

    def flush(self) -> None:
        """Print the messages not printed yet (tagged with the current step)."""
        if "code_puppy.messaging" not in sys.modules:
            return
        from code_puppy.messaging import get_global_queue

        with self._lock:
            # No renderer runs here, so Code Puppy keeps every message in this buffer.
            buffered = get_global_queue().get_buffered_messages()
            for number, message in enumerate(buffered[self._seen :], start=self._seen):
                content = message.content
                kind = message.type.value
                event = {"event": "message", "step": self.step, "message": number, "as": kind}
                lines = getattr(content, "lines", None)
                if isinstance(lines, list):  # one of our blocks: its lines, with their levels
                    for level, text in lines:
                        emit({**event, "type": level, "text": text})
                    continue
                text = content.plain if hasattr(content, "plain") else str(content)
                emit({**event, "type": kind, "text": text})
            self._seen = max(self._seen, len(buffered))


class Driver:
    def __init__(self) -> None:
        self.messages = Messages()
        self._loop: Any = None
        self._models: dict[str, Any] = {}
        self.guard: Any = None
        self.guard_presses = 0
        self._heal: Any = lambda: None

    @property
    def loop(self) -> Any:
        # One event loop for every async step, as in Code Puppy's interactive mode:
        # models (and their HTTP clients) built once are reused across runs.
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop

    # -- loading --------------------------------------------------------------

    def op_import_cost(self, step: dict[str, Any]) -> dict[str, Any]:
        import code_puppy.callbacks  # noqa: F401

        before = set(sys.modules)
        started = time.perf_counter()
        __import__(OUR_MODULE)
        elapsed = time.perf_counter() - started
        new = set(sys.modules) - before
        return {
            "heavy_new": sorted(m for m in new if m.split(".")[0] in HEAVY),
            "anthropic_loaded": any(m.split(".")[0] == "anthropic" for m in sys.modules),
            "new_count": len(new),
            "seconds": round(elapsed, 3),
        }

    def op_load(self, step: dict[str, Any]) -> dict[str, Any]:
        from code_puppy import callbacks, plugins

        loaded = plugins.load_plugin_callbacks()
        ours = sys.modules.get(OUR_MODULE)
        return {
            "loaded": {tier: list(names) for tier, names in loaded.items()},
            "our_owners": self._owners(callbacks, OUR_MODULE),
            "our_help": [list(entry) for entry in (ours._custom_help() if ours else [])],
        }

    def op_load_bundled_last(self, step: dict[str, Any]) -> dict[str, Any]:
        """Import ours, then the bundled plugin (each in its loading context), then startup."""
        import asyncio
        import importlib

        from code_puppy import callbacks

        for owner, module in ((OUR_PLUGIN, OUR_MODULE), (BUNDLED_PLUGIN, bundled_module())):
            with loading_context(callbacks, owner):
                importlib.import_module(module)
        before = self._command_owners(callbacks)
        if step.get("startup", True):
            asyncio.run(callbacks.on_startup())
        return {
            "our_owners": self._owners(callbacks, OUR_MODULE),
            "before_startup": before,
            "after_startup": self._command_owners(callbacks),
        }

    @staticmethod
    def _owners(callbacks: Any, module: str) -> dict[str, list[str | None]]:
        owners: dict[str, list[str | None]] = {}
        for phase in ("custom_command", "custom_command_help", "register_model_type"):
            for func in callbacks.get_callbacks(phase, include_disabled=True):
                if getattr(func, "__module__", None) == module:
                    owners.setdefault(phase, []).append(callbacks.get_callback_owner(func))
        return owners

    @staticmethod
    def _command_owners(callbacks: Any) -> list[list[Any]]:
        return [
            [callbacks.get_callback_owner(f), bool(getattr(f, "_claude_code_oauth_superseded", 0))]
            for f in callbacks.get_callbacks("custom_command", include_disabled=True)
            if callbacks.get_callback_owner(f) in (OUR_PLUGIN, BUNDLED_PLUGIN)
        ]

    # -- commands -------------------------------------------------------------

    def op_cmd(self, step: dict[str, Any]) -> dict[str, Any]:
        from code_puppy.command_line.command_handler import handle_command

        started = time.perf_counter()
        error = None
        try:
            returned: Any = handle_command(step["text"])
        except BaseException as exc:  # reported, so a test can fail on it
            returned, error = None, f"{type(exc).__name__}: {exc}"
        return {
            "returned": returned if isinstance(returned, bool | str | None) else repr(returned),
            "raised": error,
            "seconds": round(time.perf_counter() - started, 3),
        }

    # -- models ---------------------------------------------------------------

    def op_models(self, step: dict[str, Any]) -> dict[str, Any]:
        from code_puppy.model_factory import ModelFactory

        config = ModelFactory.load_config()
        return {
            "models": {
                key: {f: value.get(f) for f in ("type", "name", "oauth_source")}
                for key, value in config.items()
                if isinstance(value, dict)
            }
        }

    def _model(self, key: str) -> Any:
        if key not in self._models:
            from code_puppy.model_factory import ModelFactory

            self._models[key] = ModelFactory.get_model(key, ModelFactory.load_config())
        return self._models[key]

    def op_model_run(self, step: dict[str, Any]) -> dict[str, Any]:
        """A request through a model built by Code Puppy's factory (kept for later steps)."""
        from pydantic_ai import Agent

        model = self._model(step["model"])
        result: dict[str, Any] = {"model_class": type(model).__name__}
        if model is None:
            return result
        try:
            run = self.loop.run_until_complete(Agent(model).run(step.get("prompt", "hello")))
            result["output"] = run.output
        except Exception as exc:
            result["error"] = _describe_error(exc)
        return result

    def op_agent_run(self, step: dict[str, Any]) -> dict[str, Any]:
        """A turn of Code Puppy's own agent (prompt preparation, tools) on ``model``; the
        prompt is ``prompt`` said ``repeat`` times (a large one costs no argv space)."""
        from code_puppy import config as cp_config
        from code_puppy.agents import get_current_agent

        cp_config.set_model_name(step["model"])
        agent = get_current_agent()
        result: dict[str, Any] = {"agent": type(agent).__name__}
        prompt = step.get("prompt", "hello") * step.get("repeat", 1)
        try:
            run = self.loop.run_until_complete(agent.run_with_mcp(prompt))
            result["output"] = getattr(run, "output", None)
        except BaseException as exc:
            result["raised"] = _describe_error(exc)
        return result

    def op_prompt(self, step: dict[str, Any]) -> dict[str, Any]:
        """A prompt as Code Puppy's interactive loop runs it: the agent turn (with Code
        Puppy's own retries), then, if it raised, Code Puppy's own rendering of the
        exception (``cli_runner._render_turn_exception``: a line or a traceback)."""
        from code_puppy import cli_runner
        from code_puppy import config as cp_config
        from code_puppy.agents import get_current_agent

        cp_config.set_model_name(step["model"])
        agent = get_current_agent()
        result: dict[str, Any] = {}
        started = time.perf_counter()
        try:
            run = self.loop.run_until_complete(agent.run_with_mcp(step.get("prompt", "hello")))
            result["ended"] = "stopped" if run is None else "answered"
            result["output"] = getattr(run, "output", None)
        except Exception as exc:
            result["ended"] = "raised"
            result["raised"] = _describe_error(exc)
            result["transient"] = _transient(exc)
            cli_runner._render_turn_exception(exc)
        result["seconds"] = round(time.perf_counter() - started, 3)
        return result

    def op_pydantic_ai_speed(self, step: dict[str, Any]) -> dict[str, Any]:
        """Whether this Code Puppy's pydantic-ai has a ``speed`` setting (asked
        independently of the plugin's own detection)."""
        import typing

        from pydantic_ai.models.anthropic import AnthropicModelSettings

        return {"speed": "anthropic_speed" in typing.get_type_hints(AnthropicModelSettings)}

    def op_model_setting(self, step: dict[str, Any]) -> dict[str, Any]:
        """Set a per-model setting as Code Puppy's /model_settings menu saves it."""
        from code_puppy.config import set_model_setting

        set_model_setting(step["model"], step["setting"], step["value"])
        return {}

    def op_env_token(self, step: dict[str, Any]) -> dict[str, Any]:
        from code_puppy import config as cp_config

        from claude_code_oauth.config_rules import token_file_name
        from claude_code_oauth.tokens import store as token_store

        value = os.environ.get("CLAUDE_CODE_ACCESS_TOKEN")
        name = token_file_name("claude_code_oauth.json", step.get("profile", "default"))
        path = os.path.join(cp_config.DATA_DIR, name)
        record = token_store.load_sign_in(path)
        stored = getattr(record, "access_token", None) or getattr(record, "api_key", None)
        return {
            "present": value is not None,
            "equals_stored": value is not None and value == stored,
            "hash": short_hash(value),
            "mode": oct(os.stat(path).st_mode & 0o777) if record is not None else None,
        }

    # -- the bundled plugin's model hooks ---------------------------------------

    def op_prompt_hook(self, step: dict[str, Any]) -> dict[str, Any]:
        from code_puppy import callbacks

        results = callbacks.on_prepare_model_prompt(step["model"], "sys", "user")
        handled = [r for r in results if isinstance(r, dict) and r.get("handled")]
        # Where the identity goes differs by release (system_prompt, or instructions).
        return {
            "handled": len(handled),
            "identity_prompt": any(
                "You are Claude Code" in str(value) for r in handled for value in r.values()
            ),
        }

    def op_heartbeat(self, step: dict[str, Any]) -> dict[str, Any]:
        import importlib

        from code_puppy import callbacks

        bundled = importlib.import_module(bundled_module())
        key = step["model"]
        self.loop.run_until_complete(callbacks.on_agent_run_start("agent", key, "s1"))
        during = len(bundled._active_heartbeats)
        self.loop.run_until_complete(callbacks.on_agent_run_end("agent", key, "s1"))
        return {"during": during, "after": len(bundled._active_heartbeats)}

    # -- superseding the bundled plugin, with the host's registration broken ----

    def _bundled_callbacks(self, callbacks: Any) -> dict[str, list[int]]:
        """Every callback of the phases we wrap that is not ours, by identity, in order."""
        phases = (
            "custom_command",
            "custom_command_help",
            "prepare_model_prompt",
            "agent_run_start",
            "agent_run_end",
        )
        return {
            phase: [
                id(f)
                for f in callbacks.get_callbacks(phase, include_disabled=True)
                if callbacks.get_callback_owner(f) != OUR_PLUGIN
            ]
            for phase in phases
        }

    def op_load_with_broken_registration(self, step: dict[str, Any]) -> dict[str, Any]:
        """Load the bundled plugin, then ours while the host fails to register our
        wrapper for ``step["phase"]`` (``mode``: ``drop`` silently, as 0.0.850+
        does with a late registration, or ``raise``). The fault stays until ``heal``."""
        import importlib

        from code_puppy import callbacks

        with loading_context(callbacks, BUNDLED_PLUGIN):
            importlib.import_module(bundled_module())
        before = self._bundled_callbacks(callbacks)
        original = callbacks.register_callback
        failures = []

        def register_callback(phase: str, func: Any, *args: Any, **kwargs: Any) -> Any:
            if phase == step["phase"] and getattr(func, "_claude_code_oauth_superseded", 0):
                failures.append(phase)
                if step["mode"] == "raise":
                    raise TypeError("injected registration failure")
                return None
            return original(phase, func, *args, **kwargs)

        callbacks.register_callback = register_callback
        self._heal = lambda: setattr(callbacks, "register_callback", original)
        with loading_context(callbacks, OUR_PLUGIN):
            importlib.import_module(OUR_MODULE)
        from claude_code_oauth.hosts.code_puppy import supersede

        return {
            "bundled_unchanged": self._bundled_callbacks(callbacks) == before,
            "injected": len(failures),
            "failure": supersede.failure(),
            "our_owners": self._owners(callbacks, OUR_MODULE),
        }

    def op_heal(self, step: dict[str, Any]) -> dict[str, Any]:
        self._heal()
        return {}

    # -- Ctrl-C ---------------------------------------------------------------

    def op_sigint_guard(self, step: dict[str, Any]) -> dict[str, Any]:
        """Swallow SIGINT the way Code Puppy's interactive loop does (and count presses)."""
        import signal

        self.guard_presses = 0

        def guard(signum: int, frame: Any) -> None:
            self.guard_presses += 1

        self.guard = guard
        signal.signal(signal.SIGINT, guard)
        return {}

    def op_sigint_state(self, step: dict[str, Any]) -> dict[str, Any]:
        import signal

        return {
            "guard_restored": signal.getsignal(signal.SIGINT) is self.guard,
            "guard_presses": self.guard_presses,
        }

    # -- control --------------------------------------------------------------

    def op_wait(self, step: dict[str, Any]) -> dict[str, Any]:
        emit({"event": "waiting", "step": self.messages.step, "label": step.get("label", "")})
        return {"line": read_control_line()}

    def op_sync_clock(self, step: dict[str, Any]) -> dict[str, Any]:
        """Wait (label ``clock``) for the test's clock offset and run on it from now on."""
        emit({"event": "waiting", "step": self.messages.step, "label": "clock"})
        _clock_offset[0] = float(read_control_line())
        return {"offset": _clock_offset[0]}

    def run(self, steps: list[dict[str, Any]]) -> int:
        if steps and steps[0]["op"] != "import_cost":
            # (import_cost watches sys.modules: nothing may import alongside it.)
            self.messages.start()
        for index, step in enumerate(steps):
            self.messages.step = index
            handler = getattr(self, "op_" + step["op"])
            try:
                data = handler(step)
            except Exception as exc:
                traceback.print_exc()
                data = {"driver_error": f"{type(exc).__name__}: {exc}"}
            self.messages.flush()
            emit({"event": "result", "step": index, "op": step["op"], "data": data})
        emit({"event": "done"})
        return 0


def _transient(exc: BaseException) -> bool | None:
    """Whether Code Puppy classifies ``exc`` as a transient blip (it retries those)."""
    try:
        from code_puppy.agents.base_agent import should_retry_streaming_exception
    except ImportError:
        return None
    return bool(should_retry_streaming_exception(exc))


def _describe_error(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    message = None
    if isinstance(body, dict):
        message = (body.get("error") or {}).get("message")
    # Our named error rides on the exception itself or one it was raised from
    # (pydantic-ai re-raises a cancellation as its own RunCancelled).
    carrier: BaseException | None = exc
    while carrier is not None and getattr(carrier, "claude_error", None) is None:
        carrier = carrier.__cause__
    named = getattr(carrier, "claude_error", None)
    return {
        "type": type(exc).__name__,
        "carrier": type(carrier).__name__ if carrier is not None else None,
        "claude_error": type(named).__name__ if named is not None else None,
        "status_code": getattr(exc, "status_code", None),
        "message": message,
        "text": str(exc)[:500],
    }


# -- the test side --------------------------------------------------------------


PUPPY_CFG = "[puppy]\npuppy_name = Testy\nowner_name = Tester\n"


def make_home(root: str, extra_cfg: str = "") -> str:
    """A fresh HOME with Code Puppy's puppy.cfg pre-seeded (else it asks for names);
    ``extra_cfg`` lines are added to its ``[puppy]`` section."""
    home = os.path.join(root, "home")
    os.makedirs(os.path.join(home, ".code_puppy"), mode=0o700)
    with open(os.path.join(home, ".code_puppy", "puppy.cfg"), "w") as handle:
        handle.write(PUPPY_CFG + extra_cfg)
    return home


def puppy_env(home: str, endpoints: dict[str, str], *, browser: str | None) -> dict[str, str]:
    """The subprocess environment: only the emulator's endpoints and a private HOME."""
    dropped = ("XDG_", "CLAUDE_CODE_", "ANTHROPIC_", "PYTEST_", "SSH_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "HEADLESS", "CI"):
        env.pop(name, None)
    env.update(endpoints)
    env["HOME"] = home
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    env["PYTHONUNBUFFERED"] = "1"
    if browser is not None:
        env["BROWSER"] = browser
    return env


class Transcript:
    """What one driver run printed, parsed."""

    def __init__(self, events: list[dict[str, Any]], stderr: str, returncode: int) -> None:
        self.events = events
        self.stderr = stderr
        self.returncode = returncode
        self.results = [e for e in events if e.get("event") == "result"]

    def data(self, step: int) -> dict[str, Any]:
        for event in self.results:
            if event["step"] == step:
                return event["data"]
        raise AssertionError(f"step {step} produced no result; stderr tail: {self.stderr[-800:]}")

    def messages(self, step: int) -> list[tuple[str, str]]:
        return [
            (e["type"], e["text"])
            for e in self.events
            if e.get("event") == "message" and e["step"] == step
        ]

    def message_numbers(self, step: int) -> list[int]:
        """The distinct Code Puppy messages of ``step``, in emission order."""
        numbers: list[int] = []
        for e in self.events:
            if e.get("event") == "message" and e["step"] == step and e["message"] not in numbers:
                numbers.append(e["message"])
        return numbers

    def texts(self, step: int) -> str:
        return "\n".join(text for _, text in self.messages(step))


class Control:
    """What ``on_event`` may do to the driver: ``send(text)`` writes a line to its
    stdin; ``send.interrupt()`` sends it SIGINT, as Ctrl-C in a terminal would."""

    def __init__(self, proc: Any) -> None:
        self._proc = proc

    def __call__(self, text: str) -> None:
        self._proc.stdin.write(text + "\n")
        self._proc.stdin.flush()

    def interrupt(self) -> None:
        import signal

        self._proc.send_signal(signal.SIGINT)


#: The interpreter ``run_driver`` uses when none is given (the in-host tests' conftest
#: sets it to each configured Code Puppy installation in turn).
DEFAULT_PYTHON: str | None = None


#: What decides where an interpreter finds its modules: a scenario that sets one other
#: than the tests' own is not forked from a server that imported with the tests' own.
IMPORT_VARIABLES = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSAFEPATH",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
)


def run_driver(
    steps: list[dict[str, Any]],
    env: dict[str, str],
    *,
    on_event: Any = None,
    timeout: float = 60.0,
    python: str | None = None,
) -> Transcript:
    """Run the driver in a subprocess; ``on_event(event, send)`` sees each event live.

    ``python`` is the interpreter of the Code Puppy installation to drive
    (default: this one); it needs this package installed too.

    ``send(text)`` writes a line to the driver's stdin (an answer to a ``wait``
    step, or a pasted code while a login waits).
    """
    import subprocess

    interpreter = python or DEFAULT_PYTHON or sys.executable
    script = json.dumps(steps)
    proc: Any = None
    # A fresh interpreter where the scenario watches its imports, or changes where
    # Python finds them (a preloaded library would be the server's, not the one its
    # PYTHONPATH names), or when asked: else a fork of a process that preloaded the
    # libraries (see puppy_forkserver).
    watches_imports = bool(steps) and steps[0].get("op") == "import_cost"
    moves_imports = any(env.get(name) != os.environ.get(name) for name in IMPORT_VARIABLES)
    if os.environ.get("PUPPY_DRIVER_FRESH") != "1" and not (watches_imports or moves_imports):
        from . import puppy_forkserver

        proc = puppy_forkserver.spawn(interpreter, script, env, env["HOME"])
    if proc is None:
        proc = subprocess.Popen(
            [interpreter, os.path.abspath(__file__), script],
            env=env,
            cwd=env["HOME"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stderr_parts: list[str] = []
    reader = threading.Thread(target=lambda: stderr_parts.append(proc.stderr.read()), daemon=True)
    reader.start()
    timer = threading.Timer(timeout, proc.kill)
    timer.start()

    send = Control(proc)

    events: list[dict[str, Any]] = []
    try:
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "stray", "text": REDACT.sub("sk-ant-REDACTED", line)}
            events.append(event)
            if on_event is not None:
                on_event(event, send)
    except BaseException:
        proc.kill()  # the test failed while the driver may be blocked waiting for it
        raise
    finally:
        timer.cancel()
        with contextlib.suppress(OSError):
            proc.stdin.close()
        returncode = proc.wait(timeout=10)
        reader.join(10)
    stderr = REDACT.sub("sk-ant-REDACTED", "".join(stderr_parts))
    if not (events and events[-1].get("event") == "done"):
        raise AssertionError(
            f"driver did not finish (exit {returncode}, killed after {timeout:g} s?); "
            f"last events: {events[-3:]}; stderr tail: {stderr[-1500:]}"
        )
    return Transcript(events, stderr, returncode)


#: Seconds this process's ``time.time`` runs ahead of the real time (see the module doc).
_clock_offset = [0.0]


def install_clock() -> None:
    """Shift ``time.time`` by ``PUPPY_DRIVER_CLOCK_OFFSET`` when the test set it; before
    anything else is imported, so even a default argument bound to ``time.time`` sees it."""
    offset = os.environ.get("PUPPY_DRIVER_CLOCK_OFFSET")
    if offset is None:
        return
    _clock_offset[0] = float(offset)
    real = time.time

    def shifted() -> float:
        return real() + _clock_offset[0]

    time.time = shifted


if __name__ == "__main__":
    install_clock()
    claim_stdout()
    sys.exit(Driver().run(json.loads(sys.argv[1])))
