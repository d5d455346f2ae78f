"""A valid access token for every caller, with at most one refresh at a time.

Claude's refresh tokens are single-use: two processes refreshing at once look
like a replay and sign the user out everywhere. So a refresh happens only under
the cross-process lock beside the token file, after re-reading the file inside
it, and only if still needed; threads of one process share one flight.

What a caller may rely on (:meth:`TokenProvider.get_access_token`):

* A fresh token (not within the refresh margin of expiry) is returned from the
  file without touching the network, a lock or an HTTP library.
* :meth:`TokenProvider.get_credential` is the same for a caller that also takes
  a Console sign-in's API key (the model's auth layer): the key, as it is (it
  has no refresh), or the access token as above — one file read either way.
  :meth:`TokenProvider.get_access_token` on a Console sign-in raises
  :class:`~claude_code_oauth.errors.ApiKeySignIn`.
* Otherwise at most one refresh is made across all processes and threads; the
  rest adopt its result.
* A refresh carries the stored scopes (``scope``); if the token endpoint answers
  ``invalid_scope`` it is asked once more, with the same (unspent) refresh token
  and no ``scope``, which RFC 6749 §6 defines as the scope the login was granted.
* A dead login (``invalid_grant``, or ``session_stale_relogin``) keeps the tokens on
  disk and marks them as needing a new login, so no process asks the server again;
  every caller then gets the same :class:`LoginRequired` (once the access token has
  expired; at once when the API had just refused that token). An account on hold
  (``account_on_hold``) is marked the same way, with a line naming where to see
  why (:class:`~claude_code_oauth.errors.AccountOnHold`); it is never retried.
* 429: ``Retry-After`` (at most a day) is recorded in the file so no process
  asks again early.
* An answer that cannot be used (no access token, a ``token_type`` other than
  Bearer, an absurd ``expires_in``) is an error like a 5xx, but a new refresh
  token it carries is saved first: the server has rotated, and presenting the
  spent token again would end the login.
* 5xx, timeouts, HTML, a busy lock: the current access token is returned while
  it has not actually expired (``on_warning`` is told why); after that the error
  is raised. Threads waiting for a flight that failed share its failure.

:meth:`TokenProvider.replace_rejected` is for a token the API refused (a 401, or a
403 "OAuth token has been revoked"): it returns a token another process already
rotated in, or forces one refresh — as Claude Code does; only that refresh failing
with ``invalid_grant`` proves the login dead.

This module holds the concurrency (the flight, the lock, adopting another process's
rotation); what one refresh does with the record and the endpoint's answer, once the
lock is held, is :mod:`.refresh_step`'s.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ..config import Settings
from ..errors import (
    ClaudeOAuthError,
    LockTimeout,
    NotSignedIn,
    StorageError,
)
from . import exit_wait
from . import store as token_store
from .credential import API_KEY, OAUTH, Credential
from .keyring_item import StoreOpener
from .refresh_step import RefreshStep, login_hint, not_refreshing
from .store import ApiKeyRecord, TokenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..storage.reservation import Reservation


#: How long saving a refreshed token may take beyond the refresh call's own deadline.
SAVE_ALLOWANCE = 5.0
#: While another process holds the lock, re-read the file this often to adopt its token.
ADOPT_CHECK_INTERVAL = 0.05
#: How often filelock retries the (non-blocking) flock while waiting.
LOCK_POLL_INTERVAL = 0.01


def _default_warning(message: str) -> None:
    import logging

    logging.getLogger("claude_code_oauth").warning("%s", message)


class TokenProvider(RefreshStep):
    """Thread-safe source of access tokens for one token file."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        on_warning: Callable[[str], None] = _default_warning,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.path = settings.token_path
        self._clock = clock
        self._monotonic = monotonic
        self._on_warning = on_warning
        self._flight = threading.Lock()
        #: Flights finished so far, and how the last one failed (``None``: it did not).
        #: A thread that waited for a flight shares its failure instead of retrying.
        self._flights_done = 0
        self._last_failure: ClaudeOAuthError | None = None
        self._backoff_until = 0.0
        self._listeners: list[Callable[[str], None]] = []
        self._seen_lock = threading.Lock()
        self._last_seen: tuple[float, str] | None = None
        #: Environment variables :func:`export_to_environ` keeps current.
        self._exported: set[str] = set()
        #: The new tokens' place on disk, claimed before a refresh spends anything
        #: (held by the one flight under the lock; see :meth:`_save`).
        self._reservation: Reservation | None = None
        #: The keyring stores a sign-in's file may name (opened on first use); the
        #: second remembers the item for the reads before each request, outside the
        #: lock (a refresh, under the lock, reads it afresh through the first).
        self._stores = StoreOpener(settings=settings)
        self._request_stores = StoreOpener(settings=settings, remember=True)

    # -- public API -----------------------------------------------------------

    def current(self) -> TokenRecord | None:
        """The stored record without any network or lock (``None``: not signed in)."""
        return token_store.load(self.path, stores=self._stores)

    def get_access_token(self) -> str:
        """A usable access token, refreshing first if it is near expiry."""
        return self._usable_token(self._load_required())

    def get_credential(self) -> Credential:
        """What authenticates the next request: a Console sign-in's API key, or a
        usable access token (refreshed first if it is near expiry)."""
        record = token_store.load_sign_in(self.path, stores=self._request_stores)
        profile = self.settings.profile
        if record is None:
            raise NotSignedIn("Not signed in to Claude.", hint=login_hint())
        if isinstance(record, ApiKeyRecord):
            return Credential(API_KEY, record.api_key, profile)
        return Credential(OAUTH, self._usable_token(record), profile)

    def _usable_token(self, record: TokenRecord) -> str:
        if not record.is_fresh(self._clock(), self.settings.refresh_margin):
            record = self._refresh(rejected=None)
        return self._seen(record)

    def replace_rejected(self, rejected: str) -> str:
        """A replacement for ``rejected`` (a token the API refused: a 401, or a 403
        "OAuth token has been revoked").

        If the file already holds a different, unexpired token (another process
        or thread rotated it), that token is returned without a refresh;
        otherwise exactly one refresh is forced.
        """
        return self._seen(self._refresh(rejected=rejected))

    def add_listener(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(token)`` whenever this provider hands out a different token."""
        self._listeners.append(listener)

    # -- internals --------------------------------------------------------------

    def _seen(self, record: TokenRecord) -> str:
        """Hand out ``record``'s token; tell the listeners when it is newer than the last.

        Threads may finish out of order, so an older token (one obtained earlier)
        read by a slow thread never replaces a newer one already announced.
        """
        token = record.access_token
        with self._seen_lock:
            last = self._last_seen
            if last is not None and (last[1] == token or record.obtained_at < last[0]):
                return token
            self._last_seen = (record.obtained_at, token)
            for listener in list(self._listeners):
                listener(token)
        return token

    def _refresh(self, rejected: str | None) -> TokenRecord:
        settings = self.settings
        waited = settings.lock_timeout + settings.http_timeout + SAVE_ALLOWANCE
        ticket = self._flights_done
        if not self._flight.acquire(timeout=waited):
            raise LockTimeout(f"Another thread has been refreshing for over {waited:g} s.")
        try:
            record = self._load_required()
            now = self._clock()
            if self._adoptable(record, rejected, now):
                return record
            failure = self._last_failure
            if failure is not None and self._flights_done != ticket:
                # The flight this thread waited for failed: share its outcome, don't retry.
                return self._fallback(record, rejected, failure, warn=False)
            if rejected is None and now < self._backoff_until and not record.is_expired(now):
                return record
            self._last_failure = None
            try:
                return self._refresh_under_lock(rejected)
            except (LockTimeout, StorageError) as exc:
                return self._fallback(record, rejected, exc)
            except ClaudeOAuthError as exc:
                self._last_failure = exc
                raise
        finally:
            self._flights_done += 1
            self._flight.release()

    def _refresh_under_lock(self, rejected: str | None) -> TokenRecord:
        """Take the cross-process lock and refresh; adopt a rotation seen while waiting.

        Re-reading the (atomically written) file between short waits lets every
        waiting process pick up the winner's token at once instead of queueing
        for the lock one after another just to read it.
        """
        from filelock import Timeout

        from ..storage.file_lock import acquire

        lock = token_store.token_lock(self.settings)
        deadline = time.monotonic() + self.settings.lock_timeout
        seen: tuple[int, int, int] | None = None
        while True:
            wait = min(ADOPT_CHECK_INTERVAL, max(0.0, deadline - time.monotonic()))
            try:
                acquire(lock, wait, LOCK_POLL_INTERVAL)
            except StorageError as exc:
                raise not_refreshing(exc) from None
            except Timeout:
                # Read the sign-in again only once the file was replaced: a record that
                # could not be adopted stays so as time passes, and a sign-in whose
                # secrets are in the keyring costs a keyring read per load.
                stamp = _stamp(self.path)
                if stamp is None or stamp != seen:
                    seen = stamp
                    record = self._load_required()
                    if self._adoptable(record, rejected, self._clock()):
                        return record
                if time.monotonic() >= deadline:
                    raise token_store.lock_timeout_error(lock) from None
                continue
            try:
                # Saved even if the caller's own deadline has passed and the process
                # exits meanwhile: the server may already have rotated the token.
                with exit_wait.refreshing(self.settings.http_timeout + SAVE_ALLOWANCE):
                    return self._refresh_locked(rejected)
            finally:
                self._release_reservation()
                lock.release()


def _stamp(path: str) -> tuple[int, int, int] | None:
    """What changes when the token file is replaced (atomically: a new inode), or
    ``None`` when it cannot be told."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


_providers: dict[str, TokenProvider] = {}
_providers_lock = threading.Lock()


def provider_for(settings: Settings) -> TokenProvider:
    """The shared provider for ``settings``' token file (one per file per process)."""
    path = settings.token_path
    with _providers_lock:
        provider = _providers.get(path)
        if provider is None:
            provider = _providers[path] = TokenProvider(settings)
        return provider


def get_access_token(settings: Settings | None = None) -> str:
    """A valid access token (see :class:`TokenProvider`); the one-call public API."""
    from ..config import load_settings

    return provider_for(settings or load_settings()).get_access_token()


def export_to_environ(provider: TokenProvider) -> str:
    """Put the current token in ``os.environ[api_key_env_var]`` and keep it current.

    Only this process's environment is changed; the token is written nowhere else.
    """
    import os

    name = provider.settings.api_key_env_var

    def update(token: str) -> None:
        os.environ[name] = token

    if name not in provider._exported:  # once per variable, however often it is called
        provider._exported.add(name)
        provider.add_listener(update)
    token = provider.get_access_token()
    update(token)
    return token
