"""The emulator's memory: pending consents, codes, logins, tokens, faults, counters.

Everything here is guarded by one lock, so HTTP handler threads and the test
thread may call any method at any time. Nothing in this module does HTTP.

Every access token, refresh token and authorization code the emulator issues,
and every ``code_verifier`` it receives (16 characters or more), is added to
:data:`~.records.ISSUED_SECRETS` so a test suite can check that no output ever
contains one. The record types themselves live in :mod:`.records`.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from .accounts import AccountBook
from .console import ApiKeyBook
from .grants import TokenGrants
from .records import (
    AuthorizeRequest,
    Fault,
    RefreshGrant,
    Replay,
    Revocation,
    _Access,
    _Code,
    _Login,
    _Pending,
    _Refresh,
    _remember,
)
from .usage import UsageBook
from .wire import RecordedRequest


class EmulatorState(TokenGrants):
    """All mutable emulator state behind one re-entrant lock."""

    def __init__(
        self,
        *,
        client_id: str,
        access_ttl: int,
        login_ttl: int | None,
        code_ttl: float,
        models: list[dict[str, Any]],
        clock: Callable[[], float],
        auto_approve: bool,
        wall_clock: Callable[[], float],
    ) -> None:
        self.lock = threading.RLock()
        self.client_id = client_id
        self.access_ttl = access_ttl
        self.login_ttl = login_ttl
        self.code_ttl = code_ttl
        self.clock = clock
        #: Epoch seconds for what the answers carry as wall-clock time (usage resets,
        #: API keys' creation): a test's :class:`~..clock.WallClock`.
        self.wall_clock = wall_clock
        self.auto_approve = auto_approve
        self.base_url = ""
        self.grants: Counter[str] = Counter()
        #: Every refresh grant and every replay, oldest first (digests, no secrets).
        self.refresh_log: list[RefreshGrant] = []
        self.replay_log: list[Replay] = []
        #: Every call the revoke endpoint answered 200, oldest first (digests, no secrets).
        self.revocation_log: list[Revocation] = []
        #: Digests of every refresh token ever presented (used, spent or unknown).
        self.presented: set[str] = set()
        self.requests: list[RecordedRequest] = []
        self._models = [dict(m) for m in models]
        self._pending: dict[str, _Pending] = {}
        self._codes: dict[str, _Code] = {}
        self._logins: dict[str, _Login] = {}
        self._access: dict[str, _Access] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._faults: dict[str, deque[Fault]] = {}
        #: Per-account usage counters (unified headers, /api/oauth/usage, plan).
        self.usage = UsageBook(clock=wall_clock)
        #: API keys created by Console logins (see :mod:`.console`).
        self.api_keys = ApiKeyBook(remember=_remember, clock=wall_clock)
        #: Account uuids whose subscription has no long context (see :mod:`.capabilities`).
        self._no_long_context: set[str] = set()
        #: Every emulated user, what its organization withholds, its hold (:mod:`.accounts`).
        self.book = AccountBook(self.lock)
        #: Each user's ``{"account": {...}, "organization": {...}}``; the first is created
        #: here, more with :meth:`add_account`. Ids are fixed per emulator so tests can
        #: compare them across calls.
        self.accounts = self.book.identities
        first = self.add_account("emulated.user@example.com", "Emulated User")
        # The first account, as callers from before several accounts existed use it.
        self.account = first["account"]
        self.organization = first["organization"]
        #: The account the browser is "signed in to claude.ai as": preselected on the
        #: consent page and approved as by ``auto_approve``.
        self.consent_account = "emulated.user@example.com"

    # -- accounts -------------------------------------------------------------

    def add_account(
        self, email: str, display_name: str | None = None, **options: Any
    ) -> dict[str, dict[str, Any]]:
        """Add an emulated user (see :meth:`.accounts.AccountBook.add`)."""
        return self.book.add(email, display_name, **options)

    def account_index(self, email: str) -> int:
        """The index of the account with ``email``; ``ValueError`` if there is none."""
        return self.book.index(email)

    def account_emails(self) -> list[str]:
        return self.book.emails()

    def identity_of_token(self, token: str) -> dict[str, dict[str, Any]] | None:
        """The account and organization whose login issued ``token`` (access or refresh,
        valid or not); ``None`` for a token this emulator never issued."""
        with self.lock:
            record = self._access.get(token) or self._refresh.get(token)
            if record is None:
                return None
            identity = self.accounts[self._logins[record.login_id].identity]
            return {key: dict(value) for key, value in identity.items()}

    # -- recording and faults ------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self.requests.append(request)

    def push_fault(self, endpoint: str, fault: Fault) -> None:
        with self.lock:
            self._faults.setdefault(endpoint, deque()).append(fault)

    def take_fault(self, endpoint: str) -> Fault | None:
        """The fault to apply to this request to ``endpoint``, consuming one use."""
        with self.lock:
            queue = self._faults.get(endpoint)
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def stats(self) -> dict[str, Any]:
        """Counters only: safe to serve over HTTP (no secrets)."""
        with self.lock:
            return {
                "grants": dict(self.grants),
                "replays": len(self.replay_log),
                "revocations": len(self.revocation_log),
            }

    # -- models ---------------------------------------------------------------

    def deny_long_context(self, account: str, denied: bool) -> None:
        """Make account (uuid) ``account``'s subscription lack (``denied``) or have the
        1M-token context."""
        with self.lock:
            (self._no_long_context.add if denied else self._no_long_context.discard)(account)

    def long_context_denied(self, account: str) -> bool:
        with self.lock:
            return account in self._no_long_context

    def models(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(m) for m in self._models]

    def set_models(self, models: list[dict[str, Any]]) -> None:
        for model in models:
            if not isinstance(model.get("id"), str):
                raise ValueError("every model needs a string 'id'")
        with self.lock:
            self._models = [dict(m) for m in models]

    # -- consent --------------------------------------------------------------

    def open_consent(self, request: AuthorizeRequest) -> str:
        """Store a validated request; the returned id is single-use and lives ``code_ttl``."""
        request_id = secrets.token_urlsafe(24)
        with self.lock:
            self._pending[request_id] = _Pending(request, self.clock() + self.code_ttl)
        return request_id

    def take_consent(self, request_id: str) -> AuthorizeRequest | None:
        """The request behind ``request_id`` (removed), or ``None`` if unknown or stale."""
        with self.lock:
            pending = self._pending.pop(request_id, None)
            if pending is None or self.clock() >= pending.expires_at:
                return None
            return pending.request

    def issue_code(self, request: AuthorizeRequest, identity: int = 0) -> str:
        """A code for ``request``, approved as account ``identity`` (an index)."""
        code = _remember(secrets.token_urlsafe(32))
        with self.lock:
            self._codes[code] = _Code(request, self.clock() + self.code_ttl, identity=identity)
        return code
