"""Shared fixtures, the tiers' markers, the midnight runs, and the secret scan every
test passes through.

The scan fails any test whose captured output (stdout, stderr, logging) or
failure report contains a token, code or verifier the emulator handed out or
received, or anything shaped like a Claude token. Subprocess output that a test
merely captures into a variable is not output; printing it is.

Tiers (CONTRIBUTING.md says which to run when; the markers are registered in
pyproject.toml and ``--strict-markers`` refuses others). Markers set here from what a
test uses, so a new test is classified without anyone remembering:

* ``host``: parametrized by a Code Puppy installation (``tests/hosts/code_puppy``,
  except modules that test an adapter in this process);
* ``keyring``: uses the private gnome-keyring (the ``private_keyring`` fixture);
* ``browser``: uses Chromium (the ``chromium`` fixture).

Set by the module or test itself: ``multiprocess`` (processes racing for the token
file or killed mid-write), ``machine`` (tmpfs mounts, another user), ``subprocess``
(runs a program: our command, a worker, a scripted browser), and ``time_sensitive``
(formats or compares local times). A test that starts a process without one of the
markers that allow it fails, naming them (the interpreter's audit events are watched),
so the unit tier (``make test-fast``) never quietly starts one. Every
``time_sensitive`` test runs three times: as the zone is, then with ``TZ`` set so
local time is just before midnight, then just after (computed when the test starts:
see :func:`local_time`).
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from helpers.local_time import zone_with_local_time

#: OAuth access and refresh tokens, and the API keys a Console sign-in creates.
TOKEN_SHAPE = re.compile(r"sk-ant-(?:o[ar]t01|api03)-[A-Za-z0-9_\-]{6,}")


def find_secrets(text: str) -> list[str]:
    """Secrets (issued or token-shaped) found in ``text``, redacted for reporting."""
    found = [m.group(0) for m in TOKEN_SHAPE.finditer(text)]
    found += [s for s in list(ISSUED_SECRETS) if len(s) >= 16 and s in text]
    return [f"{s[:12]}…({len(s)} chars)" for s in found]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    texts = [content for _, content in report.sections]
    if report.longrepr is not None:
        texts.append(str(report.longrepr))
    leaked = find_secrets("\n".join(texts))
    if leaked:
        report.outcome = "failed"
        report.longrepr = (
            f"SECRET SCAN: {len(leaked)} secret(s) appeared in this test's output: "
            f"{', '.join(leaked[:5])}"
        )


# -- tiers and the midnight runs -----------------------------------------------------

#: The extra runs of a ``time_sensitive`` test: local time (seconds past midnight) when
#: the test starts (to within 30 s: zones have whole-minute offsets). Two minutes before
#: midnight leaves even a Code Puppy scenario on its side of it; one after is the new day.
MIDNIGHT_RUNS = {"local-23h58": 23 * 3600 + 58 * 60, "local-00h01": 60}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("time_sensitive") is not None:
        metafunc.parametrize(
            "local_time", [None, *MIDNIGHT_RUNS], ids=["zone", *MIDNIGHT_RUNS], indirect=True
        )


@pytest.fixture(autouse=True)
def local_time(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """For a ``time_sensitive`` test's midnight runs: ``TZ`` (here and in every process
    the test starts) such that local time is the run's time of day now; restored after."""
    run: str | None = getattr(request, "param", None)
    if run is None:
        yield None
        return
    zone = zone_with_local_time(MIDNIGHT_RUNS[run])
    previous = os.environ.get("TZ")
    os.environ["TZ"] = zone
    time.tzset()
    try:
        yield zone
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()


#: Audit events that start a process (subprocess, pexpect's pty fork, os.system...).
PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn", "os.exec", "os.spawn"}
    | {"os.system"}
)
#: The markers under which a test may start processes.
PROCESS_MARKERS = ("host", "browser", "keyring", "multiprocess", "machine", "subprocess")
_processes_started: list[str] = []


def _watch_processes(event: str, args: tuple[object, ...]) -> None:
    if event in PROCESS_EVENTS:
        _processes_started.append(event)


sys.addaudithook(_watch_processes)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    _processes_started.clear()
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    if _processes_started and not any(item.get_closest_marker(m) for m in PROCESS_MARKERS):
        pytest.fail(
            f"this test started a process ({_processes_started[0]}) but is not marked as "
            f"one that may: mark it (or its module) with one of {', '.join(PROCESS_MARKERS)}"
            " (see CONTRIBUTING.md)",
            pytrace=False,
        )
    return result


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "puppy" in callspec.params:
            item.add_marker(pytest.mark.host)
        names = getattr(item, "fixturenames", ())
        if "private_keyring" in names:
            item.add_marker(pytest.mark.keyring)
        if "chromium" in names:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def emulator() -> Iterator[ClaudeEmulator]:
    """A fresh emulator on an OS-assigned loopback port (consent page, not auto-approve)."""
    with ClaudeEmulator() as emu:
        yield emu


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture
def token_path(data_dir: Path) -> Path:
    """Where the default profile's token file lives in ``data_dir``."""
    return data_dir / "claude_code_oauth.json"


@pytest.fixture
def proxy(emulator: ClaudeEmulator) -> Iterator[HostileProxy]:
    """A :class:`HostileProxy` in front of the emulator; it forwards until told otherwise."""
    with HostileProxy(emulator.base_url) as running:
        yield running


@pytest.fixture
def client_env(emulator: ClaudeEmulator, data_dir: Path, tmp_path: Path) -> dict[str, str]:
    """Environment for a client subprocess: emulator endpoints, private data dir and HOME."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CLAUDE_CODE_OAUTH_", "XDG_", "SSH_")) and k not in ("BROWSER",)
    }
    env.update(emulator.env())
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    env["HOME"] = str(tmp_path / "home")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


@pytest.fixture
def settings(emulator: ClaudeEmulator, data_dir: Path) -> Settings:
    """In-process settings pointing at the emulator and the private data dir."""
    env = {"HOME": str(data_dir.parent / "home"), **emulator.env()}
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    return Settings(environ=env)


@pytest.fixture
def scripted_browser() -> str:
    """A BROWSER value that approves on the emulator's consent page."""
    return f"{sys.executable} -m claude_code_oauth.testing.scripted_browser %s"


# -- a real gnome-keyring on a private session bus, once per test session ------------------
# The fixture fails loudly when the daemon cannot be started (never skips): `make test`
# installs dbus-daemon and gnome-keyring when they are missing.

#: Deadline for keyring calls that are expected to succeed: generous, so a loaded machine
#: does not fail them; the tests about deadlines set their own short ones.
CALM_TIMEOUT = 30.0

_keyring_profiles = itertools.count()


@pytest.fixture(scope="session")
def private_keyring() -> Iterator[PrivateKeyring]:
    with PrivateKeyring() as keyring:
        yield keyring


@pytest.fixture
def keyring_env(private_keyring: PrivateKeyring) -> dict[str, str]:
    # A daemon that died in an earlier test (gnome-keyring-daemon once aborted inside
    # GLib) is started again, said as a warning in the summary: the test that saw it die
    # failed for that; the tests after it are not failed by it too.
    ended = private_keyring.restart_if_gone()
    if ended is not None:
        warnings.warn(
            f"gnome-keyring-daemon had exited (status {ended}); started it again",
            stacklevel=1,
        )
    return dict(private_keyring.env)


@pytest.fixture
def secret_service(keyring_env: dict[str, str]) -> SecretServiceStore:
    return SecretServiceStore(environ=keyring_env, timeout=CALM_TIMEOUT)


@pytest.fixture
def profile() -> str:
    """A profile name no other test in this session uses (its keyring item is its own)."""
    return f"test-{next(_keyring_profiles)}"
