"""The token file: the record format, private atomic saves, damage and symlinks, the lock."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import LockTimeout, TokenFileError
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.record import DEFAULT_LOGIN_LIFETIME
from claude_code_oauth.tokens.store import TokenRecord

BODY = {
    "token_type": "Bearer",
    "access_token": "access-value-for-store-tests",
    "refresh_token": "refresh-value-for-store-tests",
    "expires_in": 28800,
    "scope": "user:profile user:inference",
    "refresh_token_expires_in": 2592000,
    "account": {"uuid": "a-1", "email_address": "someone@example.com"},
    "organization": {"uuid": "o-1", "name": "Org"},
}


@pytest.fixture
def path(data_dir: Path) -> Path:
    return data_dir / "claude_code_oauth.json"


def _record(**changes: object) -> TokenRecord:
    record = TokenRecord.from_token_response(dict(BODY), now=1_000_000.0)
    for key, value in changes.items():
        setattr(record, key, value)
    return record


# -- the record ---------------------------------------------------------------------


def test_from_token_response_fields() -> None:
    record = TokenRecord.from_token_response(dict(BODY), now=1000.0)
    assert record.access_token == BODY["access_token"]
    assert record.refresh_token == BODY["refresh_token"]
    assert record.expires_at == 1000.0 + 28800 and record.obtained_at == 1000.0
    assert record.refresh_token_expires_at == 1000.0 + 2592000
    assert record.scope == "user:profile user:inference"
    assert record.account == BODY["account"] and record.organization == BODY["organization"]
    assert not record.needs_login and record.refresh_not_before is None


def test_refresh_answer_keeps_what_the_server_omits() -> None:
    previous = _record()
    body = {"access_token": "another-access-value", "expires_in": 100}
    record = TokenRecord.from_token_response(body, now=2_000_000.0, previous=previous)
    assert record.refresh_token == previous.refresh_token
    assert record.refresh_token_expires_at == previous.refresh_token_expires_at
    assert record.account == previous.account and record.organization == previous.organization
    assert record.scope == previous.scope
    # The login deadline is not extended by a refresh unless the server says so.
    assert record.refresh_token_expires_at == 1_000_000.0 + 2592000


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"access_token": ""},
        {"access_token": "x", "token_type": "mac"},
        {"access_token": "x", "refresh_token": 5},
        {"access_token": "x", "expires_in": 0},
        {"access_token": "x", "expires_in": -5},
    ],
)
def test_unusable_token_response(body: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TokenRecord.from_token_response(body, now=1.0)


def test_a_sign_in_without_a_login_lifetime_lasts_30_days() -> None:
    body = {k: v for k, v in BODY.items() if k != "refresh_token_expires_in"}
    record = TokenRecord.from_token_response(body, now=1000.0)
    assert record.refresh_token_expires_at == 1000.0 + 30 * 86400 == 1000.0 + DEFAULT_LOGIN_LIFETIME


@pytest.mark.parametrize(("stored_left", "answered_left"), [(500, 900), (900, 500)])
def test_a_refresh_keeps_the_earlier_login_end(stored_left: int, answered_left: int) -> None:
    previous = TokenRecord.from_token_response(
        {**BODY, "refresh_token_expires_in": stored_left}, now=0.0
    )
    body = {"access_token": "another-access-value", "refresh_token_expires_in": answered_left}
    record = TokenRecord.from_token_response(body, now=100.0, previous=previous)
    assert record.refresh_token_expires_at == min(stored_left, 100.0 + answered_left)


def test_a_refresh_learns_a_login_end_it_did_not_know() -> None:
    previous = _record(refresh_token_expires_at=None)
    body = {"access_token": "another-access-value", "refresh_token_expires_in": 600}
    record = TokenRecord.from_token_response(body, now=100.0, previous=previous)
    assert record.refresh_token_expires_at == 700.0


def test_a_sign_in_answer_without_scope_was_granted_what_was_asked() -> None:
    body = {k: v for k, v in BODY.items() if k != "scope"}
    asked = "org:create_api_key user:profile user:inference"
    record = TokenRecord.from_token_response(body, now=1.0, requested_scope=asked)
    assert record.scope == asked
    answered = TokenRecord.from_token_response(dict(BODY), now=1.0, requested_scope=asked)
    assert answered.scope == "user:profile user:inference"


def test_missing_expires_in_assumes_an_hour() -> None:
    record = TokenRecord.from_token_response({"access_token": "x"}, now=10.0)
    assert record.expires_at == 3610.0


def test_json_round_trip_keeps_unknown_fields() -> None:
    record = _record(needs_login=True, refresh_not_before=123.0, last_error="why")
    data = record.to_json()
    data["future_field"] = {"kept": True}
    again = TokenRecord.from_json(json.loads(json.dumps(data)))
    assert again.to_json() == data
    assert data["version"] == token_store.FORMAT_VERSION


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"access_token": "x"},
        {"access_token": "", "expires_at": 1, "obtained_at": 1},
        {"access_token": "x", "expires_at": "soon", "obtained_at": 1},
        {"access_token": "x", "expires_at": True, "obtained_at": 1},
        {"access_token": "x", "refresh_token": 3, "expires_at": 1, "obtained_at": 1},
    ],
)
def test_from_json_rejects_damage(data: object) -> None:
    with pytest.raises(ValueError):
        TokenRecord.from_json(data)


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (28800, True),
        (28800.9, True),
        (1, True),
        (token_store.MAX_LIFETIME, True),
        (token_store.MAX_LIFETIME + 1, False),
        (0, False),
        (-1, False),
        (10**400, False),
        (1e308, False),
        (float("inf"), False),
        (float("nan"), False),
        (True, False),
        ("3600", False),
        ([3600], False),
    ],
)
def test_expires_in_must_be_a_sane_number_of_seconds(value: object, ok: bool) -> None:
    body = {"access_token": "x", "expires_in": value}
    if ok:
        record = TokenRecord.from_token_response(body, now=100.0)
        assert record.expires_at == 100.0 + int(value)
    else:
        with pytest.raises(ValueError, match="expires_in") as caught:
            TokenRecord.from_token_response(body, now=100.0)
        assert len(str(caught.value)) < 120  # never 400 digits in a message


@pytest.mark.parametrize("value", [10**400, 1e308, float("inf"), float("nan"), -1, "x", True])
def test_an_unusable_login_lifetime_is_ignored(value: object) -> None:
    previous = _record()
    body = {"access_token": "x", "refresh_token_expires_in": value}
    fresh = TokenRecord.from_token_response(body, now=2_000_000.0)
    # As if it had not been sent: a sign-in then lasts 30 days, as Claude Code assumes.
    assert fresh.refresh_token_expires_at == 2_000_000.0 + DEFAULT_LOGIN_LIFETIME
    refreshed = TokenRecord.from_token_response(body, now=2_000_000.0, previous=previous)
    assert refreshed.refresh_token_expires_at == previous.refresh_token_expires_at


@pytest.mark.parametrize("token", ["a b", "a\nb", "é" * 3, "x" * 9000, ""])
def test_implausible_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValueError):
        TokenRecord.from_token_response({"access_token": token}, now=1.0)
    with pytest.raises(ValueError):
        TokenRecord.from_token_response({"access_token": "x", "refresh_token": token}, now=1.0)


@pytest.mark.parametrize(
    ("changes", "repaired"),
    [
        ({"expires_at": None}, ("expires_at",)),
        ({"expires_at": 10**400}, ("expires_at",)),
        ({"expires_at": 1e15}, ("expires_at",)),
        ({"expires_at": -1}, ("expires_at",)),
        ({"obtained_at": None}, ("obtained_at",)),
        ({"expires_at": 1_000_000.0 + 500 * 86400}, ("expires_at",)),
        ({"refresh_token_expires_at": 10**400}, ("refresh_token_expires_at",)),
        ({"refresh_not_before": 3_800_000_000}, ("refresh_not_before",)),
    ],
)
def test_unusable_stored_numbers_are_set_aside_not_fatal(
    changes: dict[str, object], repaired: tuple[str, ...]
) -> None:
    data = _record().to_json()
    data.update(changes)
    record = TokenRecord.from_json(data)
    assert record.repaired == repaired
    for value in (record.expires_at, record.obtained_at):
        assert 0 <= value < token_store.MAX_EPOCH
    assert record.expires_at - record.obtained_at <= token_store.MAX_LIFETIME
    if "expires_at" in repaired and record.expires_at - record.obtained_at < 1000:
        assert record.is_expired(time.time())
    assert record.refresh_token == BODY["refresh_token"]  # the login is kept


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"-Infinity", b"1e999"])
def test_non_json_numbers_written_by_an_older_version_still_load(path: Path, raw: bytes) -> None:
    text = json.dumps(_record().to_json()).encode()
    path.write_bytes(text.replace(b'"expires_at": 1028800.0', b'"expires_at": ' + raw))
    record = token_store.load(str(path))
    assert record is not None and record.repaired == ("expires_at",)
    token_store.save(str(path), record)
    assert b"NaN" not in path.read_bytes() and b"Infinity" not in path.read_bytes()


def test_a_deeply_nested_file_is_damage_not_a_crash(path: Path) -> None:
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    with pytest.raises(TokenFileError, match="nested too deeply"):
        token_store.load(str(path))


def test_save_never_writes_a_number_that_is_not_finite(path: Path) -> None:
    token_store.save(str(path), _record())
    before = path.read_bytes()
    with pytest.raises(TokenFileError) as caught:
        token_store.save(str(path), _record(expires_at=float("nan")))
    assert caught.value.reason == (
        f"Refusing to write {path}: the record holds a number that is not finite."
    )
    assert path.read_bytes() == before


def test_save_returns_the_sign_in_it_replaced(path: Path) -> None:
    first, second = _record(), _record(access_token="second-access-value")
    assert token_store.save(str(path), first) is None
    replaced = token_store.save(str(path), second)
    assert replaced is not None and replaced.to_json() == first.to_json()


def _padded_to(size: int) -> TokenRecord:
    """A record whose file (the first save's) is exactly ``size`` bytes."""
    from claude_code_oauth.tokens.stored_form import NOTHING, encode

    record = _record(extra={"pad": ""})
    record.extra = {"pad": "x" * (size - len(encode(record, NOTHING)))}
    assert len(encode(record, NOTHING)) == size
    return record


def test_a_file_of_exactly_1_mib_is_written_whole_and_a_byte_more_trimmed(path: Path) -> None:
    token_store.save(str(path), _padded_to(token_store.MAX_FILE_BYTES))
    assert path.stat().st_size == token_store.MAX_FILE_BYTES
    loaded = token_store.load(str(path))
    assert loaded is not None and "pad" in loaded.extra
    path.unlink()
    token_store.save(str(path), _padded_to(token_store.MAX_FILE_BYTES + 1))
    loaded = token_store.load(str(path))
    assert loaded is not None and loaded.extra == {}  # the tokens and the known members
    assert loaded.refresh_token == BODY["refresh_token"]
    assert json.loads(path.read_bytes())["replaces"] == "none"  # what it replaced: nothing


def test_repr_shows_no_token() -> None:
    text = repr(_record())
    assert BODY["access_token"] not in text and BODY["refresh_token"] not in text


def test_margin_and_freshness() -> None:
    record = _record()  # lifetime 28800 s
    assert record.margin(None) == 300.0
    assert record.margin(10.0) == 10.0
    short = _record(expires_at=1_000_000.0 + 1000)  # lifetime 1000 s
    assert short.margin(None) == 100.0
    assert short.is_fresh(1_000_000.0 + 899, None)
    assert not short.is_fresh(1_000_000.0 + 901, None)
    assert not short.is_expired(1_000_000.0 + 999)
    assert short.is_expired(1_000_000.0 + 1000)


# -- load and save --------------------------------------------------------------------


def test_load_missing_is_none(path: Path) -> None:
    assert token_store.load(str(path)) is None


def test_save_is_private_and_loadable(path: Path) -> None:
    old_umask = os.umask(0)
    try:
        token_store.save(str(path), _record())
    finally:
        os.umask(old_umask)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = token_store.load(str(path))
    assert loaded is not None and loaded.to_json() == _record().to_json()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_save_creates_a_private_directory(tmp_path: Path) -> None:
    target = tmp_path / "new" / "claude_code_oauth.json"
    token_store.save(str(target), _record())
    assert oct(target.parent.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"access_token": "x", ', "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"[]", "not a usable token file"),
        (b'{"access_token": "x"}', "expires_at"),
        (b"", "not valid JSON"),
    ],
)
def test_damaged_file_is_named_and_left_alone(path: Path, content: bytes, words: str) -> None:
    path.write_bytes(content)
    with pytest.raises(TokenFileError) as caught:
        token_store.load(str(path))
    message = str(caught.value)
    assert str(path) in message and words in message and "login" in message
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_save_moves_a_damaged_file_aside(path: Path) -> None:
    import re

    path.write_bytes(b"{broken")
    assert token_store.save(str(path), _record()) is None
    aside = [p for p in path.parent.iterdir() if p.name != path.name]
    assert len(aside) == 1 and aside[0].read_bytes() == b"{broken"
    # <name>.corrupt-<date>-<time>-<pid>: when, and by which process.
    pattern = re.escape(path.name) + r"\.corrupt-\d{8}-\d{6}-" + str(os.getpid())
    assert re.fullmatch(pattern, aside[0].name)
    assert token_store.load(str(path)) is not None


def test_a_damaged_file_that_cannot_be_moved_aside_stops_the_save(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    path.write_bytes(b"{broken")

    def refused(src: str, dst: str) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(token_store.os, "rename", refused)
    with pytest.raises(TokenFileError) as caught:
        token_store.save(str(path), _record())
    assert caught.value.reason == f"Cannot move the damaged {path} aside: Permission denied."
    assert path.read_bytes() == b"{broken"


@pytest.mark.parametrize("dangling", [False, True])
def test_symlinked_token_file_is_refused(path: Path, tmp_path: Path, dangling: bool) -> None:
    target = tmp_path / "target.json"
    if not dangling:
        token_store.save(str(target), _record())
    before = target.read_bytes() if not dangling else None
    path.symlink_to(target)
    with pytest.raises(TokenFileError, match="symbolic link"):
        token_store.load(str(path))
    with pytest.raises(TokenFileError, match="symbolic link"):
        token_store.save(str(path), _record(access_token="replacement-value"))
    with pytest.raises(TokenFileError, match="symbolic link"):
        token_store.delete(str(path))
    assert path.is_symlink()
    if dangling:
        assert not target.exists()
    else:
        assert target.read_bytes() == before


def test_a_fifo_is_refused_without_hanging(path: Path) -> None:
    os.mkfifo(path, 0o600)
    started = time.monotonic()
    with pytest.raises(TokenFileError, match="not a regular file"):
        token_store.load(str(path))
    assert time.monotonic() - started < 10  # opening a FIFO for reading would block


def test_stale_temporaries_of_killed_writers_are_swept(path: Path) -> None:
    token_store.save(str(path), _record())
    stale = path.parent / f".{path.name}.0123456789ab.tmp"
    recent = path.parent / f".{path.name}.ba9876543210.tmp"
    unrelated = path.parent / f".{path.name}.notours.tmp"
    for extra in (stale, recent, unrelated):
        extra.write_bytes(b"{half")
    old = time.time() - token_store.STALE_TEMP_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(unrelated, (old, old))
    assert token_store.load(str(path)) is not None  # never mistaken for the file
    token_store.save(str(path), _record())
    assert not stale.exists()
    assert recent.exists() and unrelated.exists()


def test_delete_is_idempotent(path: Path) -> None:
    token_store.save(str(path), _record())
    assert token_store.delete(str(path)) is True
    assert not path.exists()
    assert token_store.delete(str(path)) is False


def test_delete_removes_a_damaged_file(path: Path) -> None:
    # What a damaged file named cannot be read, so there is nothing else to remove.
    path.write_bytes(b'{"secrets": {"store": "secret-service", "item": ')
    assert token_store.delete(str(path)) is True
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("preflight", "preflight"),
        ("RESERVE_BYTES", "reserved_save"),
        ("reserve", "reserved_save"),
        ("held", "token_lock"),
        ("lock_path", "token_lock"),
        ("lock_timeout_error", "token_lock"),
        ("token_lock", "token_lock"),
    ],
)
def test_the_lazily_re_exported_names_are_the_defining_modules_own(
    name: str, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from importlib import import_module

    # As on the first use in a fresh process: not yet looked up.
    monkeypatch.delitem(vars(token_store), name, raising=False)
    defined = getattr(import_module(f"claude_code_oauth.tokens.{module}"), name)
    assert getattr(token_store, name) is defined
    assert getattr(token_store, name) is defined  # and again, from where it was kept


def test_a_name_the_store_does_not_have_is_an_attribute_error_naming_it() -> None:
    with pytest.raises(AttributeError) as caught:
        token_store.no_such_name  # noqa: B018
    assert str(caught.value) == (
        "module 'claude_code_oauth.tokens.store' has no attribute 'no_such_name'"
    )


# -- the lock -------------------------------------------------------------------------


def _settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings({"data_dir": str(data_dir), **overrides}, environ={})


def test_lock_file_is_beside_the_token_file_and_private(data_dir: Path) -> None:
    settings = _settings(data_dir)
    old_umask = os.umask(0)
    try:
        with token_store.held(token_store.token_lock(settings)):
            lock = Path(token_store.lock_path(settings.token_path))
            assert lock.parent == data_dir and lock.name == "claude_code_oauth.json.lock"
            assert oct(lock.stat().st_mode & 0o777) == "0o600"
    finally:
        os.umask(old_umask)


def test_held_lock_times_out_clearly(data_dir: Path) -> None:
    settings = _settings(data_dir, lock_timeout=0.2)
    with token_store.held(token_store.token_lock(settings)):
        # A second lock object (as in another process) cannot take it.
        started = time.monotonic()
        with pytest.raises(LockTimeout) as caught:
            token_store.held(token_store.token_lock(settings)).__enter__()
        assert time.monotonic() - started < 10  # bounded, not a hang
    assert "lock" in str(caught.value) and str(data_dir) in str(caught.value)
    # Released: it can be taken again at once.
    with token_store.held(token_store.token_lock(settings, timeout=0.1)):
        pass


def test_lock_excludes_threads_using_separate_lock_objects(data_dir: Path) -> None:
    settings = _settings(data_dir)
    inside = 0
    overlap = []

    def run() -> None:
        nonlocal inside
        for _ in range(20):
            with token_store.held(token_store.token_lock(settings)):
                inside += 1
                overlap.append(inside)
                time.sleep(0.001)
                inside -= 1

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(overlap) == 80 and max(overlap) == 1


# -- a save into a claimed space that still fails, word for word ----------------------


def _claimed(path: Path, size: int = token_store.RESERVE_BYTES):
    from claude_code_oauth.errors import StorageError
    from claude_code_oauth.storage.reservation import Reservation

    return Reservation(str(path), size, StorageError)


def test_a_save_whose_rename_fails_keeps_the_tokens_beside_the_file(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from claude_code_oauth.errors import RecordKept
    from claude_code_oauth.storage import reservation as reservation_module

    old = _record(access_token="sk-ant-oat01-" + "o" * 40)
    token_store.save(str(path), old)
    new = _record(access_token="sk-ant-oat01-" + "n" * 40)
    claimed = _claimed(path)

    def refused(src: str, dst: str) -> None:
        raise OSError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(reservation_module.os, "replace", refused)
    with pytest.raises(RecordKept) as caught:
        token_store.save(str(path), new, reservation=claimed)
    monkeypatch.undo()
    kept = caught.value.kept
    assert kept == claimed.path and caught.value.record is new
    assert caught.value.reason == (
        f"Could not save the new tokens to {path} (Cannot write {path}: Permission denied); "
        f"the login is not lost: they are kept in {kept}, and the next claude-code-oauth run "
        "that can write there takes them over."
    )
    assert caught.value.hint == f"Make {path.parent} writable for you (chmod u+rwx {path.parent})."
    assert token_store.load(str(path)).access_token == old.access_token
    # The next run adopts them, under the lock.
    current = token_store.load(str(path))
    adopted = token_store.adopt_kept(str(path), current)
    assert adopted is not None and adopted.access_token == new.access_token
    assert token_store.load(str(path)).access_token == new.access_token
    assert token_store.adopt_kept(str(path), adopted) is adopted  # nothing more kept


def test_a_save_that_cannot_even_be_written_is_held_by_this_process_only(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from claude_code_oauth.errors import RecordKept
    from claude_code_oauth.storage import reservation as reservation_module

    claimed = _claimed(path, 64)  # too small for the record: the trimmed one is tried
    sizes: list[int] = []
    real_write_all = reservation_module.write_all

    def full(fd: int, data: bytes, offset: int | None = None) -> None:
        sizes.append(len(data))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(reservation_module, "write_all", full)
    record = _record()
    record.organization = {"uuid": "org-1", "name": "Org", "notes": "x" * 2000}
    with pytest.raises(RecordKept) as caught:
        token_store.save(str(path), record, reservation=claimed)
    monkeypatch.setattr(reservation_module, "write_all", real_write_all)
    assert caught.value.kept is None and caught.value.record is record
    assert caught.value.reason == (
        f"Could not save the new tokens to {path} (Cannot write {path}: No space left on "
        "device); the login is not lost: only this process holds them, until it ends."
    )
    assert caught.value.hint == f"Free some space on the filesystem of {path.parent}."
    assert len(sizes) == 2 and sizes[1] < sizes[0]  # then the tokens alone
    claimed.release()
    assert not path.exists()


def test_a_trimmed_save_fits_a_full_disks_claim(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from claude_code_oauth.storage import reservation as reservation_module

    real_write_all = reservation_module.write_all

    def only_the_claim(fd: int, data: bytes, offset: int | None = None) -> None:
        if len(data) > 1200:  # past the claimed space on a full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_write_all(fd, data, offset)

    monkeypatch.setattr(reservation_module, "write_all", only_the_claim)
    record = _record()
    record.organization = {"uuid": "org-1", "name": "Org", "notes": "x" * 2000}
    with _claimed(path, 1200) as claimed:
        token_store.save(str(path), record, reservation=claimed)
    loaded = token_store.load(str(path))
    assert loaded is not None and loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert loaded.refresh_token == record.refresh_token
    assert json.loads(path.read_bytes())["replaces"] == "none"  # what it replaced: nothing


def test_preflight_says_what_would_stop_a_save(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)})
    path = Path(settings.token_path)
    token_store.preflight(settings)  # nothing there yet: fine, and nothing left behind
    assert sorted(p.name for p in data_dir.iterdir()) == [path.name + ".lock"]
    holder = token_store.token_lock(settings)
    holder.acquire()
    try:
        token_store.preflight(settings)  # held by another process: the lock works
    finally:
        holder.release()
    path.mkdir()
    with pytest.raises(TokenFileError) as caught:
        token_store.preflight(settings)
    assert caught.value.reason == f"Refusing to use {path}: it is not a regular file."
    assert caught.value.hint == "Move it away; the token file must be a regular file."
    path.rmdir()
    real_lstat = os.lstat

    def unreadable(name: str, *args: object, **kwargs: object) -> os.stat_result:
        if name == str(path):
            raise OSError(13, "Permission denied")
        return real_lstat(name, *args, **kwargs)

    monkeypatch.setattr(token_store.os, "lstat", unreadable)
    with pytest.raises(TokenFileError) as caught:
        token_store.preflight(settings)
    assert caught.value.reason == f"Cannot use {path}: Permission denied."


def test_the_sweep_at_every_start_never_stops_a_command(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from claude_code_oauth.tokens import recovery

    settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)})
    swept: list[str] = []
    monkeypatch.setattr(recovery, "sweep", lambda directory, adopt: swept.append(directory))
    token_store.sweep(settings)
    assert swept == []  # nothing left behind: not even looked at further
    (data_dir / ".claude_code_oauth.json.0123456789ab.tmp").write_bytes(b"x")
    token_store.sweep(settings)
    assert swept == [str(data_dir)]

    def broken(directory: str, adopt: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(recovery, "sweep", broken)
    with caplog.at_level("DEBUG", logger="claude_code_oauth"):
        token_store.sweep(settings)
    assert [r.getMessage() for r in caplog.records] == ["sweep failed"]


def test_the_sweep_never_waits_for_a_token_lock_another_process_holds(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every command starts with the sweep: a held lock (a refresh running elsewhere, which
    # adopts under it) must not stall it for even one poll of the lock.
    from claude_code_oauth.storage.file_lock import file_lock
    from claude_code_oauth.tokens.keyring_item import StoreOpener

    token_store.save(str(path), _record())
    before = path.read_bytes()
    holder = file_lock(token_store.lock_path(str(path)), 5)
    holder.acquire()

    def waited(seconds: float) -> None:
        raise AssertionError(f"the sweep waited {seconds} s for the lock")

    try:
        monkeypatch.setattr(time, "sleep", waited)
        token_store.adopt_if_free(str(path), StoreOpener())
    finally:
        monkeypatch.undo()
        holder.release()
    assert path.read_bytes() == before


def test_the_token_locks_timeout_names_the_token_file(data_dir: Path) -> None:
    settings = Settings(environ={"CLAUDE_CODE_OAUTH_DATA_DIR": str(data_dir)})
    lock = token_store.token_lock(settings, timeout=1.5)
    error = token_store.lock_timeout_error(lock)
    assert error.reason == (
        "Another claude-code-oauth process has held the lock on the token file for more than "
        f"1.5 s ({settings.token_path}.lock)."
    )
