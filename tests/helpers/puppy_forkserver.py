"""Start each Code Puppy scenario from a process that has already imported its libraries.

A scenario (``puppy_driver.run_driver``) needs a fresh Code Puppy process: Code Puppy
keeps global state and computes its directories at import. But most of what such a
process imports is not Code Puppy's: pydantic-ai, anthropic, mcp, rich and the rest
(about 4 700 modules) cost some 5 s of CPU per scenario, against half a second for
Code Puppy, its plugins and ours. So, per Code Puppy installation and test process,
one server (this script, run by that installation's Python) imports those libraries
once and forks a child per scenario. The child then is what a fresh ``python
puppy_driver.py STEPS`` would be: its own stdin, stdout and stderr (the test's pipes),
environment, ``TZ``, working directory and arguments; Code Puppy, its bundled plugins
and this package imported there for the first time; the same driver; a normal
interpreter exit (non-daemon threads joined, ``atexit`` run).

What is preloaded: every module a ``load`` step imports, except ``code_puppy*``,
``code_puppy_core_plugins*`` and ``claude_code_oauth*`` — learnt once per installation
by a probe child and kept beside it (``claude-code-oauth-test-preload.json`` in the
venv). The server forks only while it has a single thread; none of the preloaded
modules keeps the server's ``HOME`` or reads the variables a scenario sets
(``PYTHON_KEYRING_BACKEND``, ``BROWSER``, ``TZ``) before it is used.

A scenario whose first step is ``import_cost`` (it watches what importing our plugin
brings in), one whose environment moves where Python finds modules (``PYTHONPATH``
and the like: ``puppy_driver.IMPORT_VARIABLES``), and every scenario when
``PUPPY_DRIVER_FRESH=1`` is set still gets a fresh interpreter (``run_driver``
decides).

Standard library only at module level.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import io
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
from typing import Any, BinaryIO, TextIO

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "puppy_driver.py")
NOT_PRELOADED = ("code_puppy", "code_puppy_core_plugins", "claude_code_oauth", "puppy_driver")
CACHE_NAME = "claude-code-oauth-test-preload.json"
_LENGTH = struct.Struct("!Q")


# -- the server (run by a Code Puppy installation's Python) ---------------------------


def _probe_modules() -> list[str]:
    """In a throwaway child: what one ``load`` step imports (names only)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        import puppy_driver

        puppy_driver.claim_stdout()
        puppy_driver.Driver().run([{"op": "load"}])
        names = [m for m in list(sys.modules) if m.split(".")[0] not in NOT_PRELOADED]
        with os.fdopen(write, "w") as out:
            json.dump(names, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as found:
        text = found.read()
    os.waitpid(pid, 0)
    return list(json.loads(text)) if text else []


def _preload(cache: str, version: str) -> None:
    names: list[str] = []
    with contextlib.suppress(OSError, ValueError):
        with open(cache) as kept:
            saved = json.load(kept)
        if saved.get("code_puppy") == version:
            names = list(saved["modules"])
    if not names:
        names = _probe_modules()
        temporary = f"{cache}.{os.getpid()}"
        with open(temporary, "w") as out:
            json.dump({"code_puppy": version, "modules": names}, out)
        os.replace(temporary, cache)
    for name in names:
        if name.split(".")[0] in NOT_PRELOADED or name.startswith("__"):
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # not importable out of its context: the child imports it
            continue


def _child(header: dict[str, Any], fds: list[int], close: list[Any]) -> None:
    """Become ``python puppy_driver.py STEPS`` for one scenario; exits like it."""
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for thing in close:
        thing.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False))
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), write_through=True, errors="backslashreplace"
    )
    os.environ.clear()
    os.environ.update(header["env"])
    import time

    time.tzset()
    os.chdir(header["cwd"])
    sys.argv = [DRIVER, header["steps"]]
    import puppy_driver

    puppy_driver.install_clock()
    puppy_driver.claim_stdout()
    sys.exit(puppy_driver.Driver().run(json.loads(header["steps"])))


def serve(address: str, cache: str, version: str) -> None:
    """Preload, say ``ready`` on stdout, then fork a child per connection until stdin
    closes. A connection sends the header's length and the child's three descriptors,
    then the header (JSON: steps, env, cwd); it gets ``{"pid"}`` and later
    ``{"status"}`` (as ``Popen.returncode`` would be) lines back."""
    _preload(cache, version)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(16)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    selector.register(wake_read, selectors.EVENT_READ, "reap")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    children: dict[int, socket.socket] = {}
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            if key.data == "stdin":
                if not sys.stdin.readline():  # the test process is gone
                    for pid in children:
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                    return
            elif key.data == "reap":
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 4096)
                while children:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                    if pid == 0:
                        break
                    conn = children.pop(pid, None)
                    if conn is not None:
                        code = os.waitstatus_to_exitcode(status)
                        with contextlib.suppress(OSError):
                            conn.sendall(json.dumps({"status": code}).encode() + b"\n")
                        conn.close()
            else:
                conn, _ = listener.accept()
                raw, fds, _flags, _addr = socket.recv_fds(conn, _LENGTH.size, 3)
                (length,) = _LENGTH.unpack(raw)
                data = b""
                while len(data) < length:
                    data += conn.recv(length - len(data))
                if threading.active_count() != 1:  # never fork a process with threads
                    conn.sendall(b'{"refused": "threads"}\n')
                    conn.close()
                    for fd in fds:
                        os.close(fd)
                    continue
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    others = [listener, conn, selector, *children.values()]
                    os.close(wake_read)
                    os.close(wake_write)
                    _child(json.loads(data), fds, others)  # exits
                for fd in fds:
                    os.close(fd)
                children[pid] = conn
                conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


# -- the test side ----------------------------------------------------------------------


class ForkedDriver:
    """A forked scenario, with what ``run_driver`` uses of ``subprocess.Popen``."""

    def __init__(
        self,
        conn: socket.socket,
        replies: BinaryIO,
        pid: int,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
    ) -> None:
        self._conn = conn
        self._replies = replies
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._conn.settimeout(timeout)
            try:
                line = self._replies.readline()
            except TimeoutError:
                raise subprocess.TimeoutExpired(DRIVER, timeout or 0) from None
            self.returncode = int(json.loads(line)["status"]) if line else -9
            self._replies.close()
            self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """The server of one Code Puppy installation, started on first use."""

    def __init__(self, python: str) -> None:
        self.python = python
        self._dir = tempfile.mkdtemp(prefix="puppy-forkserver-")
        self.address = os.path.join(self._dir, "socket")
        venv = os.path.dirname(os.path.dirname(python))
        version = _code_puppy_version(python)
        home = os.path.join(self._dir, "home")
        os.makedirs(home)
        # As a scenario's (``puppy_driver.puppy_env``): the locale and PATH of this
        # process, none of its test or client settings, a HOME of its own.
        dropped = ("XDG_", "CLAUDE_CODE_", "ANTHROPIC_", "PYTEST_", "SSH_", "PUPPY_DRIVER_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "HEADLESS", "CI", "TZ"):
            env.pop(name, None)
        env.update(
            HOME=home, PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", PYTHONUNBUFFERED="1"
        )
        with open(os.path.join(self._dir, "server.log"), "w") as log:
            self._process = subprocess.Popen(
                [python, __file__, self.address, os.path.join(venv, CACHE_NAME), version],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=home,
                env=env,
                text=True,
            )
        assert self._process.stdout is not None
        if self._process.stdout.readline().strip() != "ready":
            self._process.wait(30)
            raise RuntimeError(f"the fork server of {python} did not start: see {self._dir}")

    def spawn(self, steps: str, env: dict[str, str], cwd: str) -> ForkedDriver | None:
        """A forked scenario, or ``None`` if the server cannot fork now."""
        child_in, stdin = os.pipe()
        stdout, child_out = os.pipe()
        stderr, child_err = os.pipe()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(self.address)
        header = json.dumps({"steps": steps, "env": env, "cwd": cwd}).encode()
        socket.send_fds(conn, [_LENGTH.pack(len(header))], [child_in, child_out, child_err])
        conn.sendall(header)
        for fd in (child_in, child_out, child_err):
            os.close(fd)
        replies = conn.makefile("rb")
        reply = json.loads(replies.readline() or b"{}")
        if "pid" not in reply:
            replies.close()
            conn.close()
            for fd in (stdin, stdout, stderr):
                os.close(fd)
            return None
        return ForkedDriver(
            conn,
            replies,
            int(reply["pid"]),
            open(stdin, "w", buffering=1, encoding="utf-8"),
            open(stdout, encoding="utf-8"),
            open(stderr, encoding="utf-8", errors="replace"),
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self._process.stdin is not None:
                self._process.stdin.close()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def _code_puppy_version(python: str) -> str:
    import glob
    from importlib import metadata

    venv = os.path.dirname(os.path.dirname(python))
    for site in glob.glob(os.path.join(venv, "lib", "python3*", "site-packages")):
        for dist in metadata.distributions(name="code-puppy", path=[site]):
            return dist.version
    return "unknown"


_servers: dict[str, ForkServer] = {}
_servers_lock = threading.Lock()


def spawn(python: str, steps: str, env: dict[str, str], cwd: str) -> ForkedDriver | None:
    """A scenario forked from ``python``'s server (started on first use), or ``None``."""
    with _servers_lock:
        server = _servers.get(python)
        if server is None:
            server = _servers[python] = ForkServer(python)
    return server.spawn(steps, env, cwd)


@atexit.register
def _close_servers() -> None:
    for server in _servers.values():
        server.close()


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3])
