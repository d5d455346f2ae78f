"""One refresh under the lock, in this process (the concurrency around it:
tests/tokens/test_provider.py): an answer that cannot be used but rotated, and a
refresh not even tried where its tokens could not be kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import (
    AccountOnHold,
    LoginRequired,
    RateLimited,
    SecretStoreLocked,
    ServerError,
    StorageError,
    UnexpectedResponse,
)
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.tokens import endpoint
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, StoreOpener
from claude_code_oauth.tokens.provider import TokenProvider
from claude_code_oauth.tokens.refresh_step import not_refreshing
from helpers import memory_secret_service
from helpers.machine_faults import full_at_the_space_claim
from helpers.tokens import digest, seed, settings_for, stored, token_requests

TOKEN = "/v1/oauth/token"
NO_ACCESS_TOKEN = "Unusable refresh answer: the answer has no access_token."


@pytest.fixture
def proxied(emulator: ClaudeEmulator, proxy: HostileProxy, data_dir: Path) -> Settings:
    """Settings whose token endpoint is the emulator's behind ``proxy``."""
    env = {"HOME": str(data_dir.parent / "home"), **emulator.env()}
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    return Settings(environ=proxy.env(env))


# -- an answer that cannot be used --------------------------------------------------------


def test_an_unusable_answer_that_rotated_is_saved_before_the_error(
    emulator: ClaudeEmulator, proxy: HostileProxy, proxied: Settings, token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, drop_json=("access_token",))
    with pytest.raises(UnexpectedResponse) as caught:
        TokenProvider(proxied).get_access_token()
    assert str(caught.value) == NO_ACCESS_TOKEN
    kept = stored(token_path)
    assert digest(kept.refresh_token) != digest(before.refresh_token)  # the rotated one
    assert kept.last_error == NO_ACCESS_TOKEN and not kept.needs_login
    # The kept refresh token is the one that works: the next refresh is no replay.
    assert digest(TokenProvider(proxied).get_access_token()) == digest(
        stored(token_path).access_token
    )
    assert emulator.grants["refresh_token"] == 2 and emulator.replays == 0


def test_an_unusable_answer_leaves_a_token_that_still_works_in_use(
    emulator: ClaudeEmulator, proxy: HostileProxy, proxied: Settings, token_path: Path
) -> None:
    # Inside the refresh margin, not expired: the current token, with a warning.
    before = seed(emulator, token_path, expires_in=30, lifetime=3600)
    proxy.add_rule(TOKEN, drop_json=("access_token",))
    warnings: list[str] = []
    token = TokenProvider(proxied, on_warning=warnings.append).get_access_token()
    assert digest(token) == digest(before.access_token)
    assert warnings == [f"Could not refresh the token; using the current one: {NO_ACCESS_TOKEN}"]
    assert digest(stored(token_path).refresh_token) != digest(before.refresh_token)


def test_an_unusable_answer_never_hands_back_the_token_the_api_refused(
    emulator: ClaudeEmulator, proxy: HostileProxy, proxied: Settings, token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=3600)
    proxy.add_rule(TOKEN, drop_json=("access_token",))
    with pytest.raises(UnexpectedResponse, match="no access_token"):
        TokenProvider(proxied).replace_rejected(before.access_token)
    assert digest(stored(token_path).refresh_token) != digest(before.refresh_token)


def test_an_unusable_answer_without_a_refresh_token_keeps_the_file_as_it_was(
    emulator: ClaudeEmulator, proxy: HostileProxy, proxied: Settings, token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    proxy.add_rule(TOKEN, drop_json=("access_token", "refresh_token"))
    with pytest.raises(UnexpectedResponse, match="no access_token"):
        TokenProvider(proxied).get_access_token()
    kept = stored(token_path)
    assert digest(kept.refresh_token) == digest(before.refresh_token)
    assert kept.last_error is None and token_requests(emulator) == 1


# -- no place for the new tokens: no refresh ----------------------------------------------


def test_no_refresh_where_its_tokens_could_not_be_kept_says_why_and_what_next(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed(emulator, token_path, expires_in=-10)

    full_at_the_space_claim(monkeypatch)
    with pytest.raises(StorageError) as caught:
        TokenProvider(settings).get_access_token()
    assert caught.value.reason == (
        f"Not refreshing the Claude login: Cannot write in {data_dir}: No space left on "
        "device. A refresh spends the login's single-use refresh token, and its successor "
        "could not be kept; the login is kept as it is."
    )
    assert caught.value.hint == (
        f"Free some space on the filesystem of {data_dir}. Then run the command again."
    )
    assert token_requests(emulator) == 0


def test_a_cause_without_advice_of_its_own_still_says_what_to_do_next() -> None:
    # Every storage failure we raise names a fix; one that does not still ends in a step.
    refused = not_refreshing(StorageError("The data directory vanished."))
    assert str(refused) == (
        "Not refreshing the Claude login: The data directory vanished. A refresh spends the "
        "login's single-use refresh token, and its successor could not be kept; the login "
        "is kept as it is. Then run the command again."
    )


# -- a login without a refresh token ------------------------------------------------------

NO_REFRESH = "Your Claude login has ended and must be renewed. It has no refresh token."
HINT = "Run `claude-code-oauth login` (or /claude-code-auth in Code Puppy)."


@pytest.mark.parametrize("how", ["expired", "refused"])
def test_a_login_without_a_refresh_token_is_marked_dead_without_asking(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, how: str
) -> None:
    # Expired, or still valid but just refused by the API: nothing can renew it.
    before = seed(
        emulator, token_path, expires_in=-10 if how == "expired" else 3600, refresh_token=None
    )
    provider = TokenProvider(settings)
    with pytest.raises(LoginRequired) as caught:
        if how == "expired":
            provider.get_access_token()
        else:
            provider.replace_rejected(before.access_token)
    assert caught.value.reason == NO_REFRESH
    assert caught.value.hint == HINT
    after = stored(token_path)
    assert after.needs_login and after.last_error == NO_REFRESH
    assert token_requests(emulator) == 0


def test_a_login_without_a_refresh_token_is_used_while_its_token_works(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path
) -> None:
    before = seed(emulator, token_path, expires_in=30, lifetime=3600, refresh_token=None)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert digest(token) == digest(before.access_token)
    assert warnings == [f"Could not refresh the token; using the current one: {NO_REFRESH} {HINT}"]
    assert stored(token_path).needs_login and token_requests(emulator) == 0


def test_a_login_whose_end_is_now_has_ended(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path
) -> None:
    # The exact boundary: at refresh_token_expires_at the login is over, no ask is made.
    record = seed(emulator, token_path, expires_in=-10)
    now = record.refresh_token_expires_at = record.expires_at + 5
    token_store.save(str(token_path), record)
    with pytest.raises(LoginRequired) as caught:
        TokenProvider(settings, clock=lambda: now).get_access_token()
    ended = "Your Claude login has ended and must be renewed. It expired (logins last ~30 days)."
    assert caught.value.reason == ended
    assert stored(token_path).needs_login and token_requests(emulator) == 0


# -- what no refresh may renew: an account on hold, a wait the server asked for -----------

EMAIL = "emulated.user@example.com"


@pytest.mark.parametrize("how", ["expired", "refused"])
def test_an_account_on_hold_is_marked_dead_with_where_to_look(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, how: str
) -> None:
    before = seed(emulator, token_path, expires_in=-10 if how == "expired" else 3600)
    emulator.hold_account(EMAIL, "https://claude.ai/restricted?ref=TS-2")
    provider = TokenProvider(settings)
    with pytest.raises(AccountOnHold) as caught:
        if how == "expired":
            provider.get_access_token()
        else:
            provider.replace_rejected(before.access_token)
    held = caught.value
    assert held.reason.startswith("Your Claude account is on hold: the token endpoint (")
    assert (held.uri, held.error, held.status) == (
        "https://claude.ai/restricted?ref=TS-2",
        "invalid_grant",
        400,
    )
    assert held.hint == HINT
    after = stored(token_path)
    assert after.needs_login and after.last_error == held.reason
    assert digest(after.refresh_token) == digest(before.refresh_token)
    # Every later caller gets the same line from the file, asking nobody.
    with pytest.raises(LoginRequired) as again:
        TokenProvider(settings).get_access_token()
    assert str(again.value) == str(held)
    assert token_requests(emulator) == 1


@pytest.mark.parametrize("how", ["expired", "refused"])
def test_a_wait_the_server_asked_for_is_kept_to_the_second(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, how: str
) -> None:
    record = seed(emulator, token_path, expires_in=-10 if how == "expired" else 3600)
    now = record.obtained_at + 1000.0
    record.expires_at = now - 10 if how == "expired" else now + 3600
    record.refresh_not_before = now + 30
    token_store.save(str(token_path), record)
    clock = [now]
    provider = TokenProvider(settings, clock=lambda: clock[0])
    with pytest.raises(RateLimited) as caught:
        if how == "expired":
            provider.get_access_token()
        else:
            provider.replace_rejected(record.access_token)
    assert str(caught.value) == "The token endpoint asked to wait; refresh possible in 30 s."
    assert caught.value.retry_after == 30
    assert token_requests(emulator) == 0
    clock[0] = now + 30  # the moment it said: asked again
    if how == "expired":
        TokenProvider(settings, clock=lambda: clock[0]).get_access_token()
    else:
        TokenProvider(settings, clock=lambda: clock[0]).replace_rejected(record.access_token)
    assert emulator.grants["refresh_token"] == 1


@pytest.mark.parametrize("how", ["ended", "no-room", "429", "500"])
def test_the_token_the_api_refused_is_never_handed_back(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    # Still valid by its clock, refused by the API, and no refresh can replace it: the
    # login has ended, the new tokens would have no place on disk, or the token endpoint
    # asked to wait or failed.
    record = seed(emulator, token_path, expires_in=3600)
    asked = 0
    expected: type[Exception]
    if how in ("429", "500"):
        emulator.inject("token", how)
        expected, asked = RateLimited if how == "429" else ServerError, 1
    elif how == "ended":
        record.refresh_token_expires_at = record.obtained_at + 1
        token_store.save(str(token_path), record)
        expected = LoginRequired
    else:
        full_at_the_space_claim(monkeypatch)
        expected = StorageError
    with pytest.raises(expected):
        TokenProvider(settings).replace_rejected(record.access_token)
    assert token_requests(emulator) == asked


@pytest.mark.parametrize(
    ("retry_after", "wait"), [(120, 120.0), (None, 60.0)], ids=["said", "not-said"]
)
def test_a_429_is_recorded_in_the_file_and_the_token_kept_in_use(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    retry_after: int | None,
    wait: float,
) -> None:
    # Inside the margin, still valid: the current token, with why; the wait the server
    # asked for (a minute when it did not say) in the file, for every process.
    record = seed(emulator, token_path, expires_in=200)
    emulator.inject("token", "429", **({} if retry_after is None else {"retry_after": 120}))
    now = record.expires_at - 200
    clock = [now]
    warnings: list[str] = []
    provider = TokenProvider(settings, clock=lambda: clock[0], on_warning=warnings.append)
    assert digest(provider.get_access_token()) == digest(record.access_token)
    after = stored(token_path)
    assert after.refresh_not_before == now + wait
    said = f"The token endpoint ({urlsplit(settings.token_url).netloc}) is rate limiting "
    said += "requests (HTTP 429)." + ("" if retry_after is None else " Retry after 120 s.")
    assert after.last_error == said  # what `status` shows as the last refresh problem
    assert warnings == [f"Could not refresh the token; using the current one: {said}"]
    assert not after.needs_login and token_requests(emulator) == 1
    # Another process asks nobody until then, and asks once it is over.
    clock[0] = now + wait - 1
    TokenProvider(settings, clock=lambda: clock[0], on_warning=warnings.append).get_access_token()
    assert token_requests(emulator) == 1
    clock[0] = now + wait
    TokenProvider(settings, clock=lambda: clock[0]).get_access_token()
    assert emulator.grants["refresh_token"] == 1


def test_a_refreshed_login_is_timed_by_the_providers_clock(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path
) -> None:
    # The clock the provider was given, not the wall clock, dates the new tokens.
    record = seed(emulator, token_path, expires_in=-10)
    now = float(int(record.expires_at) + 5000)  # whole seconds: stored as they are
    TokenProvider(settings, clock=lambda: now).get_access_token()
    fresh = stored(token_path)
    assert fresh.obtained_at == now
    assert fresh.expires_at == now + (record.expires_at - record.obtained_at)


def _expired_keyring_sign_in(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[memory_secret_service.MemorySecretService, Settings, StoreOpener]:
    """An expired sign-in whose secrets are in the in-memory Secret Service, reachable
    only through the returned settings' environment (not the process's)."""
    keyring = memory_secret_service.install(monkeypatch)
    settings = Settings(environ={**settings.environ, **memory_secret_service.ENV})
    record = seed(emulator, token_path, expires_in=-10)
    stores = StoreOpener(timeout=30.0, environ=memory_secret_service.ENV)
    target = KeyringTarget("secret-service", settings.profile)
    token_store.save(str(token_path), record, secrets=target, stores=stores)
    return keyring, settings, stores


def test_a_refresh_of_a_sign_in_in_the_keyring_saves_there_through_its_settings(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Secret Service is reachable only through the profile's environment (not the
    # process's): the rotated tokens go into its item, and the token file holds neither.
    keyring, settings, stores = _expired_keyring_sign_in(
        emulator, settings, token_path, monkeypatch
    )
    before = dict(keyring.items)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert warnings == [] and emulator.grants["refresh_token"] == 1
    assert keyring.items.keys() == before.keys() and keyring.items != before
    after = token_store.load(str(token_path), stores=stores)
    assert after is not None and digest(after.access_token) == digest(token)
    text = token_path.read_bytes()
    assert token.encode() not in text and after.refresh_token.encode() not in text


def test_tokens_a_keyring_gone_quiet_could_not_take_go_into_it_at_the_next_refresh(
    emulator: ClaudeEmulator, settings: Settings, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The keyring stops answering between the refresh and its save: the new tokens (their
    # predecessor spent) are kept beside the file, in use, with a warning. Once it answers,
    # the next refresh puts them into the item, through the profile's settings, and asks
    # the server nothing.
    keyring, settings, stores = _expired_keyring_sign_in(
        emulator, settings, token_path, monkeypatch
    )
    real_refresh = endpoint.refresh

    def then_quiet(*args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = real_refresh(*args, **kwargs)
        keyring.failure = SecretStoreLocked("The memory keyring is locked.", hint="Unlock it.")
        return answer

    monkeypatch.setattr(endpoint, "refresh", then_quiet)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert len(warnings) == 1 and "memory keyring is locked" in warnings[0]
    assert emulator.grants["refresh_token"] == 1
    monkeypatch.setattr(endpoint, "refresh", real_refresh)
    keyring.failure = None
    again = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert digest(again) == digest(token) and len(warnings) == 1
    after = token_store.load(str(token_path), stores=stores)
    assert after is not None and digest(after.access_token) == digest(token)
    assert [p.name for p in token_path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0


def test_a_refresh_that_worked_ends_the_pause_a_failure_began(
    emulator: ClaudeEmulator, client_env: dict[str, str], token_path: Path
) -> None:
    # With a margin longer than any token's life, every call wants a refresh. A 500
    # pauses refreshing (the token still works); a refresh a 401 forced then works, and
    # that ends the pause: the next call refreshes at once, not a pause later.
    record = seed(emulator, token_path, expires_in=3600)
    settings = settings_for(client_env, refresh_margin=100_000)
    emulator.inject("token", "500")
    now = record.obtained_at + 10
    provider = TokenProvider(settings, clock=lambda: now, on_warning=lambda _: None)
    assert digest(provider.get_access_token()) == digest(record.access_token)
    provider.get_access_token()  # paused: nobody is asked
    assert token_requests(emulator) == 1
    provider.replace_rejected(record.access_token)
    assert emulator.grants["refresh_token"] == 1
    provider.get_access_token()
    assert emulator.grants["refresh_token"] == 2
