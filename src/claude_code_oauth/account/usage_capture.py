"""Usage capture: every answer's unified headers, kept as the account's latest snapshot.

A :class:`UsageCapture` is a response observer (see
:func:`claude_code_oauth.net.bearer_auth.notify_observers`): our auth layers call
it with every answer Claude's API sends, success or error. It is the default
observer wherever our auth layer is used with settings — the Code Puppy model
type and :class:`~claude_code_oauth.net.bearer_auth.OAuthBearerAuth`.

What a caller may rely on:

* Calling it costs a header parse and a lock (tens of microseconds, measured
  in ``benchmarks/model_overhead.py``): no file I/O, and no thread switch except
  to wake the idle writer at most once per write. It never raises into the
  request (failures are logged at debug level and forgotten).
* Answers without unified headers change nothing.
* The file (``settings.side_path("usage")``, see :mod:`.usage_snapshot`) is
  written by one background thread, at most once per ``min_interval`` (1 s)
  per file per process, always with the latest answer seen; pending changes
  are flushed at interpreter exit. A failed write is logged at debug level.
* :attr:`latest` is the newest snapshot this process saw, before it is written.
* Listeners (:meth:`add_listener`) are told about each parsed answer, in the
  request's thread, right away (the extra-usage guard is one).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .unified_limits import UnifiedLimits, parse
from .usage_snapshot import UsageSnapshot, update, usage_path, with_snapshot

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..config import Settings

#: Seconds between two writes of one snapshot file by one process.
MIN_WRITE_INTERVAL = 1.0
#: How long interpreter exit waits for a pending write.
EXIT_FLUSH_TIMEOUT = 2.0

UsageListener = Callable[[UnifiedLimits], None]


def _debug(message: str) -> None:
    import logging

    logging.getLogger("claude_code_oauth").debug(message, exc_info=True)  # pragma: no mutate


class UsageCapture:
    """Observer that keeps the latest usage snapshot of one profile's sign-in."""

    def __init__(
        self,
        settings: Settings,
        *,
        min_interval: float = MIN_WRITE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = usage_path(settings)
        self._token_path = settings.token_path
        self._lock_timeout = settings.lock_timeout
        self._min_interval = min_interval
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._latest: UsageSnapshot | None = None
        self._dirty = False
        self._writing = False
        self._hurry = False
        #: The writer waits for work (not for its next turn): only then is it woken.
        self._idle = False
        self._next_write = 0.0
        self._thread: threading.Thread | None = None
        self._listeners: list[UsageListener] = []
        #: Writes done and writes that failed (for tests and benchmarks).
        self.writes = 0
        self.failures = 0

    @property
    def latest(self) -> UsageSnapshot | None:
        return self._latest

    def add_listener(self, listener: UsageListener) -> None:
        self._listeners.append(listener)

    def __call__(self, response: Any) -> None:
        """Observe one answer (an httpx or httpx2 response; only its headers are read)."""
        now = self._clock()
        limits = parse(response.headers.multi_items(), now)
        if limits is None:
            return
        self.record(UsageSnapshot(limits, now, "headers"))

    def record(self, snapshot: UsageSnapshot) -> None:
        """Keep ``snapshot`` as the latest, tell the listeners, schedule a write."""
        start = False
        with self._cond:
            self._latest = snapshot
            self._dirty = True
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="claude-code-oauth-usage", daemon=True
                )
                start = True
            elif self._idle:
                # Waking the writer costs a thread switch; while it waits for its next
                # turn it picks the latest snapshot up by itself.
                self._cond.notify()
        if start:
            import atexit

            atexit.register(self.flush, EXIT_FLUSH_TIMEOUT)
            self._thread.start()
        for listener in self._listeners:
            try:
                listener(snapshot.limits)
            except Exception:
                _debug("usage listener failed")  # pragma: no mutate

    def flush(self, timeout: float) -> bool:
        """Write a pending snapshot now; ``True`` once nothing is pending (or in flight),
        ``False`` if that takes more than ``timeout`` seconds."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: not self._dirty and not self._writing, timeout)
            finally:
                self._hurry = False

    # -- the writer thread ------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._dirty:
                    self._idle = True
                    self._cond.wait()
                self._idle = False
                while not self._hurry:
                    wait = self._next_write - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                snapshot = self._latest
                self._dirty = False
                self._writing = True
            try:
                if snapshot is not None:
                    self._write(snapshot)
            finally:
                with self._cond:
                    self._writing = False
                    self._next_write = time.monotonic() + self._min_interval
                    self._cond.notify_all()

    def _write(self, snapshot: UsageSnapshot) -> None:
        try:
            account = self._account()
            update(
                self.path,
                lambda usage: with_snapshot(usage, snapshot, account),
                lock_timeout=self._lock_timeout,
            )
            self.writes += 1
        except Exception:  # a snapshot is never worth a failure
            self.failures += 1
            _debug(f"could not save the usage snapshot {self.path}")  # pragma: no mutate

    def _account(self) -> str | None:
        from ..tokens import store as token_store

        try:
            # From the file alone: with the secrets in the keyring, no keyring call per answer.
            return token_store.account_in_file(self._token_path)
        except Exception:
            return None


_captures: dict[str, UsageCapture] = {}
_captures_lock = threading.Lock()


def capture_for(settings: Settings) -> UsageCapture:
    """The shared capture for ``settings``' usage file (one per file per process)."""
    path = usage_path(settings)
    with _captures_lock:
        capture = _captures.get(path)
        if capture is None:
            capture = _captures[path] = UsageCapture(settings)
        return capture
