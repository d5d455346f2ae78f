"""A local stand-in for Claude's OAuth and API endpoints, for tests, demos and benchmarks.

In process::

    with ClaudeEmulator(auto_approve=True) as emu:
        os.environ.update(emu.env())
        ...
        assert emu.grants["refresh_token"] == 1

As a process, see :mod:`.command`::

    python -m claude_code_oauth.testing.emulator --port 0 --auto-approve

Only the standard library is used. Nothing the emulator prints or logs contains a
code, token or verifier; the manual callback page is the one place a code is shown.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ...config_rules import CLAUDE_CODE_OAUTH_CONFIG
from ..clock import WallClock
from ..serve_loop import ServeLoop
from .api import DEFAULT_MODELS
from .console import AUTHORIZE_PATH as CONSOLE_AUTHORIZE_PATH
from .faults import make_fault
from .handler import EmulatorServer
from .oauth import MANUAL_CALLBACK_PATH
from .records import (
    DEFAULT_SCOPE,
    HOLD_URI,
    ISSUED_SECRETS,
    RefreshGrant,
    Replay,
    Revocation,
    token_digest,
)
from .state import EmulatorState
from .wire import RecordedRequest

__all__ = [
    "ISSUED_SECRETS",
    "ClaudeEmulator",
    "RecordedRequest",
    "RefreshGrant",
    "Replay",
    "Revocation",
    "token_digest",
]

DEFAULT_CLIENT_ID: str = CLAUDE_CODE_OAUTH_CONFIG["client_id"]
DEFAULT_ACCESS_TTL = 8 * 3600
DEFAULT_LOGIN_TTL = 30 * 86400
#: Authorization codes (and pending consents) live this long, as RFC 6749 advises.
DEFAULT_CODE_TTL = 600.0


def client_env(base: str) -> dict[str, str]:
    """Environment overrides pointing a claude-code-oauth client at an emulator
    listening on ``base`` (``http://127.0.0.1:PORT``), in this process or another."""
    return {
        "CLAUDE_CODE_OAUTH_AUTH_URL": base + "/oauth/authorize",
        "CLAUDE_CODE_OAUTH_CONSOLE_AUTH_URL": base + CONSOLE_AUTHORIZE_PATH,
        "CLAUDE_CODE_OAUTH_TOKEN_URL": base + "/v1/oauth/token",
        "CLAUDE_CODE_OAUTH_API_BASE_URL": base,
        "CLAUDE_CODE_OAUTH_MANUAL_REDIRECT_URI": base + MANUAL_CALLBACK_PATH,
    }


class ClaudeEmulator:
    """Claude's authorize, token, models, profile and messages endpoints on loopback.

    Thread-safe. ``clock`` (default :func:`time.monotonic`) drives every expiry:
    code lifetime (``code_ttl``), access-token lifetime and the login deadline
    (``login_ttl``; ``None`` means the login never ends and
    ``refresh_token_expires_in`` is not sent). Tests may pass a fake clock.
    ``wall_clock`` (:attr:`wall_clock`; default the real time) gives the epoch seconds
    answers carry: usage windows' resets, a usage limit's reset, API keys' creation.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_approve: bool = False,
        client_id: str = DEFAULT_CLIENT_ID,
        access_ttl: int = DEFAULT_ACCESS_TTL,
        login_ttl: int | None = DEFAULT_LOGIN_TTL,
        models: list[dict[str, Any]] | None = None,
        code_ttl: float = DEFAULT_CODE_TTL,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: WallClock | None = None,
    ) -> None:
        self._host = host
        self._port = port
        #: The wall clock of every epoch time the emulator answers; a test may move it.
        self.wall_clock = WallClock() if wall_clock is None else wall_clock
        self._state = EmulatorState(
            client_id=client_id,
            access_ttl=access_ttl,
            login_ttl=login_ttl,
            code_ttl=code_ttl,
            models=DEFAULT_MODELS if models is None else models,
            clock=clock,
            auto_approve=auto_approve,
            wall_clock=self.wall_clock,
        )
        self._server: EmulatorServer | None = None
        self._loop: ServeLoop | None = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> ClaudeEmulator:
        """Bind and serve in a daemon thread. Returns ``self``; starting twice is an error."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        server = EmulatorServer((self._host, self._port), self._state, ipv6=":" in self._host)
        bound_host, bound_port = server.server_address[:2]
        shown = f"[{bound_host!s}]" if ":" in str(bound_host) else str(bound_host)
        self._state.base_url = f"http://{shown}:{bound_port}"
        self._server = server
        self._loop = ServeLoop(server, "claude-emulator")
        self._loop.start()
        return self

    def stop(self) -> None:
        """Stop serving and close open connections. Safe to call more than once."""
        server, loop = self._server, self._loop
        self._server = self._loop = None
        if server is None:
            return
        if loop is not None:
            loop.stop()
        server.close_connections()
        server.server_close()

    def __enter__(self) -> ClaudeEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the running emulator (no trailing slash)."""
        if not self._state.base_url:
            raise RuntimeError("the emulator has not been started")
        return self._state.base_url

    @property
    def manual_redirect_uri(self) -> str:
        return self.base_url + MANUAL_CALLBACK_PATH

    @property
    def client_id(self) -> str:
        return self._state.client_id

    def env(self) -> dict[str, str]:
        """Environment overrides pointing a claude-code-oauth client at this emulator."""
        return client_env(self.base_url)

    # -- observations -------------------------------------------------------------

    @property
    def grants(self) -> Counter[str]:
        """A snapshot: successful grants by type (``authorization_code``, ``refresh_token``)."""
        with self._state.lock:
            return Counter(self._state.grants)

    @property
    def replays(self) -> int:
        """How many spent refresh tokens were presented (each revoked its login)."""
        return len(self._state.replay_log)

    @property
    def refresh_grants(self) -> list[RefreshGrant]:
        """A snapshot of every refresh grant: when, which login, the spent and the
        issued refresh token (as :func:`token_digest` digests), oldest first."""
        with self._state.lock:
            return list(self._state.refresh_log)

    @property
    def replay_log(self) -> list[Replay]:
        """A snapshot of every replay (a spent refresh token presented again), oldest first."""
        with self._state.lock:
            return list(self._state.replay_log)

    @property
    def revocations(self) -> list[Revocation]:
        """A snapshot of every call the revoke endpoint answered (``{token_url}/revoke``):
        when, which login it ended, the token's digest, its hint and kind, oldest first."""
        with self._state.lock:
            return list(self._state.revocation_log)

    def was_presented(self, digest: str) -> bool:
        """Whether a refresh token with this :func:`token_digest` was ever presented."""
        with self._state.lock:
            return digest in self._state.presented

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every non-control request received, oldest first."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def auto_approve(self) -> bool:
        return self._state.auto_approve

    @auto_approve.setter
    def auto_approve(self, value: bool) -> None:
        self._state.auto_approve = bool(value)

    # -- control ----------------------------------------------------------------

    def inject(self, endpoint: str, fault: str, *, times: int = 1, **params: Any) -> None:
        """Make the next ``times`` requests to ``endpoint`` misbehave as ``fault``.

        Endpoints: token, token_revoke, models, profile, messages, authorize,
        console_authorize, create_api_key. Faults: html403, 429 (``retry_after``), 500,
        502_html, invalid_json, slow (``delay``), revoke, 401; for the token endpoint
        (:mod:`.faults`) no_refresh_token, invalid_scope, account_on_hold
        (``error_uri``), session_stale_relogin; Claude's answers (:mod:`.refusals`):
        400_third_party, 400_request, 403_revoked, 401_revoked, 401_org_not_allowed,
        403_org_not_allowed, 429_credits_required, 403_scope_insufficient,
        403_organization_disabled, 401_token_expired, 403_model_suspended (these five
        take ``user_facing``), 403_model_not_on_plan, 429_limit (``window``,
        ``reset_in``), 529, stream_error, 404, 404_html; and for create_api_key
        (:mod:`.console`): 403_no_permission, 403_verification_required
        (``remediation_url``), no_raw_key, bad_raw_key. Faults queue in the order
        injected. Raises ``ValueError``.
        """
        self._state.push_fault(endpoint, make_fault(endpoint, fault, times, params))

    def clear_faults(self) -> None:
        self._state.clear_faults()

    def issue_login(
        self,
        *,
        scope: str = DEFAULT_SCOPE,
        account: bool = True,
        access_ttl: int | None = None,
        email: str | None = None,
        console: bool = False,
    ) -> dict[str, Any]:
        """Create a login without a browser, as the account with ``email`` (default: the
        first); returns the token endpoint's response body. ``account=False`` leaves the
        account and organization out of that body; ``console=True`` makes it a Console
        login (its access token can create an API key)."""
        return self._state.issue_login(
            scope=scope, account=account, access_ttl=access_ttl, email=email, console=console
        )

    # -- accounts -----------------------------------------------------------------

    def add_account(
        self,
        email: str,
        display_name: str | None = None,
        *,
        organization: str | None = None,
        organization_type: str = "claude_max",
        withheld_scopes: tuple[str, ...] = (),
    ) -> dict[str, dict[str, Any]]:
        """Add a user the consent page can approve as (each with its own organization;
        ``withheld_scopes`` are left out of every grant, see :meth:`withhold_scopes`).

        Returns ``{"account": {...}, "organization": {...}}``. The first account always
        exists (``emulated.user@example.com``). ``ValueError`` for a repeated email.
        """
        return self._state.add_account(
            email,
            display_name,
            organization=organization,
            organization_type=organization_type,
            withheld_scopes=withheld_scopes,
        )

    def withhold_scopes(self, email: str, *scopes: str) -> None:
        """Make the account's organization leave ``scopes`` out of every grant, silently,
        as Claude does (``org:create_api_key`` where members may not create keys; without
        ``user:inference`` a sign-in is a Console one). New sign-ins are granted without
        them; existing logins lose them at their next refresh. No scopes: none withheld."""
        self._state.book.withhold(email, scopes)

    def hold_account(self, email: str, error_uri: str | None = HOLD_URI) -> None:
        """Put the account on hold: every refresh of its logins is refused with
        ``account_on_hold`` and ``error_uri``. ``None`` lifts the hold."""
        self._state.book.hold(email, error_uri)

    @property
    def accounts(self) -> list[str]:
        """The emails of every emulated account, the first one first."""
        return self._state.account_emails()

    @property
    def consent_account(self) -> str:
        """The account the "browser" is signed in as: checked on the consent page (when
        there are several) and approved as by ``auto_approve``."""
        return self._state.consent_account

    @consent_account.setter
    def consent_account(self, email: str) -> None:
        self._state.account_index(email)  # ValueError for an unknown account
        self._state.consent_account = email

    def account_for_token(self, token: str) -> str | None:
        """The email of the account whose login issued ``token`` (access or refresh
        token, valid or not), ``None`` for a token this emulator never issued. Lets a
        test tell which account served a recorded request without printing a token."""
        identity = self._state.identity_of_token(token)
        return None if identity is None else identity["account"]["email_address"]

    # -- API keys (the Console, see :mod:`.console`) -------------------------------

    @property
    def api_keys(self) -> list[dict[str, Any]]:
        """Every API key Console logins created, as the Console lists them (``id``,
        ``name``, ``created_at``, ``partial_key_hint``, ``status``, plus ``email`` and
        ``requests`` answered), oldest first. Never the key itself."""
        return self._state.api_keys.listing()

    def api_key_created(self, key: str) -> bool:
        """Whether ``key`` is one this emulator created (revoked or not): lets a test
        check a stored key without printing it."""
        return self._state.api_keys.is_key(key)

    def revoke_api_keys(self, key: str | None = None) -> int:
        """Revoke one API key (every one when ``None``), as the Console's button does;
        it then answers 401. Returns how many were revoked."""
        return self._state.api_keys.revoke(key)

    def deny_api_keys(self, email: str, denied: bool = True) -> None:
        """Make the account's role refuse (``denied``) or allow creating API keys."""
        self._state.account_index(email)  # ValueError for an unknown account
        self._state.api_keys.deny(email, denied)

    def revoke_all(self) -> None:
        """Revoke every login now: its access and refresh tokens stop working."""
        self._state.revoke_all()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far answers 401; refresh tokens stay valid."""
        self._state.expire_access_tokens()

    # -- usage (see :mod:`.usage`) ------------------------------------------------

    @property
    def account_uuid(self) -> str:
        """The uuid of the emulator's (default) account."""
        return str(self._state.account["uuid"])

    def configure_usage(self, *, account: str | None = None, **changes: Any) -> None:
        """Change an account's usage model (see :class:`.usage.UsageConfig`): ``limits`` /
        ``lengths`` (per window, merged; ``None`` removes a window; add
        ``seven_day_overage_included`` for a ``7d_oi`` window), ``window_models``
        (window → the word of the model ids it counts), ``cost``, ``extra_usage``,
        ``extra_limit`` (spent: ``out_of_credits``), ``bill_all_as_extra``, ``plan``
        (max, pro, team, enterprise, api), ``tier``, ``plan_display_name``,
        ``subscription_status``, ``endpoint_form`` (windows, limits, both),
        ``endpoint_min_interval``, ``signals`` (``grace``, ``slow``, ``fallback``,
        ``upgrade_paths`` → the most-used window's fraction from which answers carry
        them, e.g. ``{"grace": 0.8, "slow": 1.0}``; 0 = always) and
        ``slow_budget_used``. Raises ``ValueError``."""
        self._state.usage.configure(account or self.account_uuid, **changes)

    def reset_usage(
        self, window: str | None = None, *, in_seconds: float = 0.0, account: str | None = None
    ) -> None:
        """Make ``window`` (every window when ``None``) reset now, or ``in_seconds`` from now."""
        self._state.usage.reset(account or self.account_uuid, window, in_seconds)

    def usage_counters(self, account: str | None = None) -> dict[str, Any]:
        """What an account's counters say now (see :meth:`.usage.UsageBook.counters`)."""
        return self._state.usage.counters(account or self.account_uuid)

    def deny_long_context(self, email: str | None = None, denied: bool = True) -> None:
        """Make an account's subscription (the first account's by default) lack the
        1M-token context: every request carrying ``context-1m-2025-08-07`` is refused
        (see :mod:`.capabilities`); ``denied=False`` gives it back."""
        account = self._state.accounts[self._state.account_index(email)] if email else None
        uuid = account["account"]["uuid"] if account else self.account_uuid
        self._state.deny_long_context(str(uuid), denied)

    def set_models(self, models: list[dict[str, Any]]) -> None:
        """Replace the model list (dicts with ``id``, optional ``display_name``,
        ``created_at``, ``max_input_tokens``), served in the given order."""
        self._state.set_models(models)
