"""A private session bus with a real gnome-keyring on it, for tests and benchmarks.

:class:`PrivateKeyring` starts ``dbus-daemon`` with a configuration of its own (no
service directories, so nothing is started on demand: a bus without the daemon is a
bus without a Secret Service) and ``gnome-keyring-daemon --foreground --unlock
--components=secrets``, the password on its standard input, in a temporary home. It
waits for the daemon to own ``org.freedesktop.secrets`` (the bus's own
``NameOwnerChanged`` signal, not a sleep) and fails loudly — :class:`KeyringStartError`
— when either program is missing or does not come up; it never skips.

``env`` is the environment a client process needs (``DBUS_SESSION_BUS_ADDRESS`` and the
temporary home); :meth:`~PrivateKeyring.lock` and :meth:`~PrivateKeyring.unlock` lock
the default collection through the Secret Service API and unlock it with gnome-keyring's
own master-password call (no prompt); :meth:`~PrivateKeyring.paused` stops the daemon
(SIGSTOP) for the length of a ``with`` block; :meth:`~PrivateKeyring.restart_if_gone`
starts a daemon that exited again. :func:`bare_bus` is a bus with nothing on it. Not
used by the product.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..secret_store.dbus_connection import BUS_NAME, BUS_PATH, BusConnection
from ..secret_store.interface import Deadline
from ..secret_store.secret_service import (
    SECRETS,
    SERVICE_IFACE,
    SERVICE_PATH,
    _default_collection,
    _open_session,
)

PASSWORD = b"private-keyring-test-password"
START_TIMEOUT = 60.0
GUILT_RIDDEN = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"

_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class KeyringStartError(RuntimeError):
    """The private bus or gnome-keyring could not be started."""


def _need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise KeyringStartError(
            f"{program} is not installed; `make test` installs it (apt-get install "
            "dbus-daemon gnome-keyring)."
        )
    return path


class BareBus:
    """A ``dbus-daemon`` of our own with nothing else on it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        socket_path = directory / "bus"
        config = directory / "bus.conf"
        config.write_text(_BUS_CONFIG.format(socket=socket_path))
        self.process = subprocess.Popen(
            [_need("dbus-daemon"), f"--config-file={config}", "--nofork", "--print-address=1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()  # written once it listens
        if not line:
            self.process.wait(10)
            assert self.process.stderr is not None
            raise KeyringStartError(
                f"dbus-daemon did not start: {self.process.stderr.read().decode()[-500:]!r}"
            )
        self.address = line

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@contextmanager
def bare_bus() -> Iterator[BareBus]:
    with tempfile.TemporaryDirectory(prefix="bare-bus-") as tmp:
        bus = BareBus(Path(tmp))
        try:
            yield bus
        finally:
            bus.stop()


class PrivateKeyring:
    """A private bus and gnome-keyring; use as a context manager."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="private-keyring-")
        root = Path(self._tmp.name)
        self.home = root / "home"
        runtime = root / "run"
        for directory in (self.home, runtime):
            directory.mkdir(mode=0o700)
        try:
            self.bus = BareBus(root)
        except BaseException:
            self._tmp.cleanup()
            raise
        self.env = {
            "DBUS_SESSION_BUS_ADDRESS": self.bus.address,
            "HOME": str(self.home),
            "XDG_RUNTIME_DIR": str(runtime),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
        }
        self.daemon: subprocess.Popen[bytes] | None = None
        try:
            self._start_daemon()
        except BaseException:
            self.stop()
            raise

    def _deadline(self, seconds: float = START_TIMEOUT) -> Deadline:
        return Deadline(seconds, "the private keyring", "test set-up")

    def _start_daemon(self) -> None:
        program = _need("gnome-keyring-daemon")
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        env.update(self.env)
        with BusConnection(self.bus.address, self._deadline()) as watch:
            rule = (
                "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged',"
                f"arg0='{SECRETS}'"
            )
            watch.add_match(rule)
            self.daemon = subprocess.Popen(
                [program, "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            assert self.daemon.stdin is not None
            self.daemon.stdin.write(PASSWORD)
            self.daemon.stdin.close()
            while True:
                signal_message = watch.wait_signal(
                    BUS_PATH, BUS_NAME, "NameOwnerChanged", self._deadline()
                )
                if signal_message.body[:1] == (SECRETS,) and signal_message.body[2]:
                    return
                if self.daemon.poll() is not None:
                    raise KeyringStartError("gnome-keyring-daemon exited at start")

    def restart_if_gone(self) -> int | None:
        """Start the daemon again if it has exited, and return how it ended (its exit
        status; ``None``: it was running). gnome-keyring-daemon has been seen to abort
        inside GLib (a trap, once in many test sessions); its keyrings are on disk, so
        the new daemon unlocks the same collection with the same items."""
        assert self.daemon is not None
        ended = self.daemon.poll()
        if ended is not None:
            self._start_daemon()
        return ended

    def __enter__(self) -> PrivateKeyring:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGCONT)
            self.daemon.terminate()
            try:
                self.daemon.wait(10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(10)
        self.bus.stop()
        self._tmp.cleanup()

    # -- what tests do to it --------------------------------------------------------------

    def lock(self) -> None:
        """Lock the default collection through the Secret Service API."""
        with BusConnection(self.bus.address, self._deadline(10)) as bus:
            collection = _default_collection(bus)
            bus.call(SECRETS, SERVICE_PATH, SERVICE_IFACE, "Lock", "ao", ([collection],))

    def unlock(self) -> None:
        """Unlock it again with the password (gnome-keyring's call, no prompt)."""
        with BusConnection(self.bus.address, self._deadline(10)) as bus:
            session = _open_session(bus)
            collection = _default_collection(bus)
            secret = (session, b"", PASSWORD, "text/plain")
            bus.call(
                SECRETS,
                SERVICE_PATH,
                GUILT_RIDDEN,
                "UnlockWithMasterPassword",
                "o(oayays)",
                (collection, secret),
            )

    @contextmanager
    def paused(self) -> Iterator[None]:
        """The daemon stopped (SIGSTOP): it holds its bus name and answers nothing."""
        assert self.daemon is not None
        self.daemon.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self.daemon.send_signal(signal.SIGCONT)
