"""The emulator's authorization server: the token endpoint's grants (code exchange,
refresh with rotation and replay detection, revocation), the logins and tokens they
issue, and what tests ask of them. A part of :class:`~.state.EmulatorState`, which holds
the state these methods use, all behind its one lock.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .records import (
    _MIN_REMEMBERED,
    _VERIFIER,
    ACCESS_PREFIX,
    REFRESH_PREFIX,
    OAuthFailure,
    RefreshGrant,
    Replay,
    Revocation,
    _Access,
    _Code,
    _Login,
    _Refresh,
    _remember,
    s256,
    token_digest,
)

if TYPE_CHECKING:
    from .accounts import AccountBook


class TokenGrants:
    """The token endpoint's side of :class:`~.state.EmulatorState` (a mixin: the
    attributes below are set by its ``__init__``)."""

    lock: threading.RLock
    client_id: str
    access_ttl: int
    login_ttl: int | None
    code_ttl: float
    clock: Callable[[], float]
    grants: Counter[str]
    refresh_log: list[RefreshGrant]
    replay_log: list[Replay]
    revocation_log: list[Revocation]
    presented: set[str]
    book: AccountBook
    accounts: list[dict[str, dict[str, Any]]]
    _codes: dict[str, _Code]
    _logins: dict[str, _Login]
    _access: dict[str, _Access]
    _refresh: dict[str, _Refresh]

    # -- token endpoint -------------------------------------------------------

    def exchange_code(self, body: dict[str, Any]) -> dict[str, Any]:
        """Redeem an authorization code; raise :class:`OAuthFailure` on any mismatch.

        A code is burnt by any attempt that names it, successful or not, and a
        second use revokes the login the first use created (RFC 6749 §4.1.2).
        """
        verifier = body.get("code_verifier")
        # Very short strings would make a scan of test output flag innocent text.
        if isinstance(verifier, str) and len(verifier) >= _MIN_REMEMBERED:
            _remember(verifier)
        self._check_client(body)
        for name in ("code", "redirect_uri", "code_verifier", "state"):
            value = body.get(name)
            if not isinstance(value, str) or not value:
                raise OAuthFailure("invalid_request", f"Missing or invalid parameter: {name}")
        assert isinstance(verifier, str)
        if not _VERIFIER.fullmatch(verifier):
            raise OAuthFailure(
                "invalid_request", "code_verifier must be 43-128 characters of [A-Za-z0-9-._~]"
            )
        with self.lock:
            code = self._codes.get(body["code"])
            if code is None:
                raise OAuthFailure("invalid_grant", "Invalid authorization code")
            if code.used:
                if code.login_id is not None:
                    self._logins[code.login_id].revoked = True
                raise OAuthFailure("invalid_grant", "Authorization code has already been used")
            code.used = True
            request = code.request
            if self.clock() >= code.expires_at:
                raise OAuthFailure("invalid_grant", "Authorization code has expired")
            if body["client_id"] != request.client_id:
                raise OAuthFailure(
                    "invalid_grant", "Authorization code was issued to another client"
                )
            if body["redirect_uri"] != request.redirect_uri:
                raise OAuthFailure("invalid_grant", "redirect_uri does not match the authorization")
            if body["state"] != request.state:
                raise OAuthFailure("invalid_grant", "Invalid state")
            if s256(verifier) != request.code_challenge:
                raise OAuthFailure("invalid_grant", "Invalid code_verifier")
            granted = self.book.granted(request.scope, code.identity)
            login = self._new_login(granted, True, self.access_ttl, code.identity)
            login.console = request.console
            code.login_id = login.id
            self.grants["authorization_code"] += 1
            return self._issue_tokens(login)

    def refresh(self, body: dict[str, Any], *, rotate: bool = True) -> dict[str, Any]:
        """Rotate a refresh token; a spent one is a replay and kills its whole login.

        ``scope`` (optional, space separated) may ask for the grant or less; anything
        beyond what the login holds now is ``invalid_scope`` (Claude upgrades a grant
        within the scopes its own client is registered for; the emulator does not model
        that). Without ``scope`` the login keeps its grant (RFC 6749 §6). A grant whose
        organization withheld a scope since loses it here. An account on hold is
        refused with ``account_on_hold``. None of these refusals spends the token.
        ``rotate=False`` answers without a ``refresh_token``: the presented one stays
        valid, as when a server chooses not to rotate (RFC 6749 §6).
        """
        token = body.get("refresh_token")
        self._check_client(body)
        if not isinstance(token, str) or not token:
            raise OAuthFailure("invalid_request", "Missing or invalid parameter: refresh_token")
        requested = body.get("scope")
        if requested is not None and not isinstance(requested, str):
            raise OAuthFailure("invalid_request", "Invalid parameter: scope")
        with self.lock:
            presented = token_digest(token)
            self.presented.add(presented)
            record = self._refresh.get(token)
            if record is None:
                raise OAuthFailure("invalid_grant", "Invalid refresh token")
            login = self._logins[record.login_id]
            if record.spent:
                self.replay_log.append(Replay(self.clock(), login.id, presented))
                login.revoked = True
                raise OAuthFailure("invalid_grant", "Refresh token has been revoked")
            if login.revoked:
                raise OAuthFailure("invalid_grant", "Refresh token has been revoked")
            if login.deadline is not None and self.clock() >= login.deadline:
                raise OAuthFailure("invalid_grant", "Refresh token has expired")
            hold = self.book.hold_of(login.identity)
            if hold is not None:
                raise OAuthFailure("invalid_grant", "account_on_hold", 400, uri=hold)
            granted = self.book.granted(login.scope, login.identity)
            if requested is not None and not set(requested.split()) <= set(granted.split()):
                raise OAuthFailure(
                    "invalid_scope", "The requested scope exceeds the scope of this grant"
                )
            login.scope = granted
            self.grants["refresh_token"] += 1
            if not rotate:
                response = self._issue_tokens(login, refresh=False)
                self.refresh_log.append(RefreshGrant(self.clock(), login.id, presented, presented))
                return response
            record.spent = True
            response = self._issue_tokens(login)
            issued = token_digest(response["refresh_token"])
            self.refresh_log.append(RefreshGrant(self.clock(), login.id, presented, issued))
            return response

    def revoke(self, body: dict[str, Any]) -> None:
        """End what ``token`` is (RFC 7009): a refresh token ends its whole login (its
        refresh token and every access token stop working), an access token only itself.
        An unknown token is no error (RFC 7009 §2.2). Logged by digest."""
        self._check_client(body)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise OAuthFailure("invalid_request", "Missing or invalid parameter: token")
        hint = body.get("token_type_hint")
        with self.lock:
            kind: str | None = None
            login_id: str | None = None
            refresh = self._refresh.get(token)
            access = self._access.get(token)
            if refresh is not None:
                kind, login_id = "refresh_token", refresh.login_id
                self._logins[refresh.login_id].revoked = True
            elif access is not None:
                kind, login_id = "access_token", access.login_id
                access.revoked = True
            shown = hint if isinstance(hint, str) else None
            self.revocation_log.append(
                Revocation(self.clock(), login_id, token_digest(token), shown, kind)
            )

    def _check_client(self, body: dict[str, Any]) -> None:
        client_id = body.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise OAuthFailure("invalid_request", "Missing or invalid parameter: client_id")
        if client_id != self.client_id:
            raise OAuthFailure("invalid_client", "Client authentication failed", 401)

    # -- logins ---------------------------------------------------------------

    def issue_login(
        self,
        *,
        scope: str,
        account: bool,
        access_ttl: int | None,
        email: str | None = None,
        console: bool = False,
    ) -> dict[str, Any]:
        """A new login without the browser (as the account with ``email``, else the
        first; a Console login with ``console``); the token response the endpoint
        would send."""
        with self.lock:
            identity = 0 if email is None else self.book.index(email)
            ttl = self.access_ttl if access_ttl is None else access_ttl
            login = self._new_login(self.book.granted(scope, identity), account, ttl, identity)
            login.console = console
            return self._issue_tokens(login)

    def _new_login(self, scope: str, account: bool, access_ttl: int, identity: int = 0) -> _Login:
        now = self.clock()
        deadline = None if self.login_ttl is None else now + self.login_ttl
        login = _Login(
            secrets.token_hex(8),
            " ".join(scope.split()),
            account,
            access_ttl,
            deadline,
            identity=identity,
        )
        self._logins[login.id] = login
        return login

    def _issue_tokens(self, login: _Login, *, refresh: bool = True) -> dict[str, Any]:
        """The token answer for ``login``: a new access token and, with ``refresh``, a
        new refresh token."""
        now = self.clock()
        access = _remember(ACCESS_PREFIX + secrets.token_urlsafe(48))
        self._access[access] = _Access(login.id, now + login.access_ttl)
        response: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": login.access_ttl,
            "scope": login.scope,
        }
        if refresh:
            token = _remember(REFRESH_PREFIX + secrets.token_urlsafe(48))
            self._refresh[token] = _Refresh(login.id)
            response["refresh_token"] = token
        if login.deadline is not None:
            response["refresh_token_expires_in"] = max(0, int(login.deadline - now))
        if login.account:
            identity = self.accounts[login.identity]
            response["organization"] = {
                "uuid": identity["organization"]["uuid"],
                "name": identity["organization"]["name"],
            }
            response["account"] = {
                "uuid": identity["account"]["uuid"],
                "email_address": identity["account"]["email_address"],
            }
        return response

    def console_login_of(self, access_token: str) -> tuple[str, int, bool] | None:
        """``(scope, account index, console)`` of the login behind a currently valid
        ``access_token``, else ``None``."""
        with self.lock:
            record = self._access.get(access_token)
            if record is None or record.force_expired or self.clock() >= record.expires_at:
                return None
            login = self._logins[record.login_id]
            if login.revoked or record.revoked:
                return None
            return self.book.granted(login.scope, login.identity), login.identity, login.console

    def access_revoked(self, access_token: str) -> bool:
        """Whether ``access_token`` was issued here and then revoked (itself, or its whole
        login: a revoke call, a replay, :meth:`revoke_all`). Claude's API answers such a
        token 403 "OAuth token has been revoked", not 401."""
        with self.lock:
            record = self._access.get(access_token)
            return record is not None and (record.revoked or self._logins[record.login_id].revoked)

    def scope_of(self, access_token: str) -> str | None:
        """The login scope when ``access_token`` is currently valid, else ``None``."""
        login = self.console_login_of(access_token)
        return None if login is None else login[0]

    def revoke_all(self) -> None:
        with self.lock:
            for login in self._logins.values():
                login.revoked = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            for record in self._access.values():
                record.force_expired = True
