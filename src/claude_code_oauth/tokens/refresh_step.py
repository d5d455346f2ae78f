"""One refresh, decided under the lock: what :class:`~.provider.TokenProvider` does with
the stored record and the token endpoint's answer, once it holds the cross-process lock
and its single flight (the concurrency is :mod:`.provider`'s).

What a caller may rely on (the provider's contract, in its own words there): new tokens
a failed save kept come first; a record another process already rotated is adopted;
the refresh token is spent only once its successor has a place on disk (a reservation);
``invalid_grant`` or an account on hold marks the login dead in the file, so no process
asks again; a 429's wait is recorded; an unusable answer that still rotated the refresh
token is saved before the error is reported; a transient failure falls back to the
current token while it works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import (
    AccountOnHold,
    ClaudeOAuthError,
    InvalidGrant,
    LoginRequired,
    NotSignedIn,
    OAuthErrorResponse,
    RateLimited,
    RecordKept,
    StorageError,
    UnexpectedResponse,
)
from . import store as token_store
from .store import TokenRecord
from .stored_form import identity

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..storage.reservation import Reservation
    from .keyring_item import StoreOpener

#: After a transient refresh failure, wait this long before trying again while
#: the current token still works, so API calls don't hammer the token endpoint.
TRANSIENT_BACKOFF = 15.0
#: Seconds to wait after a 429 that did not say how long.
DEFAULT_RETRY_AFTER = 60.0
DEAD_LOGIN = "Your Claude login has ended and must be renewed."


def login_hint() -> str:
    """How to sign in, worded for where this process shows its messages."""
    from ..hints import anywhere

    return f"Run {anywhere().login()}."


def not_refreshing(exc: StorageError) -> StorageError:
    """Why a refresh was not attempted: where the new tokens could not be kept."""
    return StorageError(
        f"Not refreshing the Claude login: {exc.reason} A refresh spends the login's "
        "single-use refresh token, and its successor could not be kept; the login is kept "
        "as it is.",
        hint=f"{exc.hint or ''} Then run the command again.".strip(),
    )


class RefreshStep:
    """The record-and-answer half of :class:`~.provider.TokenProvider` (a base class: the
    attributes below are set by the provider's ``__init__``)."""

    settings: Settings
    path: str
    _clock: Callable[[], float]
    #: Monotonic seconds: the deadline the two asks of one refresh grant share.
    _monotonic: Callable[[], float]
    _on_warning: Callable[[str], None]
    _backoff_until: float
    _last_failure: ClaudeOAuthError | None
    _reservation: Reservation | None
    #: The fingerprint of the sign-in the refresh in progress replaces.
    _replaces: str | None = None
    _stores: StoreOpener

    def _load_required(self) -> TokenRecord:
        record = token_store.load(self.path, stores=self._stores)
        if record is None:
            raise NotSignedIn("Not signed in to Claude.", hint=login_hint())
        return record

    def _adoptable(self, record: TokenRecord, rejected: str | None, now: float) -> bool:
        """Whether ``record`` can be handed out without refreshing."""
        if rejected is None:
            return record.is_fresh(now, self.settings.refresh_margin)
        # Someone else already rotated past the rejected token.
        return record.access_token != rejected and not record.is_expired(now)

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
        record = token_store.adopt_kept(self.path, self._load_required(), stores=self._stores)
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
        self._replaces = identity(record)  # what every save of this refresh replaces
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
        deadline = self._monotonic() + self.settings.http_timeout
        try:
            return token_endpoint.refresh(self.settings, record.refresh_token, scope=scope)
        except OAuthErrorResponse as exc:
            if exc.error != "invalid_scope" or exc.status != 400:
                raise
        left = max(0.001, deadline - self._monotonic())
        return token_endpoint.refresh(self.settings, record.refresh_token, timeout=left)

    def _save(self, record: TokenRecord) -> None:
        """Save ``record``, into the space :meth:`_refresh_locked` claimed when there is
        one; tokens that can only be kept beside the file (:class:`RecordKept`) are used
        all the same, with a warning that says where they are and what to free."""
        reservation, self._reservation = self._reservation, None
        try:
            token_store.save(
                self.path,
                record,
                reservation=reservation,
                stores=self._stores,
                replaces=self._replaces,
            )
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
