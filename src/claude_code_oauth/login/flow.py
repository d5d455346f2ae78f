"""The interactive login: authorization code + PKCE with a loopback redirect.

:class:`LoginFlow` is the whole flow, usable from the CLI and from Code Puppy::

    flow = LoginFlow(settings)
    urls = flow.start()             # checks, binds the port; open urls.start in a browser,
    ...                             # print urls.browser and urls.manual; feed pastes with
    ...                             # flow.submit_paste()
    result = flow.wait(on_notice)   # blocks until done; raises a named LoginError
    flow.close()                    # always: releases the port (also a context manager)

What a caller may rely on: a fresh verifier and state per flow (from
:mod:`secrets`); :meth:`LoginFlow.start` raises, before any browser is opened,
what would otherwise fail after the user approved — an invalid endpoint or
timeout in the configuration, a data directory others can write to, a token
path that is a symlink or not a regular file, an unusable lock; whichever of
the browser callback and a paste arrives first wins and exactly one code
exchange happens, and only once a save's space is claimed (a disk that filled
up meanwhile leaves the code unspent; tokens that still cannot replace the file
are kept beside it for the next run, see :mod:`..tokens.recovery`); waiting is
event-driven (a queue), ends at
``callback_timeout`` with :class:`CallbackTimeout`, on Ctrl-C with
:class:`LoginCancelled`; the port is released by :meth:`LoginFlow.close` in
every case; the token file is written under the token lock and only after a
successful exchange, so a failed login leaves it untouched; the browser tab
says "Signed in" only once the file is saved, and says why if anything failed.

The granted scope is checked before anything is saved (:mod:`.grant`): a
subscription sign-in granted without ``user:inference`` cannot make a request, and a
Console sign-in needs ``org:create_api_key``; either is refused with
:class:`~claude_code_oauth.errors.ScopeNotGranted` saying what to do.

A Console sign-in (``LoginFlow(settings, console=True)``) is the same flow on
``console_auth_url``; after the code exchange the new access token creates an
API key (:mod:`.console_key`), and only the key is saved — the OAuth tokens are
dropped. If the key cannot be created, nothing is written: the profile's
previous sign-in stays exactly as it was.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from ..config import Settings
from ..errors import (
    AuthorizationDenied,
    CallbackTimeout,
    ClaudeOAuthError,
    ConfigError,
    LoginCancelled,
    PasteError,
)
from ..tokens import store as token_store
from ..tokens.api_key import ApiKeyRecord
from . import pkce
from .loopback import CallbackParams, LoopbackReceiver
from .paste import parse_paste
from .warm_up import JOIN_SECONDS, start_warm_up


class LoginUrls:
    """The URLs of one login.

    ``start`` is what to open in the browser: a one-time loopback address that
    redirects to ``browser``, so the browser's command line (readable by every
    local user) holds no ``state`` or ``code_challenge``. ``browser`` is the full
    authorize URL with the loopback redirect, to print for copy-paste; ``manual``
    the one with the paste-back redirect.
    """

    __slots__ = ("browser", "manual", "port", "redirect_uri", "start")

    def __init__(self, browser: str, manual: str, redirect_uri: str, port: int, start: str) -> None:
        self.browser = browser
        self.manual = manual
        self.redirect_uri = redirect_uri
        self.port = port
        self.start = start


class LoginResult:
    """A completed login. ``callback_to_saved`` is seconds from the response's
    arrival (callback request or paste) to the token file being saved. ``record`` is
    the saved sign-in: OAuth tokens, or a Console sign-in's API key. ``replaced`` is
    the profile's previous Console API key when this sign-in replaced one (it still
    exists in the Console). ``storage_notice`` is the line saying where ``storage =
    auto`` put the secrets, when it is to be said (see :mod:`..tokens.storage_choice`);
    ``keyring`` names the OS keyring holding the secrets (``None``: the file holds them)."""

    __slots__ = (
        "callback_to_saved",
        "keyring",
        "record",
        "replaced",
        "storage_notice",
        "token_path",
        "via",
    )

    def __init__(
        self,
        record: token_store.TokenRecord | ApiKeyRecord,
        token_path: str,
        via: str,
        callback_to_saved: float,
        replaced: ApiKeyRecord | None = None,
    ) -> None:
        self.record = record
        self.token_path = token_path
        self.via = via
        self.callback_to_saved = callback_to_saved
        self.replaced = replaced
        self.storage_notice: str | None = None
        self.keyring: str | None = None


def authorize_url(
    settings: Settings, *, redirect_uri: str, challenge: str, state: str, console: bool = False
) -> str:
    """The authorization URL with Claude's query parameters (``code=true`` first), on
    the Console's authorize page with ``console``."""
    query = urlencode(
        {
            "code": "true",
            "client_id": settings.client_id,
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "scope": settings.scope,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": state,
        }
    )
    base = settings.console_auth_url if console else settings.auth_url
    return f"{base}{'&' if urlsplit(base).query else '?'}{query}"


def _check_settings(settings: Settings) -> None:
    """Read (and so validate) every setting the login uses after the callback."""
    for key in ("token_url", "api_base_url", "client_id", "scope", "http_timeout", "lock_timeout"):
        getattr(settings, key)


def _who(record: token_store.TokenRecord | ApiKeyRecord) -> str:
    email = (record.account or {}).get("email_address")
    if isinstance(record, ApiKeyRecord):
        who = f" as {email}" if email else ""
        return f"Signed in to the Anthropic Console{who}; an API key was created and saved."
    return f"Signed in as {email}." if email else "Signed in."


class LoginFlow:
    """One login attempt. Not reusable: make a new flow to try again."""

    def __init__(
        self, settings: Settings, *, timeout: float | None = None, console: bool = False
    ) -> None:
        self.settings = settings
        #: A Console sign-in: the login creates an API key, which is what is saved.
        self.console = console
        self.timeout = settings.callback_timeout if timeout is None else timeout
        # Finite and below what a lock wait accepts (about 292 years), else OverflowError.
        if not 0 < self.timeout <= threading.TIMEOUT_MAX:
            raise ConfigError(
                f"The login timeout must be more than 0 and at most "
                f"{threading.TIMEOUT_MAX:.0f} seconds, not {self.timeout!r}.",
                hint="Check --timeout or CLAUDE_CODE_OAUTH_CALLBACK_TIMEOUT.",
            )
        self._verifier = pkce.new_verifier()
        self._state = pkce.new_state()
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._decided = False
        self._decide_lock = threading.Lock()
        self._receiver: LoopbackReceiver | None = None
        self._urls: LoginUrls | None = None
        self._warm_up: threading.Thread | None = None

    # -- setup --------------------------------------------------------------------

    def start(self) -> LoginUrls:
        """Check what the login will need, open the loopback port and build the URLs."""
        settings = self.settings
        # Everything that would otherwise fail after the user approved in the browser:
        # the endpoints and timeouts used after the callback, then the token file.
        _check_settings(settings)
        if self.console:
            settings.console_auth_url  # noqa: B018 - checked before the port opens
        token_store.preflight(settings)
        from ..tokens.storage_choice import choose

        self._storage = choose(settings)  # the keyring asked now, not after the code
        manual_redirect = settings.manual_redirect_uri
        receiver = LoopbackReceiver(
            expected_state=self._state,
            path=settings.redirect_path,
            on_callback=self._on_callback,
            on_rejected=lambda reason: self._events.put(("notice", f"Note: {reason}.")),
            # The tab waits for the exchange and the save (which may wait for the lock).
            finish_wait=settings.http_timeout + settings.lock_timeout + 5,
        )
        port = receiver.bind(settings.callback_port_range)
        self._receiver = receiver
        try:
            redirect_uri = settings.redirect_uri(port)
            challenge = pkce.s256_challenge(self._verifier)
            browser = authorize_url(
                settings,
                redirect_uri=redirect_uri,
                challenge=challenge,
                state=self._state,
                console=self.console,
            )
            urls = LoginUrls(
                browser=browser,
                manual=authorize_url(
                    settings,
                    redirect_uri=manual_redirect,
                    challenge=challenge,
                    state=self._state,
                    console=self.console,
                ),
                redirect_uri=redirect_uri,
                port=port,
                start=receiver.start_address(browser, settings.redirect_host),
            )
            receiver.start()
            self._warm_up = start_warm_up()
        except BaseException:
            self.close()
            raise
        self._urls = urls
        return urls

    @property
    def listening_addresses(self) -> list[str]:
        """Where the receiver listens, e.g. ``['127.0.0.1', '::1']``."""
        return self._receiver.addresses if self._receiver else []

    @property
    def urls(self) -> LoginUrls:
        if self._urls is None:
            raise RuntimeError("start() first")
        return self._urls

    # -- inputs (any thread) --------------------------------------------------------

    def _on_callback(self, params: CallbackParams) -> bool:
        with self._decide_lock:
            if self._decided:
                return False
            self._decided = True
        self._events.put(("callback", params))
        return True

    def submit_paste(self, text: str) -> None:
        """Offer a pasted ``CODE#STATE`` or callback URL; thread-safe."""
        self._events.put(("paste", (text, time.monotonic())))

    def notify(self, text: str) -> None:
        """Queue a notice for the waiting caller (for example a browser that failed)."""
        self._events.put(("notice", text))

    def cancel(self, reason: str = "Login cancelled.") -> None:
        """End :meth:`wait` with :class:`LoginCancelled`; thread-safe."""
        self._events.put(("cancel", reason))

    # -- the wait ---------------------------------------------------------------------

    def wait(self, on_notice: Callable[[str], None] = lambda text: None) -> LoginResult:
        """Block until a response arrives, exchange it once, save the tokens."""
        receiver = self._receiver
        if receiver is None or self._urls is None:
            raise RuntimeError("start() first")
        deadline = time.monotonic() + self.timeout
        try:
            code, redirect_uri, arrived, via = self._next_response(deadline, on_notice)
            return self._complete(code, redirect_uri, arrived, via)
        except KeyboardInterrupt:
            receiver.finish(False, "The sign-in was cancelled in the terminal.")
            raise LoginCancelled("Login cancelled.") from None
        except ClaudeOAuthError as exc:
            receiver.finish(False, str(exc))
            raise
        except BaseException:
            receiver.finish(False, "The sign-in failed in the terminal; see the error there.")
            raise

    def _next_response(
        self, deadline: float, on_notice: Callable[[str], None]
    ) -> tuple[str, str, float, str]:
        urls = self.urls
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CallbackTimeout(
                    f"No sign-in response arrived within {self.timeout:g} s.",
                    hint=self._timeout_hint(),
                )
            try:
                kind, payload = self._events.get(timeout=remaining)
            except queue.Empty:
                continue
            if kind == "notice":
                on_notice(payload)
                continue
            if kind == "cancel":
                raise LoginCancelled(payload)
            if kind == "callback":
                params: CallbackParams = payload
                if params.error:
                    raise AuthorizationDenied(params.error, params.error_description)
                assert params.code is not None
                return params.code, urls.redirect_uri, params.received_at, "browser"
            text, arrived = payload
            try:
                pasted = parse_paste(
                    text,
                    expected_state=self._state,
                    loopback_redirect_uri=urls.redirect_uri,
                    manual_redirect_uri=self.settings.manual_redirect_uri,
                )
            except PasteError as exc:
                on_notice(str(exc))
                continue
            with self._decide_lock:
                if self._decided:
                    on_notice("The browser already completed this sign-in; the paste was ignored.")
                    continue
                self._decided = True
            if pasted.error:
                raise AuthorizationDenied(pasted.error, pasted.error_description)
            assert pasted.code is not None
            return pasted.code, pasted.redirect_uri, arrived, f"paste ({pasted.via})"

    def _timeout_hint(self) -> str:
        """What to do after a wait with no answer: if the sign-in page is gone (the
        browser showed a 404 we never saw), that it moved and which variable to set."""
        from .sign_in_page import sign_in_page_moved

        moved = sign_in_page_moved(self.settings, console=self.console)
        return moved or "Run the login again (use --timeout to allow longer)."

    def _complete(self, code: str, redirect_uri: str, arrived: float, via: str) -> LoginResult:
        from .exchange import exchange_and_save

        path = self.settings.token_path
        record, previous = exchange_and_save(
            self.settings,
            code=code,
            verifier=self._verifier,
            state=self._state,
            redirect_uri=redirect_uri,
            console=self.console,
            secrets=self._storage.target,
        )
        saved = time.monotonic()
        replaced = previous if isinstance(previous, ApiKeyRecord) else None
        assert self._receiver is not None
        self._receiver.finish(True, _who(record))
        result = LoginResult(record, path, via, saved - arrived, replaced)
        result.storage_notice = self._storage.notice
        result.keyring = self._storage.label
        self._storage.told()
        return result

    # -- teardown -----------------------------------------------------------------------

    def close(self) -> None:
        """Release the loopback port (idempotent), and let the warm-up finish.

        A Ctrl-C right after :meth:`start` ends the process while the warm-up
        thread may still be importing the HTTP stack; CPython's shutdown with a
        daemon thread inside an import can wait forever on that import's lock.
        The imports take a fraction of a second, so the wait is bounded by
        :data:`WARM_UP_JOIN` and is normally over before anyone notices.
        """
        if self._receiver is not None:
            self._receiver.close()
        warm_up, self._warm_up = self._warm_up, None
        if warm_up is not None:
            warm_up.join(JOIN_SECONDS)

    def __enter__(self) -> LoginFlow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
