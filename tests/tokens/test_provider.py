"""TokenProvider against the emulator: margins, failures, the rejected-token path, the env var.

Every refresh here is real HTTP to the emulator; the counts it keeps (grants,
token-endpoint requests, replays) are what the assertions are about.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from claude_code_oauth.errors import (
    ClaudeOAuthError,
    LockTimeout,
    LoginRequired,
    NetworkError,
    NotSignedIn,
    RateLimited,
    SecretStoreLocked,
    ServerError,
    StorageError,
    TokenFileError,
    UnexpectedResponse,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import exit_wait
from claude_code_oauth.tokens import provider as token_provider
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.credential import OAUTH
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from claude_code_oauth.tokens.provider import TokenProvider, export_to_environ, provider_for
from claude_code_oauth.tokens.refresh_step import TRANSIENT_BACKOFF
from claude_code_oauth.tokens.store import TokenRecord
from helpers import memory_secret_service
from helpers.polling import wait_for
from helpers.tokens import (
    assert_same_secret,
    digest,
    files_containing,
    run_worker,
    seed,
    settings_for,
    stored,
    token_requests,
)


def _provider(env: dict[str, str], **overrides: object) -> tuple[TokenProvider, list[str]]:
    warnings: list[str] = []
    return TokenProvider(settings_for(env, **overrides), on_warning=warnings.append), warnings


# -- the fast path and the margin -------------------------------------------------


def test_fresh_token_needs_no_network_and_no_lock(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    provider, warnings = _provider(client_env)
    token = provider.get_access_token()
    assert_same_secret(token, record.access_token, "the token")
    assert emulator.requests == []
    assert not Path(token_store.lock_path(str(token_path))).exists()
    assert warnings == []


@pytest.mark.subprocess
def test_fast_path_imports_no_http_library(client_env: dict[str, str], token_path: Path) -> None:
    import subprocess

    # A record the emulator never saw: the fast path must not need it to.
    now = time.time()
    record = token_store.TokenRecord(
        access_token="fast-path-test-value",
        refresh_token="unused",
        expires_at=now + 3600,
        obtained_at=now,
    )
    token_store.save(str(token_path), record)
    code = (
        "import sys\n"
        "from claude_code_oauth.tokens.provider import get_access_token\n"
        "assert get_access_token() == 'fast-path-test-value'\n"
        "heavy = ['httpx', 'httpcore', 'filelock', 'anyio', 'ssl', 'h11', 'socket']\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=client_env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


@pytest.mark.parametrize(
    ("lifetime", "left", "refreshes"),
    [
        (28800, 310, 0),  # auto margin: min(300 s, 10 %) = 300 s
        (28800, 290, 1),
        (1000, 110, 0),  # auto margin: 10 % of 1000 s = 100 s
        (1000, 90, 1),
    ],
)
def test_auto_margin(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    lifetime: int,
    left: int,
    refreshes: int,
) -> None:
    seed(emulator, token_path, expires_in=left, lifetime=lifetime)
    provider, _ = _provider(client_env)
    provider.get_access_token()
    assert emulator.grants["refresh_token"] == refreshes


def test_configured_margin(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=3600)
    provider, _ = _provider(client_env, refresh_margin=7200)
    token = provider.get_access_token()
    assert emulator.grants["refresh_token"] == 1
    token_hash, old_hash = digest(token), digest(old.access_token)
    assert token_hash != old_hash
    # Zero margin: only a really expired token is refreshed.
    seed(emulator, token_path, expires_in=5)
    _provider(client_env, refresh_margin=0)[0].get_access_token()
    assert emulator.grants["refresh_token"] == 1


def test_expired_token_is_refreshed_and_saved_privately(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=-10)
    provider, warnings = _provider(client_env)
    token = provider.get_access_token()
    record = stored(token_path)
    token_hash, file_hash = digest(token), digest(record.access_token)
    assert token_hash == file_hash
    assert record.refresh_token != old.refresh_token
    assert record.expires_at > time.time() + 3600
    assert record.account == old.account and record.refresh_token_expires_at is not None
    assert oct(token_path.stat().st_mode & 0o777) == "0o600"
    lock = Path(token_store.lock_path(str(token_path)))
    assert oct(lock.stat().st_mode & 0o777) == "0o600"
    assert emulator.grants["refresh_token"] == 1 and warnings == []
    # Now fresh: no second refresh.
    provider.get_access_token()
    assert emulator.grants["refresh_token"] == 1


def test_threads_share_one_flight(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", "slow", delay=0.3)
    provider, _ = _provider(client_env)
    barrier = threading.Barrier(8)
    hashes: list[str] = []

    def run() -> None:
        barrier.wait()
        hashes.append(digest(provider.get_access_token()))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert emulator.grants["refresh_token"] == 1
    assert len(hashes) == 8 and len(set(hashes)) == 1


def test_threads_share_a_failed_flight(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", "500", times=10)
    provider, _ = _provider(client_env)
    barrier = threading.Barrier(4)
    errors: list[str] = []

    def run() -> None:
        barrier.wait()
        try:
            provider.get_access_token()
        except ServerError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 4 and len(set(errors)) == 1
    assert token_requests(emulator) == 1


class _WatchedFlight:
    """The provider's flight lock, telling the test when a thread holds it (``held``)
    and when another has come to wait for it (``waiting``: by then that thread has
    noted which flight it waits for)."""

    def __init__(self, lock: threading.Lock) -> None:
        self._lock = lock
        self.held = threading.Event()
        self.waiting = threading.Event()

    def acquire(self, timeout: float = -1) -> bool:
        if self._lock.locked():
            self.waiting.set()
        acquired = self._lock.acquire(timeout=timeout)
        self.held.set()
        return acquired

    def release(self) -> None:
        self._lock.release()


@pytest.mark.parametrize("how", ["in-use", "refused"])
def test_a_thread_that_waited_for_a_failed_flight_shares_its_failure(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, how: str
) -> None:
    # A flight fails (a 500) while its token still works: its thread warns once. A thread
    # that waited for that flight gets the same outcome without asking again: the token
    # still in use, with no second warning — or, when the API had refused that token, the
    # failure, never the refused token.
    record = seed(emulator, token_path, expires_in=30, lifetime=3600)
    warnings: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def held(message: str) -> None:
        warnings.append(message)
        if len(warnings) == 1:
            entered.set()
            release.wait(30)

    provider = TokenProvider(settings_for(client_env), on_warning=held)
    # An earlier flight (a late report of a token long replaced: the file's is handed out).
    assert_same_secret(provider.replace_rejected("an-older-token-value"), record.access_token)
    emulator.inject("token", "500")
    holder = threading.Thread(target=provider.get_access_token, daemon=True)
    holder.start()
    assert entered.wait(30)  # the flight has failed and holds on in its warning
    watched = _WatchedFlight(provider._flight)
    provider._flight = watched  # type: ignore[assignment]
    outcome: list[object] = []

    def wait_for_the_flight() -> None:
        try:
            if how == "in-use":
                outcome.append(digest(provider.get_access_token()))
            else:
                outcome.append(digest(provider.replace_rejected(record.access_token)))
        except ServerError as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_the_flight, daemon=True)
    waiter.start()
    assert watched.waiting.wait(30)
    release.set()
    holder.join(30)
    waiter.join(30)
    if how == "in-use":
        assert outcome == [digest(record.access_token)]
    else:
        (error,) = outcome
        assert isinstance(error, ServerError) and "HTTP 500" in str(error)
    assert len(warnings) == 1 and "HTTP 500" in warnings[0]
    assert token_requests(emulator) == 1


def test_a_thread_that_waited_for_a_flight_that_found_the_login_dead_is_told_so(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    # The login is marked dead but its token still works: a flight for it hands that
    # token out without asking. A thread that waited for that flight with the same token,
    # just refused by the API, is told the login must be renewed.
    record = seed(emulator, token_path, expires_in=30, lifetime=3600, needs_login=True)
    provider, warnings = _provider(client_env)
    watched = _WatchedFlight(provider._flight)
    provider._flight = watched  # type: ignore[assignment]
    elsewhere = token_store.token_lock(provider.settings)
    elsewhere.acquire()  # the flight waits for the lock, as if another process held it
    handed: list[str] = []
    refused: list[ClaudeOAuthError] = []

    def rejected() -> None:
        try:
            provider.replace_rejected(record.access_token)
        except ClaudeOAuthError as exc:
            refused.append(exc)

    try:
        holder = threading.Thread(
            target=lambda: handed.append(digest(provider.get_access_token())), daemon=True
        )
        holder.start()
        assert watched.held.wait(30)
        waiter = threading.Thread(target=rejected, daemon=True)
        waiter.start()
        assert watched.waiting.wait(30)
    finally:
        elsewhere.release()
    holder.join(30)
    waiter.join(30)
    assert handed == [digest(record.access_token)]
    (error,) = refused
    assert isinstance(error, LoginRequired), repr(error)
    assert error.reason == "Your Claude login has ended and must be renewed."
    assert warnings == [] and token_requests(emulator) == 0


# -- failures ---------------------------------------------------------------------


def test_not_signed_in(client_env: dict[str, str]) -> None:
    provider, _ = _provider(client_env)
    with pytest.raises(NotSignedIn) as caught:
        provider.get_access_token()
    assert caught.value.reason == "Not signed in to Claude."
    assert "claude-code-oauth login" in str(caught.value.hint)


def test_get_credential_when_not_signed_in_says_so_and_how(client_env: dict[str, str]) -> None:
    provider, _ = _provider(client_env)
    with pytest.raises(NotSignedIn) as caught:
        provider.get_credential()
    assert caught.value.reason == "Not signed in to Claude."
    assert caught.value.hint == (
        "Run `claude-code-oauth login` (or /claude-code-auth in Code Puppy)."
    )


def test_a_keyring_sign_in_is_read_through_its_settings_once_per_token_file(
    emulator: ClaudeEmulator, client_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The secrets are in a Secret Service only this profile's environment reaches (not
    # the process's): the credential is its OAuth token, named for the profile; read
    # before every request, the item costs a keyring call only once per token file, so
    # a keyring gone quiet does not stop a token that is still good.
    keyring = memory_secret_service.install(monkeypatch)
    env = {**client_env, **memory_secret_service.ENV, "CLAUDE_CODE_OAUTH_PROFILE": "work"}
    settings = settings_for(env)
    record = TokenRecord.from_token_response(emulator.issue_login(), now=time.time())
    stores = StoreOpener(timeout=30.0, environ=memory_secret_service.ENV)
    target = KeyringTarget("secret-service", "work")
    token_store.save(settings.token_path, record, secrets=target, stores=stores)
    provider = TokenProvider(settings, on_warning=pytest.fail)
    credential = provider.get_credential()
    assert (credential.kind, credential.profile) == (OAUTH, "work")
    assert_same_secret(credential.secret, record.access_token, "the token")
    current = provider.current()
    assert current is not None
    assert_same_secret(current.refresh_token, record.refresh_token, "the stored sign-in")
    keyring.failure = SecretStoreLocked("The memory keyring is locked.", hint="Unlock it.")
    assert_same_secret(provider.get_credential().secret, record.access_token, "from memory")
    assert emulator.requests == []


def test_invalid_grant_marks_needs_login_and_asks_once(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=-10)
    emulator.revoke_all()
    provider, _ = _provider(client_env)
    with pytest.raises(LoginRequired) as first:
        provider.get_access_token()
    assert "claude-code-oauth login" in str(first.value)
    assert "/claude-code-auth" in str(first.value)
    record = stored(token_path)
    assert record.needs_login
    kept_refresh, old_refresh = digest(record.refresh_token), digest(old.refresh_token)
    assert kept_refresh == old_refresh
    assert token_requests(emulator) == 1
    # Again, in this provider and in a new one (as another process would): same
    # message, and the server is not asked again.
    with pytest.raises(LoginRequired) as second:
        provider.get_access_token()
    with pytest.raises(LoginRequired) as third:
        _provider(client_env)[0].get_access_token()
    assert str(second.value) == str(first.value) == str(third.value)
    assert token_requests(emulator) == 1


def test_invalid_grant_while_token_still_works(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    """Inside the margin the access token still works: hand it out, warn, ask the server once."""
    old = seed(emulator, token_path, expires_in=60)
    emulator.inject("token", "revoke")
    provider, warnings = _provider(client_env)
    token = provider.get_access_token()
    assert_same_secret(token, old.access_token, "the token")
    assert len(warnings) == 1 and "claude-code-oauth login" in warnings[0]
    assert stored(token_path).needs_login
    provider.get_access_token()
    assert token_requests(emulator) == 1
    # Refused by the API now: no refresh, the login must be renewed.
    with pytest.raises(LoginRequired):
        provider.replace_rejected(old.access_token)
    assert token_requests(emulator) == 1


def test_login_deadline_passed_needs_no_network(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10, login_ends_in=-5)
    provider, _ = _provider(client_env)
    with pytest.raises(LoginRequired, match="expired"):
        provider.get_access_token()
    assert token_requests(emulator) == 0
    assert stored(token_path).needs_login


def test_refresh_token_expires_in_is_stored_as_a_deadline(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    before = time.time()
    _provider(client_env)[0].get_access_token()
    deadline = stored(token_path).refresh_token_expires_at
    assert deadline is not None
    # The emulator's login lasts 30 days from its issue; refreshing doesn't extend it.
    assert before + 30 * 86400 - 120 < deadline <= time.time() + 30 * 86400


@pytest.mark.subprocess
def test_rate_limited_records_not_before_for_every_process(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    valid = seed(emulator, token_path, expires_in=60)  # inside the margin, still valid
    emulator.inject("token", "429", retry_after=120)
    # Process A hits the 429 and still gets its (valid) token.
    a = run_worker(client_env, "get")
    a_hash = a["hash"]
    assert a_hash == digest(valid.access_token)
    assert len(a["warnings"]) == 1 and "429" in a["warnings"][0]
    assert token_requests(emulator) == 1
    not_before = stored(token_path).refresh_not_before
    assert not_before is not None and 100 < not_before - time.time() <= 121
    # Process B must not ask the token endpoint before then.
    b = run_worker(client_env, "get")
    b_hash = b["hash"]
    assert b_hash == a_hash and b["warnings"]
    assert token_requests(emulator) == 1
    # Once the token has really expired, B gets a clear error, still without asking.
    record = stored(token_path)
    record.expires_at = time.time() - 1
    token_store.save(str(token_path), record)
    c = run_worker(client_env, "get")
    assert c["error_type"] == "RateLimited" and "wait" in c["error"]
    assert token_requests(emulator) == 1


def test_rate_limited_with_expired_token_raises(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", "429", retry_after=30)
    provider, _ = _provider(client_env)
    with pytest.raises(RateLimited, match="429"):
        provider.get_access_token()
    with pytest.raises(RateLimited):
        _provider(client_env)[0].get_access_token()
    assert token_requests(emulator) == 1


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("html403", "HTML"),
        ("500", "HTTP 500"),
        ("502_html", "502"),
        ("invalid_json", "not valid JSON"),
        ("slow", "did not answer"),
    ],
)
def test_transient_failure_keeps_a_valid_token(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    fault: str,
    words: str,
) -> None:
    valid = seed(emulator, token_path, expires_in=60)
    emulator.inject("token", fault, **({"delay": 8} if fault == "slow" else {}))
    provider, warnings = _provider(client_env, http_timeout=0.5)
    token = provider.get_access_token()
    assert_same_secret(token, valid.access_token, "the token")
    assert len(warnings) == 1 and words in warnings[0]
    record = stored(token_path)
    assert not record.needs_login and record.refresh_token == valid.refresh_token
    # Backing off: the next call in this process does not hit the endpoint again.
    provider.get_access_token()
    assert token_requests(emulator) == 1


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("html403", UnexpectedResponse, "Cloudflare"),
        ("500", ServerError, "HTTP 500"),
        ("invalid_json", UnexpectedResponse, "not valid JSON"),
        ("slow", NetworkError, "did not answer within 0.5 s"),
    ],
)
def test_transient_failure_with_expired_token_is_a_clear_error(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    fault: str,
    error: type[Exception],
    words: str,
) -> None:
    seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", fault, **({"delay": 8} if fault == "slow" else {}))
    provider, _ = _provider(client_env, http_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(error, match=words):
        provider.get_access_token()
    assert time.monotonic() - started < 6  # the 0.5 s timeout, not the 8 s answer
    assert not stored(token_path).needs_login


def test_corrupt_token_file_is_a_clear_error_and_kept(
    client_env: dict[str, str], token_path: Path
) -> None:
    token_path.write_bytes(b'{"access_token": "abc", ')
    provider, _ = _provider(client_env)
    with pytest.raises(TokenFileError) as caught:
        provider.get_access_token()
    assert str(token_path) in str(caught.value) and "not valid JSON" in str(caught.value)
    assert token_path.read_bytes() == b'{"access_token": "abc", '


def test_symlinked_token_file_is_refused(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "elsewhere.json"
    seed(emulator, target, expires_in=-10)
    before = target.read_bytes()
    token_path.symlink_to(target)
    provider, _ = _provider(client_env)
    with pytest.raises(TokenFileError, match="symbolic link"):
        provider.get_access_token()
    assert target.read_bytes() == before
    assert token_requests(emulator) == 0


def test_without_a_warning_callback_the_warning_goes_to_the_projects_logger(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    valid = seed(emulator, token_path, expires_in=60)
    emulator.inject("token", "500")
    with caplog.at_level(logging.WARNING, logger="claude_code_oauth"):
        token = TokenProvider(settings_for(client_env)).get_access_token()
    assert_same_secret(token, valid.access_token, "the token")
    host = emulator.base_url.removeprefix("http://")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            "claude_code_oauth",
            logging.WARNING,
            "Could not refresh the token; using the current one: The token endpoint "
            f"({host}) failed with HTTP 500: api_error (Internal server error); try again "
            "shortly.",
        )
    ]


@pytest.mark.parametrize(
    ("expires_in", "rejected"),
    [(-10, False), (60, False), (3600, True)],
    ids=["expired", "still-valid", "rejected"],
)
def test_a_lock_held_elsewhere_past_lock_timeout(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    expires_in: float,
    rejected: bool,
) -> None:
    # Another process holds the lock throughout and never rotates: no refresh, and after
    # lock_timeout the current token while it works (never the one the API refused),
    # else one clear line.
    record = seed(emulator, token_path, expires_in=expires_in)
    provider, warnings = _provider(client_env, lock_timeout=0.2)
    held = (
        "Another claude-code-oauth process has held the lock on the token file for more "
        f"than 0.2 s ({token_store.lock_path(str(token_path))})."
    )
    elsewhere = token_store.token_lock(provider.settings)
    elsewhere.acquire()
    try:
        if expires_in > 0 and not rejected:
            assert_same_secret(provider.get_access_token(), record.access_token, "the token")
            (warning,) = warnings
            assert held in warning
        else:
            with pytest.raises(LockTimeout) as caught:
                if rejected:
                    provider.replace_rejected(record.access_token)
                else:
                    provider.get_access_token()
            assert str(caught.value).startswith(held)
    finally:
        elsewhere.release()
    assert token_requests(emulator) == 0


def test_while_the_lock_is_held_elsewhere_the_sign_in_is_read_again_only_once_replaced(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A sign-in in the keyring costs a keyring read per load: while waiting, the file is
    # read again only when it was replaced, not at every look (every 50 ms).
    seed(emulator, token_path, expires_in=-10)
    provider, _ = _provider(client_env, lock_timeout=0.3)
    loads: list[str] = []
    real_load = token_store.load

    def counted(path: str, *, stores: StoreOpener | None = None) -> TokenRecord | None:
        loads.append(path)
        return real_load(path, stores=stores)

    monkeypatch.setattr(token_store, "load", counted)
    elsewhere = token_store.token_lock(provider.settings)
    elsewhere.acquire()
    try:
        with pytest.raises(LockTimeout):
            provider.get_access_token()
    finally:
        elsewhere.release()
    # Before the flight, inside it, and once at the first look while waiting.
    assert loads == [str(token_path)] * 3


def test_a_rotation_by_the_lock_holder_is_adopted_while_it_still_holds_the_lock(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=-10)
    settings = settings_for(client_env, lock_timeout=30)
    rotated: list[token_store.TokenRecord] = []
    readings = 0

    def clock() -> float:
        # The third reading is the provider's first look at the file while it waits for
        # the lock: the holder finishes its refresh then (it saves a new login).
        nonlocal readings
        readings += 1
        if readings == 3:
            body = emulator.issue_login()
            rotated.append(token_store.TokenRecord.from_token_response(body, now=time.time()))
            token_store.save(str(token_path), rotated[0])
        return time.time()

    elsewhere = token_store.token_lock(settings)
    elsewhere.acquire()
    try:
        token = TokenProvider(settings, clock=clock).get_access_token()
    finally:
        elsewhere.release()
    assert rotated, "the provider took no look at the file while it waited"
    assert_same_secret(token, rotated[0].access_token, "the token adopted")
    assert token_requests(emulator) == 0


@pytest.mark.parametrize("expires_in", [-10, 60], ids=["expired", "still-valid"])
def test_a_lock_file_that_cannot_be_used_means_no_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path, expires_in: float
) -> None:
    record = seed(emulator, token_path, expires_in=expires_in)
    lock = token_store.lock_path(str(token_path))
    os.mkdir(lock)  # where the lock file belongs: not a file
    provider, warnings = _provider(client_env)
    why = f"Not refreshing the Claude login: Cannot use the lock file {lock}: Is a directory."
    if expires_in < 0:
        with pytest.raises(StorageError) as caught:
            provider.get_access_token()
        assert caught.value.reason.startswith(why)
    else:  # the current token while it works, and why it was not refreshed
        assert_same_secret(provider.get_access_token(), record.access_token, "the token")
        (warning,) = warnings
        assert warning.startswith(f"Could not refresh the token; using the current one: {why}")
    assert token_requests(emulator) == 0


def test_current_is_the_stored_sign_in_without_a_request(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    provider, _ = _provider(client_env)
    assert provider.current() is None
    record = seed(emulator, token_path, expires_in=-10)  # expired: still no refresh
    current = provider.current()
    assert current is not None
    assert_same_secret(current.refresh_token, record.refresh_token, "the refresh token")
    assert emulator.requests == []


def test_a_thread_waits_for_another_threads_flight_at_most_its_bound(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The flight is held (its warning callback blocks): another thread gives up after
    # lock_timeout + http_timeout + the save's allowance with one line, never a hang.
    # The allowance (5 s) is shortened so the test waits half a second, not 5.5.
    monkeypatch.setattr(token_provider, "SAVE_ALLOWANCE", 0.25)
    seed(emulator, token_path, expires_in=30, lifetime=3600)
    emulator.inject("token", "500")
    entered, release = threading.Event(), threading.Event()

    def stuck(message: str) -> None:
        entered.set()
        release.wait(60)

    settings = settings_for(client_env, lock_timeout=0.2, http_timeout=0.3)
    provider = TokenProvider(settings, on_warning=stuck)
    holder = threading.Thread(target=provider.get_access_token, daemon=True)
    holder.start()
    try:
        assert entered.wait(30)
        with pytest.raises(LockTimeout) as caught:
            provider.get_access_token()
        assert str(caught.value) == "Another thread has been refreshing for over 0.75 s."
    finally:
        release.set()
        holder.join(30)
    assert token_requests(emulator) == 1


def test_a_refresh_in_flight_is_saved_before_the_process_exits(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    # A refresh in a worker thread (a model request's 401) when the command is done:
    # the exit waits for it, so the rotated refresh token is saved, not dropped.
    before = seed(emulator, token_path, expires_in=-10)
    emulator.inject("token", "slow", delay=1)
    provider, _ = _provider(client_env, http_timeout=4)  # waited for: 4 s + 5 s to save
    worker = threading.Thread(target=provider.get_access_token, daemon=True)
    worker.start()
    wait_for(lambda: token_requests(emulator) == 1)  # the refresh is in flight
    assert exit_wait.wait_for_refreshes() is True
    assert digest(stored(token_path).refresh_token) != digest(before.refresh_token)
    worker.join(30)


def test_after_a_transient_failure_no_refresh_is_tried_for_exactly_the_backoff(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=120, lifetime=3600)  # in the margin, working
    emulator.inject("token", "500")
    now = [time.time()]
    warnings: list[str] = []
    provider = TokenProvider(
        settings_for(client_env), clock=lambda: now[0], on_warning=warnings.append
    )
    provider.get_access_token()
    start = now[0]
    now[0] = start + TRANSIENT_BACKOFF - 0.001
    provider.get_access_token()
    assert token_requests(emulator) == 1  # still backing off
    now[0] = start + TRANSIENT_BACKOFF
    provider.get_access_token()
    assert token_requests(emulator) == 2 and emulator.grants["refresh_token"] == 1


# -- the rejected-token path --------------------------------------------------------


def test_replace_rejected_adopts_a_newer_token_without_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    seed(emulator, token_path, expires_in=3600)
    provider, _ = _provider(client_env)
    newer = stored(token_path)
    replacement = provider.replace_rejected("some-older-token-value")
    assert_same_secret(replacement, newer.access_token, "the token")
    assert emulator.requests == []


def test_replace_rejected_forces_exactly_one_refresh(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    old = seed(emulator, token_path, expires_in=3600)
    provider, _ = _provider(client_env)
    replacement = provider.replace_rejected(old.access_token)
    new_hash, old_hash = digest(replacement), digest(old.access_token)
    assert new_hash != old_hash
    assert emulator.grants["refresh_token"] == 1
    # The same rejection reported again (another thread, late): adopt, don't refresh.
    again = provider.replace_rejected(old.access_token)
    again_hash = digest(again)
    assert again_hash == new_hash
    assert emulator.grants["refresh_token"] == 1


# -- the environment variable ------------------------------------------------------


def test_export_to_environ_follows_a_rotation_in_this_process(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "CLAUDE_OAUTH_TEST_TOKEN_VAR_IN_PROCESS"
    monkeypatch.delenv(name, raising=False)
    first = seed(emulator, token_path, expires_in=3600)
    provider = TokenProvider(settings_for(client_env, api_key_env_var=name))
    returned = export_to_environ(provider)
    assert_same_secret(returned, first.access_token, "the token returned")
    assert_same_secret(export_to_environ(provider), first.access_token, "the token again")
    assert len(provider._listeners) == 1  # twice: still one listener
    assert_same_secret(os.environ[name], first.access_token, "the variable")
    second = provider.replace_rejected(first.access_token)
    assert_same_secret(os.environ[name], second, "the variable after a refresh")
    assert digest(second) != digest(first.access_token)
    # An older token read late by a slow thread never replaces the newer one.
    provider._seen(first)
    assert_same_secret(os.environ[name], second, "the variable after a late older token")


def test_a_new_token_obtained_at_the_same_instant_as_the_last_is_announced(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    # Two refreshes the clock cannot tell apart (it did not tick): the later token is not
    # older than the one announced, so the listeners hear of it too.
    seed(emulator, token_path, expires_in=3600)
    now = time.time()
    provider = TokenProvider(settings_for(client_env), clock=lambda: now)
    announced: list[str] = []
    provider.add_listener(lambda token: announced.append(digest(token)))
    first = provider.get_access_token()
    second = provider.replace_rejected(first)
    third = provider.replace_rejected(second)
    assert len({digest(first), digest(second), digest(third)}) == 3
    assert announced == [digest(first), digest(second), digest(third)]


@pytest.mark.subprocess
def test_export_to_environ_follows_every_rotation(
    emulator: ClaudeEmulator,
    client_env: dict[str, str],
    token_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name = "CLAUDE_OAUTH_TEST_TOKEN_VAR"
    monkeypatch.delenv(name, raising=False)
    started = time.time()
    first = seed(emulator, token_path, expires_in=3600)
    provider = TokenProvider(settings_for(client_env, api_key_env_var=name))
    export_to_environ(provider)
    export_to_environ(provider)  # twice: still one listener
    assert len(provider._listeners) == 1
    now_hash, first_hash = digest(os.environ[name]), digest(first.access_token)
    assert now_hash == first_hash
    # A refresh in this process.
    second = provider.replace_rejected(first.access_token)
    env_hash, second_hash = digest(os.environ[name]), digest(second)
    assert env_hash == second_hash != first_hash
    # Another process rotates; this one adopts it on its next call.
    other = run_worker(client_env, "rejected")
    assert other["error_type"] is None
    provider.get_access_token()
    env_hash = digest(os.environ[name])
    assert env_hash == other["hash"] != second_hash
    # An older token read late by a slow thread never replaces the newer one.
    provider._seen(first)
    env_hash = digest(os.environ[name])
    assert env_hash == other["hash"]
    # The token is in the token file and the environment, nowhere else.
    current = os.environ[name].encode()
    leaks = files_containing([tmp_path], os.environ[name], skip={token_path})
    for path in Path(tempfile.gettempdir()).iterdir():
        recent = path.is_file() and not path.is_symlink() and path.stat().st_mtime >= started - 1
        if recent and current in path.read_bytes():
            leaks.append(path)
    assert leaks == []


def test_provider_for_is_one_per_token_file(client_env: dict[str, str], tmp_path: Path) -> None:
    settings = settings_for(client_env)
    assert provider_for(settings) is provider_for(settings_for(client_env))
    other = settings_for(client_env, data_dir=str(tmp_path / "other"))
    assert provider_for(other) is not provider_for(settings)


def test_get_access_token_function(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    token = token_provider.get_access_token(settings_for(client_env))
    assert_same_secret(token, record.access_token, "the token")
