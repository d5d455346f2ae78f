"""LoginFlow in process against the emulator, over real HTTP: URLs, callbacks, pastes, saving."""

from __future__ import annotations

import html
import json
import os
import random
import re
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from claude_code_oauth import USER_AGENT
from claude_code_oauth.config import Settings
from claude_code_oauth.errors import (
    AuthorizationDenied,
    CallbackTimeout,
    ClaudeOAuthError,
    ConfigError,
    LockTimeout,
    LoginCancelled,
    ScopeNotGranted,
    SecretStoreUnavailable,
    ServerError,
    TokenFileError,
)
from claude_code_oauth.login.flow import LoginFlow
from claude_code_oauth.storage import secure_file
from claude_code_oauth.testing.emulator.control import ClaudeEmulator, RecordedRequest
from claude_code_oauth.testing.emulator.records import s256
from claude_code_oauth.tokens.provider import TokenProvider
from helpers.ports import released
from helpers.tokens import assert_same_secret, files_containing, start_worker, wait_for_line

AUTHORIZE_KEYS = {
    "code",
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "state",
}
EXCHANGE_KEYS = {"grant_type", "code", "redirect_uri", "client_id", "code_verifier", "state"}
B64URL_43 = re.compile(r"[A-Za-z0-9_-]{43}")


# -- helpers ----------------------------------------------------------------------------


def make_settings(emulator: ClaudeEmulator, data_dir: Path, **env: str) -> Settings:
    low = random.randint(20000, 60000)
    environ = {
        "HOME": str(data_dir.parent / "home"),
        **emulator.env(),
        "CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir),
        "CLAUDE_CODE_OAUTH_CALLBACK_PORT_RANGE": f"{low}-{low + 20}",
        **env,
    }
    return Settings(environ=environ)


@pytest.fixture
def flow_settings(emulator: ClaudeEmulator, data_dir: Path) -> Settings:
    return make_settings(emulator, data_dir)


def http() -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10)


def approve(url: str, decision: str = "approve") -> str:
    """Click Approve (or Deny) on the emulator's consent page; the redirect target."""
    with http() as client:
        page = client.get(url)
        assert page.status_code == 200
        request_id = re.search(r'name="request_id" value="([^"]+)"', page.text)
        assert request_id, "no consent form"
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
        answer = client.post(
            origin + "/oauth/authorize/decision",
            data={"request_id": html.unescape(request_id.group(1)), "decision": decision},
        )
    assert answer.status_code == 302
    return answer.headers["location"]


def manual_paste(manual_url: str) -> str:
    """What the manual page shows after approving: CODE#STATE."""
    target = approve(manual_url)
    with http() as client:
        page = client.get(target)
    assert page.status_code == 200
    shown = re.search(r'<code id="code">([^<]+)</code>', page.text)
    assert shown, "the manual page shows no code"
    return html.unescape(shown.group(1))


def deliver(url: str) -> tuple[threading.Thread, list[httpx.Response]]:
    """Visit the callback in a thread (the receiver holds the tab until the outcome)."""
    answers: list[httpx.Response] = []

    def run() -> None:
        try:
            with http() as client:
                answers.append(client.get(url))
        except httpx.HTTPError:
            pass

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answers


def token_requests(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/v1/oauth/token"]


def authorize_requests(emulator: ClaudeEmulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.path == "/oauth/authorize"]


@pytest.fixture
def flow(flow_settings: Settings) -> Iterator[LoginFlow]:
    with LoginFlow(flow_settings, timeout=20) as login:
        yield login


def browser_login(flow: LoginFlow) -> tuple[Any, httpx.Response]:
    urls = flow.start()
    thread, answers = deliver(approve(urls.browser))
    result = flow.wait()
    thread.join(10)
    return result, answers[0]


# -- the authorize request and the exchange ------------------------------------------------


def test_browser_login_sends_the_exact_authorize_query_and_exchange(
    flow: LoginFlow, emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    result, page = browser_login(flow)
    assert result.via == "browser"
    assert 0 <= result.callback_to_saved < 2  # event-driven: no polling interval
    assert page.status_code == 200 and b"Signed in as emulated.user@example.com" in page.content
    query = parse_qs(urlsplit(flow.urls.browser).query, keep_blank_values=True)
    assert set(query) == AUTHORIZE_KEYS and all(len(v) == 1 for v in query.values())
    sent = {k: v[0] for k, v in query.items()}
    assert sent["code"] == "true" and sent["response_type"] == "code"
    assert sent["client_id"] == flow_settings.client_id
    assert sent["scope"] == "org:create_api_key user:profile user:inference"
    assert sent["code_challenge_method"] == "S256"
    assert B64URL_43.fullmatch(sent["state"]) and B64URL_43.fullmatch(sent["code_challenge"])
    assert sent["redirect_uri"] == f"http://localhost:{flow.urls.port}/callback"
    assert authorize_requests(emulator)[0].query == sent  # what the server received
    (exchange,) = token_requests(emulator)
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.headers["user-agent"] == USER_AGENT == "claude-code-oauth/0.1.0"
    body = exchange.json
    assert set(body) == EXCHANGE_KEYS
    assert body["grant_type"] == "authorization_code"
    assert body["redirect_uri"] == sent["redirect_uri"]
    assert body["client_id"] == sent["client_id"] and body["state"] == sent["state"]
    proves = s256(body["code_verifier"]) == sent["code_challenge"]
    assert proves, "the code_verifier does not match the code_challenge"
    assert emulator.grants["authorization_code"] == 1
    manual = parse_qs(urlsplit(flow.urls.manual).query)
    assert manual["redirect_uri"] == [emulator.manual_redirect_uri]
    assert manual["state"] == query["state"]


def test_each_flow_uses_a_fresh_verifier_and_state(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    for _ in range(2):
        with LoginFlow(flow_settings, timeout=20) as login:
            browser_login(login)
    first, second = authorize_requests(emulator)
    assert first.query["state"] != second.query["state"]
    assert first.query["code_challenge"] != second.query["code_challenge"]
    distinct = len({r.json["code_verifier"] for r in token_requests(emulator)})
    assert distinct == 2, "a code_verifier was reused"
    assert emulator.grants["authorization_code"] == 2


# -- pastes ---------------------------------------------------------------------------------


def test_paste_of_code_hash_state_uses_the_manual_redirect(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    flow.submit_paste("  " + manual_paste(urls.manual) + "\n")
    result = flow.wait()
    assert result.via == "paste (manual)"
    (exchange,) = token_requests(emulator)
    assert exchange.json["redirect_uri"] == emulator.manual_redirect_uri
    assert os.path.exists(result.token_path)


def test_paste_of_the_callback_url_uses_the_loopback_redirect(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    flow.submit_paste(approve(urls.browser).replace("localhost", "127.0.0.1"))
    result = flow.wait()
    assert result.via == "paste (loopback)"
    (exchange,) = token_requests(emulator)
    assert exchange.json["redirect_uri"] == urls.redirect_uri
    assert emulator.grants["authorization_code"] == 1


def test_wrong_and_garbage_pastes_are_notices_and_the_flow_keeps_waiting(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    good = manual_paste(urls.manual)
    code = good.partition("#")[0]
    notices: list[str] = []
    flow.submit_paste(code + "#" + "x" * 43)
    flow.submit_paste("hello world")
    flow.submit_paste("http://localhost:1/callback?code=a&state=b")
    flow.submit_paste(good)
    result = flow.wait(notices.append)
    assert result.via == "paste (manual)"
    assert len(notices) == 3
    assert "different login attempt" in notices[0]
    assert "neither CODE#STATE nor a callback URL" in notices[1]
    assert "not this login's callback address" in notices[2]
    assert all(code not in n for n in notices)
    assert len(token_requests(emulator)) == 1


def test_paste_first_wins_and_the_late_callback_is_told(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    callback = approve(urls.browser)
    flow.submit_paste(manual_paste(urls.manual))
    result = flow.wait()
    thread, answers = deliver(callback)  # the receiver is still open until close()
    thread.join(10)
    assert result.via == "paste (manual)"
    assert answers[0].status_code == 200 and b"already handled" in answers[0].content
    assert emulator.grants["authorization_code"] == 1
    assert len(token_requests(emulator)) == 1


def test_callback_first_wins_and_the_late_paste_is_not_exchanged(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    paste = manual_paste(urls.manual)
    thread, answers = deliver(approve(urls.browser))
    deadline = time.monotonic() + 20
    while not flow._decided:  # the receiver has taken the callback: it is queued first
        assert time.monotonic() < deadline, "the callback never arrived"
        time.sleep(0.005)
    flow.submit_paste(paste)
    result = flow.wait()
    thread.join(10)
    assert result.via == "browser"
    assert answers[0].status_code == 200
    assert emulator.grants["authorization_code"] == 1
    assert len(token_requests(emulator)) == 1


def _paste_on_cue(go: threading.Barrier, login: LoginFlow, paste: str) -> None:
    go.wait()
    login.submit_paste(paste)


def test_callback_and_paste_racing_give_exactly_one_exchange(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    winners = []
    for attempt in range(6):
        with LoginFlow(flow_settings, timeout=20) as login:
            urls = login.start()
            paste, callback = manual_paste(urls.manual), approve(urls.browser)
            go = threading.Barrier(2)
            threading.Thread(target=_paste_on_cue, args=(go, login, paste)).start()
            go.wait()
            thread, answers = deliver(callback)
            notices: list[str] = []
            result = login.wait(notices.append)
            thread.join(10)
            winners.append(result.via)
            assert len(token_requests(emulator)) == attempt + 1
            if result.via == "browser":
                assert answers[0].status_code == 200 and b"Signed in" in answers[0].content
            else:
                assert b"already handled" in answers[0].content
    assert emulator.grants["authorization_code"] == 6


# -- denial, timeout, cancel ------------------------------------------------------------------


def test_denied_consent_ends_the_flow_with_authorization_denied(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    thread, answers = deliver(approve(urls.browser, "deny"))
    with pytest.raises(AuthorizationDenied) as info:
        flow.wait()
    thread.join(10)
    assert info.value.error == "access_denied"
    assert "access_denied" in str(info.value) and "The user denied the request" in str(info.value)
    assert answers[0].status_code == 400 and b"access_denied" in answers[0].content
    assert token_requests(emulator) == []
    flow.close()
    assert released(urls.port)


def test_an_error_description_is_escaped_in_the_page(flow: LoginFlow) -> None:
    urls = flow.start()
    state = parse_qs(urlsplit(urls.browser).query)["state"][0]
    query = urlencode(
        {"error": "access_denied", "error_description": "<script>alert(1)</script>", "state": state}
    )
    thread, answers = deliver(f"{urls.redirect_uri}?{query}")
    with pytest.raises(AuthorizationDenied) as info:
        flow.wait()
    thread.join(10)
    assert info.value.description == "<script>alert(1)</script>"
    page = answers[0].content
    assert b"<script>" not in page and b"&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert b"You may close this tab" in page and state.encode() not in page


def test_timeout_raises_callback_timeout_and_releases_the_port(flow_settings: Settings) -> None:
    with LoginFlow(flow_settings, timeout=0.5) as login:
        urls = login.start()
        started = time.monotonic()
        with pytest.raises(CallbackTimeout) as info:
            login.wait()
        assert 0.45 <= time.monotonic() - started < 3
    assert "No sign-in response arrived within 0.5 s" in str(info.value)
    assert released(urls.port)


def test_callback_timeout_setting_is_the_default_wait(
    emulator: ClaudeEmulator, data_dir: Path
) -> None:
    settings = make_settings(emulator, data_dir, CLAUDE_CODE_OAUTH_CALLBACK_TIMEOUT="0.3")
    with LoginFlow(settings) as login:
        login.start()
        with pytest.raises(CallbackTimeout, match=r"within 0\.3 s"):
            login.wait()


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), 1e12])
def test_an_unusable_timeout_is_a_config_error(flow_settings: Settings, timeout: float) -> None:
    with pytest.raises(ConfigError) as info:
        LoginFlow(flow_settings, timeout=timeout)
    assert "login timeout" in str(info.value) and info.value.exit_code == 2


def test_cancel_raises_login_cancelled_and_releases_the_port(flow: LoginFlow) -> None:
    urls = flow.start()
    threading.Timer(0.2, flow.cancel).start()
    with pytest.raises(LoginCancelled) as info:
        flow.wait()
    assert info.value.exit_code == 130
    flow.close()
    assert released(urls.port)


def test_port_released_after_success_and_after_an_exchange_error(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    with LoginFlow(flow_settings, timeout=20) as login:
        browser_login(login)
    assert released(login.urls.port)
    emulator.inject("token", "500")
    with LoginFlow(flow_settings, timeout=20) as login, pytest.raises(ServerError):
        browser_login(login)
    assert released(login.urls.port)


# -- saving ---------------------------------------------------------------------------------


def test_saved_file_is_private_from_the_first_byte_and_complete(
    emulator: ClaudeEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    settings = make_settings(emulator, data_dir)
    created: list[tuple[str, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        fd = real_open(path, flags, mode, *args, **kwargs)
        if flags & os.O_CREAT and str(path).startswith(str(data_dir)):
            created.append((os.path.basename(str(path)), stat.S_IMODE(os.fstat(fd).st_mode)))
        return fd

    monkeypatch.setattr(secure_file.os, "open", spy)
    old_umask = os.umask(0)
    try:
        before = time.time()
        with LoginFlow(settings, timeout=20) as login:
            result, _ = browser_login(login)
        after = time.time()
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(data_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(result.token_path).st_mode) == 0o600
    temp_files = [name for name, _ in created if name.endswith(".tmp")]
    assert temp_files and all(mode == 0o600 for _, mode in created), created
    assert sorted(os.listdir(data_dir)) == ["claude_code_oauth.json", "claude_code_oauth.json.lock"]
    saved = json.loads(Path(result.token_path).read_text())
    (exchange,) = token_requests(emulator)
    assert exchange.json["grant_type"] == "authorization_code"
    assert before + 8 * 3600 - 1 <= saved["expires_at"] <= after + 8 * 3600 + 1
    assert saved["account"]["email_address"] == "emulated.user@example.com"
    assert saved["organization"]["name"] == "Emulated Organization"
    assert saved["scope"] == "org:create_api_key user:profile user:inference"
    shaped = saved["access_token"].startswith("sk-ant-oat01-") and saved[
        "refresh_token"
    ].startswith("sk-ant-ort01-")
    assert shaped, "the saved tokens are not the issued ones"


@pytest.mark.parametrize("dangling", [False, True])
def test_a_symlink_at_the_token_path_is_refused_before_the_browser_step(
    emulator: ClaudeEmulator, data_dir: Path, tmp_path: Path, dangling: bool
) -> None:
    target = tmp_path / "elsewhere.json"
    os.symlink(target, data_dir / "claude_code_oauth.json")
    if not dangling:
        target.write_text("precious")
    settings = make_settings(emulator, data_dir)
    with LoginFlow(settings, timeout=5) as login, pytest.raises(TokenFileError) as info:
        login.start()
    assert "symbolic link" in str(info.value)
    assert login.listening_addresses == []
    assert (not target.exists()) if dangling else target.read_text() == "precious"
    assert emulator.requests == []


def _deny(login: LoginFlow, emulator: ClaudeEmulator) -> type[ClaudeOAuthError]:
    deliver(approve(login.start().browser, "deny"))
    return AuthorizationDenied


def _time_out(login: LoginFlow, emulator: ClaudeEmulator) -> type[ClaudeOAuthError]:
    login.timeout = 0.3
    login.start()
    return CallbackTimeout


def _bad_exchange(login: LoginFlow, emulator: ClaudeEmulator) -> type[ClaudeOAuthError]:
    emulator.inject("token", "502_html")
    login.submit_paste(manual_paste(login.start().manual))
    return ServerError


def _cancel(login: LoginFlow, emulator: ClaudeEmulator) -> type[ClaudeOAuthError]:
    login.start()
    login.cancel()
    return LoginCancelled


@pytest.mark.parametrize("fail", [_deny, _time_out, _bad_exchange, _cancel])
def test_a_failed_login_leaves_the_existing_token_file_untouched(
    emulator: ClaudeEmulator, flow_settings: Settings, fail: Any
) -> None:
    path = Path(flow_settings.token_path)
    original = b'{"access_token": "old", "note": "byte for byte"}\n'
    path.write_bytes(original)
    os.chmod(path, 0o600)
    os.utime(path, (1_600_000_000, 1_600_000_000))
    before = os.stat(path)
    with LoginFlow(flow_settings, timeout=20) as login:
        expected = fail(login, emulator)
        with pytest.raises(expected):
            login.wait()
    after = os.stat(path)
    assert path.read_bytes() == original
    assert (after.st_mtime_ns, after.st_ino, after.st_mode) == (
        before.st_mtime_ns,
        before.st_ino,
        before.st_mode,
    )
    assert not [n for n in os.listdir(path.parent) if n.endswith(".tmp")]


# -- the browser's start address ------------------------------------------------------------


def test_the_browser_is_given_a_start_address_that_redirects_to_the_authorize_url(
    flow: LoginFlow, emulator: ClaudeEmulator
) -> None:
    urls = flow.start()
    start = urlsplit(urls.start)
    assert (start.scheme, start.hostname, start.port) == ("http", "localhost", urls.port)
    assert start.path.startswith("/start/") and not start.query
    state = parse_qs(urlsplit(urls.browser).query)["state"][0]
    challenge = parse_qs(urlsplit(urls.browser).query)["code_challenge"][0]
    assert state not in urls.start and challenge not in urls.start
    with http() as client:
        hop = client.get(urls.start)
    assert hop.status_code == 302 and hop.headers["location"] == urls.browser
    thread, answers = deliver(approve(hop.headers["location"]))
    result = flow.wait()
    thread.join(10)
    assert result.via == "browser" and b"Signed in" in answers[0].content


# -- fail before the browser ------------------------------------------------------------------


def _refused_at_start(settings: Settings, emulator: ClaudeEmulator) -> ClaudeOAuthError:
    with LoginFlow(settings, timeout=5) as login:
        with pytest.raises(ClaudeOAuthError) as info:
            login.start()
        assert login.listening_addresses == []  # no port opened, so no browser either
    assert emulator.requests == []
    return info.value


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o777])
def test_a_data_dir_others_can_write_to_is_refused_at_start(
    emulator: ClaudeEmulator, data_dir: Path, mode: int
) -> None:
    data_dir.chmod(mode)
    error = _refused_at_start(make_settings(emulator, data_dir), emulator)
    assert isinstance(error, TokenFileError) and "writable by other users" in str(error)


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_token_path_that_is_not_a_regular_file_is_refused_at_start(
    emulator: ClaudeEmulator, data_dir: Path, kind: str
) -> None:
    path = data_dir / "claude_code_oauth.json"
    if kind == "directory":
        path.mkdir()
    else:
        os.mkfifo(path)
    error = _refused_at_start(make_settings(emulator, data_dir), emulator)
    assert "not a regular file" in str(error)
    assert path.exists() and not path.is_file()  # left where it was


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("CLAUDE_CODE_OAUTH_TOKEN_URL", "http://token.example/v1/oauth/token", "token_url"),
        ("CLAUDE_CODE_OAUTH_TOKEN_URL", "ftp://localhost/token", "token_url"),
        ("CLAUDE_CODE_OAUTH_API_BASE_URL", "http://api.example", "api_base_url"),
        ("CLAUDE_CODE_OAUTH_HTTP_TIMEOUT", "soon", "http_timeout"),
        ("CLAUDE_CODE_OAUTH_LOCK_TIMEOUT", "-1", "lock_timeout"),
        ("CLAUDE_CODE_OAUTH_CLIENT_ID", " ", "client_id"),
    ],
)
def test_an_invalid_setting_used_after_the_callback_is_refused_at_start(
    emulator: ClaudeEmulator, data_dir: Path, variable: str, value: str, words: str
) -> None:
    settings = make_settings(emulator, data_dir, **{variable: value})
    error = _refused_at_start(settings, emulator)
    assert isinstance(error, ConfigError) and words in str(error)
    assert not (data_dir / "claude_code_oauth.json").exists()


# -- saving under the lock, and what the page says -------------------------------------------------


@pytest.fixture
def lock_holder(data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the token lock until killed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_CODE_OAUTH_")}
    env["CLAUDE_CODE_OAUTH_DATA_DIR"] = str(data_dir)
    holder = start_worker(env, "hold-lock")
    wait_for_line(holder, "locked")
    yield holder
    holder.kill()
    holder.communicate()


@pytest.mark.subprocess
def test_the_login_saves_under_the_token_lock_and_the_page_waits_for_the_save(
    emulator: ClaudeEmulator, flow_settings: Settings, lock_holder: subprocess.Popen[str]
) -> None:
    path = Path(flow_settings.token_path)
    with LoginFlow(flow_settings, timeout=30) as login:
        urls = login.start()  # a lock held by someone else is no reason to refuse
        page_thread, answers = deliver(approve(urls.browser))
        results: list[Any] = []
        waiter = threading.Thread(target=lambda: results.append(login.wait()))
        waiter.start()
        deadline = time.monotonic() + 20
        while emulator.grants["authorization_code"] < 1:
            assert time.monotonic() < deadline, "the code was never exchanged"
            time.sleep(0.01)
        # Exchanged, but the lock is held: nothing saved, and the tab still waits.
        assert not path.exists()
        assert page_thread.is_alive() and answers == []
        lock_holder.kill()
        lock_holder.communicate()
        waiter.join(20)
        page_thread.join(20)
    assert results and results[0].via == "browser" and path.exists()
    assert answers[0].status_code == 200 and b"Signed in" in answers[0].content


@pytest.mark.subprocess
def test_when_saving_fails_the_page_says_so(
    emulator: ClaudeEmulator, data_dir: Path, lock_holder: subprocess.Popen[str]
) -> None:
    settings = make_settings(emulator, data_dir, CLAUDE_CODE_OAUTH_LOCK_TIMEOUT="0.5")
    with LoginFlow(settings, timeout=30) as login:
        urls = login.start()
        page_thread, answers = deliver(approve(urls.browser))
        with pytest.raises(LockTimeout) as info:
            login.wait()
        page_thread.join(20)
    assert "lock" in str(info.value)
    page = answers[0]
    assert page.status_code == 400 and b"Sign-in failed" in page.content
    assert b"Signed in" not in page.content and b"lock" in page.content
    assert not (data_dir / "claude_code_oauth.json").exists()


# -- the granted scope -----------------------------------------------------------------------


def test_a_grant_without_user_inference_is_refused_and_nothing_is_saved(
    emulator: ClaudeEmulator, flow_settings: Settings
) -> None:
    """Claude grants a Console (API-billed) account no user:inference: such a sign-in
    would fail at every request, so it is not saved, and the line says what works."""
    emulator.withhold_scopes("emulated.user@example.com", "user:inference")
    path = Path(flow_settings.token_path)
    with LoginFlow(flow_settings, timeout=20) as flow:
        urls = flow.start()
        thread, answers = deliver(approve(urls.browser))
        with pytest.raises(ScopeNotGranted) as caught:
            flow.wait()
        thread.join(10)
    line = str(caught.value)
    assert "without user:inference" in line and "granted: org:create_api_key user:profile" in line
    assert "Nothing was saved" in line and "claude-code-oauth login --console" in line
    assert not path.exists()
    assert emulator.grants["authorization_code"] == 1
    assert "without user:inference" in html.unescape(answers[0].text)  # the tab says so too


def test_an_answer_without_scope_was_granted_what_was_asked(
    emulator: ClaudeEmulator, flow_settings: Settings, proxy: Any
) -> None:
    """RFC 6749 §5.1: a token answer may leave ``scope`` out when it is what was asked."""
    settings = make_settings(emulator, Path(flow_settings.token_path).parent, **proxy.env({}))
    proxy.add_rule("/v1/oauth/token", drop_json=("scope",))
    with LoginFlow(settings, timeout=20) as flow:
        result, _ = browser_login(flow)
    assert result.record.scope == settings.scope == "org:create_api_key user:profile user:inference"


# -- storage = keyring ------------------------------------------------------------------------


def test_a_login_with_storage_keyring_keeps_no_token_in_any_file(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    secret_service: Any,
) -> None:
    settings = make_settings(
        emulator,
        data_dir,
        CLAUDE_CODE_OAUTH_STORAGE="keyring",
        CLAUDE_CODE_OAUTH_PROFILE=profile,
        DBUS_SESSION_BUS_ADDRESS=keyring_env["DBUS_SESSION_BUS_ADDRESS"],
    )
    with LoginFlow(settings, timeout=20) as login:
        result, _ = browser_login(login)
    record = result.record
    for secret in (record.access_token, record.refresh_token):
        assert files_containing([data_dir], secret, skip=set()) == [], "a token is in a file"
    stored = json.loads(Path(settings.token_path).read_text())
    assert stored["secrets"] == {"store": "secret-service", "item": profile, "generation": 1}
    assert secret_service.get(profile) is not None
    token = TokenProvider(settings).get_access_token()
    assert_same_secret(token, record.access_token, "the access token")


def test_a_keyring_that_cannot_answer_is_one_line_before_the_browser_opens(
    emulator: ClaudeEmulator, data_dir: Path, tmp_path: Path
) -> None:
    """No session bus: ``storage = keyring`` refuses before any code is asked for, and
    nothing is written (the recovery path for a keyring failing after the exchange is
    tests/tokens/test_provider_keyring.py's)."""
    settings = make_settings(
        emulator,
        data_dir,
        CLAUDE_CODE_OAUTH_STORAGE="keyring",
        DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp_path / 'no-bus'}",
        XDG_RUNTIME_DIR=str(tmp_path / "no-runtime"),
    )
    with LoginFlow(settings, timeout=20) as login, pytest.raises(SecretStoreUnavailable) as info:
        login.start()
    assert "\n" not in str(info.value) and "session bus" in str(info.value)
    assert emulator.requests == []
    assert not Path(settings.token_path).exists()
    assert [p.name for p in data_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_a_login_with_storage_auto_uses_the_keyring_that_answers_and_says_so_once(
    emulator: ClaudeEmulator,
    data_dir: Path,
    keyring_env: dict[str, str],
    profile: str,
    secret_service: Any,
) -> None:
    settings = make_settings(
        emulator,
        data_dir,
        CLAUDE_CODE_OAUTH_STORAGE="auto",
        CLAUDE_CODE_OAUTH_PROFILE=profile,
        DBUS_SESSION_BUS_ADDRESS=keyring_env["DBUS_SESSION_BUS_ADDRESS"],
    )
    with LoginFlow(settings, timeout=20) as login:
        first, _ = browser_login(login)
    assert first.keyring == "OS keyring (Secret Service)"
    assert (
        first.storage_notice and "kept in the OS keyring (Secret Service)" in first.storage_notice
    )
    stored = json.loads(Path(settings.token_path).read_text())
    assert stored["secrets"]["store"] == "secret-service" and "refresh_token" not in stored
    assert secret_service.get(profile) is not None
    with LoginFlow(settings, timeout=20) as login:
        again, _ = browser_login(login)
    assert again.keyring == "OS keyring (Secret Service)" and again.storage_notice is None
