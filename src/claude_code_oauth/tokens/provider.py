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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import (
    AccountOnHold,
    ClaudeOAuthError,
    InvalidGrant,
    LockTimeout,
    LoginRequired,
    NotSignedIn,
    OAuthErrorResponse,
    RateLimited,
    RecordKept,
    StorageError,
    UnexpectedResponse,
)
from . import exit_wait
from . import store as token_store
from .credential import API_KEY, OAUTH, Credential
from .store import ApiKeyRecord, TokenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..storage.reservation import Reservation


def login_hint() -> str:
    """How to sign in, worded for where this process shows its messages."""
    from ..hints import anywhere

    return f"Run {anywhere().login()}."


#: How long saving a refreshed token may take beyond the refresh call's own deadline.
SAVE_ALLOWANCE = 5.0
#: After a transient refresh failure, wait this long before trying again while
#: the current token still works, so API calls don't hammer the token endpoint.
TRANSIENT_BACKOFF = 15.0
#: Seconds to wait after a 429 that did not say how long.
DEFAULT_RETRY_AFTER = 60.0
DEAD_LOGIN = "Your Claude login has ended and must be renewed."
#: While another process holds the lock, re-read the file this often to adopt its token.
ADOPT_CHECK_INTERVAL = 0.05
#: How often filelock retries the (non-blocking) flock while waiting.
LOCK_POLL_INTERVAL = 0.01


def _default_warning(message: str) -> None:
    import logging

    logging.getLogger("claude_code_oauth").warning("%s", message)


class TokenProvider:
    """Thread-safe source of access tokens for one token file."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.time,
        on_warning: Callable[[str], None] = _default_warning,
    ) -> None:
        self.settings = settings
        self.path = settings.token_path
        self._clock = clock
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

    # -- public API -----------------------------------------------------------

    def current(self) -> TokenRecord | None:
        """The stored record without any network or lock (``None``: not signed in)."""
        return token_store.load(self.path)

    def get_access_token(self) -> str:
        """A usable access token, refreshing first if it is near expiry."""
        return self._usable_token(self._load_required())

    def get_credential(self) -> Credential:
        """What authenticates the next request: a Console sign-in's API key, or a
        usable access token (refreshed first if it is near expiry)."""
        record = token_store.load_sign_in(self.path)
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

    def _load_required(self) -> TokenRecord:
        record = token_store.load(self.path)
        if record is None:
            raise NotSignedIn("Not signed in to Claude.", hint=login_hint())
        return record

    def _adoptable(self, record: TokenRecord, rejected: str | None, now: float) -> bool:
        """Whether ``record`` can be handed out without refreshing."""
        if rejected is None:
            return record.is_fresh(now, self.settings.refresh_margin)
        # Someone else already rotated past the rejected token.
        return record.access_token != rejected and not record.is_expired(now)

    def _refresh(self, rejected: str | None) -> TokenRecord:
        settings = self.settings
        waited = settings.lock_timeout + settings.http_timeout + 5
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
        while True:
            wait = min(ADOPT_CHECK_INTERVAL, max(0.0, deadline - time.monotonic()))
            try:
                acquire(lock, wait, LOCK_POLL_INTERVAL)
            except StorageError as exc:
                raise not_refreshing(exc) from None
            except Timeout:
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

    def _fallback(
        self,
        record: TokenRecord,
        rejected: str | None,
        exc: ClaudeOAuthError,
        *,
        warn: bool = True,
    ) -> TokenRecord:
        """The current token if it still works, else raise ``exc``."""
        self._last_failure = exc
        if rejected is None and not record.is_expired(self._clock()):
            if warn:
                self._on_warning(f"Could not refresh the token; using the current one: {exc}")
            return record
        raise exc

    def _refresh_locked(self, rejected: str | None) -> TokenRecord:
        # New tokens a failed save kept beside the file come first: presenting the
        # refresh token they replaced would be a replay.
        record = token_store.adopt_kept(self.path, self._load_required())
        if not isinstance(record, TokenRecord):
            return self._load_required()  # a Console key took the file's place: says so
        now = self._clock()
        if self._adoptable(record, rejected, now):
            return record
        if record.needs_login:
            if rejected is None and not record.is_expired(now):
                return record
            # The same message every caller saw when the login was found dead.
            raise LoginRequired(record.last_error or DEAD_LOGIN, hint=login_hint())
        if not record.refresh_token:
            return self._dead(record, rejected, f"{DEAD_LOGIN} It has no refresh token.")
        deadline = record.refresh_token_expires_at
        if deadline is not None and now >= deadline:
            return self._dead(record, rejected, f"{DEAD_LOGIN} It expired (logins last ~30 days).")
        not_before = record.refresh_not_before
        if not_before is not None and now < not_before:
            wait = not_before - now
            return self._fallback(
                record,
                rejected,
                RateLimited(
                    f"The token endpoint asked to wait; refresh possible in {wait:.0f} s.",
                    retry_after=wait,
                ),
            )
        # Spend the single-use refresh token only once its successor has a place.
        try:
            self._reservation = token_store.reserve(self.path)
        except StorageError as exc:
            return self._fallback(record, rejected, not_refreshing(exc))
        try:
            body = self._refresh_grant(record)
        except AccountOnHold as exc:
            # The same line now and for every later caller (who gets it from the file).
            held = AccountOnHold(
                exc.reason, uri=exc.uri, error=exc.error, status=exc.status, hint=login_hint()
            )
            return self._dead(record, rejected, exc.reason, held)
        except InvalidGrant as exc:
            return self._dead(record, rejected, f"{DEAD_LOGIN} {exc}")
        except RateLimited as exc:
            wait = DEFAULT_RETRY_AFTER if exc.retry_after is None else exc.retry_after
            # A pause of days would stop refreshing for good; believe at most one day.
            record.refresh_not_before = self._clock() + min(wait, token_store.MAX_RETRY_AFTER)
            record.last_error = str(exc)
            self._save(record)
            return self._fallback(record, rejected, exc)
        except ClaudeOAuthError as exc:
            return self._transient(record, rejected, exc)
        try:
            fresh = TokenRecord.from_token_response(body, now=self._clock(), previous=record)
        except ValueError as exc:
            return self._unusable(record, rejected, body, f"Unusable refresh answer: {exc}.")
        self._save(fresh)
        self._backoff_until = 0.0
        return fresh

    def _refresh_grant(self, record: TokenRecord) -> dict[str, Any]:
        """One refresh grant for ``record``, carrying its stored scopes (the configured
        ones when none are stored), as Claude Code's refresh does. On 400
        ``invalid_scope`` — nothing was spent — it asks once more without ``scope``:
        the scope the login was granted, by the server's own record (RFC 6749 §6).
        Both calls share one ``http_timeout``."""
        from . import endpoint as token_endpoint

        assert record.refresh_token is not None
        scope = " ".join((record.scope or self.settings.scope).split())
        deadline = time.monotonic() + self.settings.http_timeout
        try:
            return token_endpoint.refresh(self.settings, record.refresh_token, scope=scope)
        except OAuthErrorResponse as exc:
            if exc.error != "invalid_scope" or exc.status != 400:
                raise
        left = max(0.001, deadline - time.monotonic())
        return token_endpoint.refresh(self.settings, record.refresh_token, timeout=left)

    def _save(self, record: TokenRecord) -> None:
        """Save ``record``, into the space :meth:`_refresh_locked` claimed when there is
        one; tokens that can only be kept beside the file (:class:`RecordKept`) are used
        all the same, with a warning that says where they are and what to free."""
        reservation, self._reservation = self._reservation, None
        try:
            token_store.save(self.path, record, reservation=reservation)
        except RecordKept as exc:
            self._on_warning(str(exc))
        finally:
            if reservation is not None:
                reservation.release()

    def _release_reservation(self) -> None:
        reservation, self._reservation = self._reservation, None
        if reservation is not None:
            reservation.release()

    def _unusable(
        self, record: TokenRecord, rejected: str | None, body: dict[str, Any], why: str
    ) -> TokenRecord:
        """An answer we cannot use. The server may still have rotated the refresh
        token: if the answer carries a new one, it is saved (the old one is spent,
        and presenting it again would end the login), and the error is reported."""
        rotated = body.get("refresh_token")
        if token_store.is_token(rotated) and rotated != record.refresh_token:
            record.refresh_token = rotated
            record.last_error = why
            self._save(record)
        return self._transient(record, rejected, UnexpectedResponse(why))

    def _transient(
        self, record: TokenRecord, rejected: str | None, exc: ClaudeOAuthError
    ) -> TokenRecord:
        self._backoff_until = self._clock() + TRANSIENT_BACKOFF
        return self._fallback(record, rejected, exc)

    def _dead(
        self,
        record: TokenRecord,
        rejected: str | None,
        why: str,
        error: ClaudeOAuthError | None = None,
    ) -> TokenRecord:
        """Keep the tokens but flag the login as needing renewal (so no process asks the
        server again) and raise ``error`` (default: :class:`LoginRequired` saying
        ``why``). The access token is still handed out until it expires — unless the
        API has just refused it (``rejected``): then it counts as expired now, so every
        caller in every process says so without sending it again."""
        record.needs_login = True
        record.last_error = why
        if rejected is not None and record.access_token == rejected:
            record.expires_at = min(record.expires_at, self._clock())
        self._save(record)
        return self._fallback(record, rejected, error or LoginRequired(why, hint=login_hint()))


def not_refreshing(exc: StorageError) -> StorageError:
    """Why a refresh was not attempted: where the new tokens could not be kept."""
    return StorageError(
        f"Not refreshing the Claude login: {exc.reason} A refresh spends the login's "
        "single-use refresh token, and its successor could not be kept; the login is kept "
        "as it is.",
        hint=f"{exc.hint or ''} Then run the command again.".strip(),
    )


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
