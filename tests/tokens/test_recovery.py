"""A refresh whose save fails after the server rotated: the new tokens are used, kept
beside the file, and adopted — under the lock, before any refresh — by the next
provider (another process, or this one later), even while their writer still runs;
and a refresh is never even tried where its result could not be kept."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from claude_code_oauth.config import Settings
from claude_code_oauth.errors import RecordKept
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.keyring_item import KeyringTarget, Location, StoreOpener
from claude_code_oauth.tokens.provider import TokenProvider
from claude_code_oauth.tokens.record import TokenRecord
from claude_code_oauth.tokens.recovery import KEEP_FOR
from claude_code_oauth.tokens.stored_form import REPLACES, encode, identity
from helpers.machine_faults import full_at_the_space_claim
from helpers.memory_keyring import STORE, MemoryKeyring, memory_keyring
from helpers.tokens import (
    assert_no_secret_in,
    assert_same_secret,
    digest,
    login_record,
    seed,
    stored,
)

_real_replace = os.replace


def _adopt_if_free(path: str) -> None:
    """What :func:`token_store.sweep` hands the recovery sweep (no keyring involved)."""
    from claude_code_oauth.tokens.keyring_item import StoreOpener

    token_store.adopt_if_free(path, StoreOpener())


def _temps(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def _break_renames_over(token_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Renames over the token file fail as in a directory turned read-only mid-call."""

    def failing(src: str, dst: str) -> None:
        if os.fspath(dst) == str(token_path):
            raise PermissionError(errno.EACCES, "Permission denied")
        _real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)


def test_a_rotation_that_could_not_be_saved_is_used_kept_and_adopted(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = seed(emulator, token_path, expires_in=-10)
    _break_renames_over(token_path, monkeypatch)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    (warning,) = warnings
    assert "Permission denied" in warning and "kept in" in warning
    assert emulator.grants["refresh_token"] == 1
    assert digest(token) != digest(before.access_token)
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    assert len(_temps(data_dir)) == 1

    # Another provider (its writer, this process, still runs) takes the kept tokens
    # instead of presenting the spent refresh token again.
    again = TokenProvider(settings).get_access_token()
    assert digest(again) == digest(token)
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0

    monkeypatch.undo()
    third = TokenProvider(settings).get_access_token()
    assert digest(third) == digest(token)
    assert digest(stored(token_path).access_token) == digest(token)
    assert _temps(data_dir) == []
    assert emulator.grants["refresh_token"] == 1 and emulator.replays == 0


def test_a_token_still_valid_is_handed_out_when_no_refresh_can_be_kept(
    emulator: ClaudeEmulator,
    settings: Settings,
    token_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Inside the refresh margin but not expired: the current token, with a warning.
    record = seed(emulator, token_path, expires_in=30, lifetime=3600)

    full_at_the_space_claim(monkeypatch)
    warnings: list[str] = []
    token = TokenProvider(settings, on_warning=warnings.append).get_access_token()
    assert digest(token) == digest(record.access_token)
    assert any("No space left on device" in w for w in warnings)
    assert emulator.grants["refresh_token"] == 0


def test_a_record_too_large_for_the_file_is_saved_trimmed(
    emulator: ClaudeEmulator, token_path: Path
) -> None:
    record = seed(emulator, token_path, expires_in=3600)
    record.organization = {"uuid": "org-1", "name": "Org", "notes": "x" * (2 << 20)}
    token_store.save(str(token_path), record)
    assert token_path.stat().st_size < token_store.MAX_FILE_BYTES
    loaded = stored(token_path)
    assert loaded.organization == {"uuid": "org-1", "name": "Org"}
    assert digest(loaded.refresh_token) == digest(record.refresh_token)


# -- what a killed writer left, swept in this process ---------------------------------


def _left_by_a_dead_writer(token_path: Path, content: bytes, suffix: str = "00ff00ff") -> Path:
    """A temporary file named after a writer of this machine that no longer runs."""
    from claude_code_oauth.storage.temp_files import identity

    host = identity()[0]
    dead_pid = 4_194_304 + 7  # above any PID Linux hands out
    path = token_path.parent / f".{token_path.name}.{host}-{dead_pid}-1.{suffix}.tmp"
    path.write_bytes(content)
    return path


def _kept_copy(record, replaces) -> bytes:
    from claude_code_oauth.tokens.stored_form import encode, identity

    return encode(record, identity(replaces))


def _rotated(emulator: ClaudeEmulator, before, seconds_later: float = 60):
    from claude_code_oauth.tokens.record import TokenRecord

    return TokenRecord.from_token_response(
        emulator.issue_login(), now=before.obtained_at + seconds_later, previous=before
    )


def test_sweep_adopts_the_newest_kept_copy_and_removes_the_rest(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    recovery.sweep(str(data_dir), _adopt_if_free)  # nothing there: nothing happens
    before = seed(emulator, token_path, expires_in=3600)
    newer = _rotated(emulator, before, 120)
    older = _rotated(emulator, before, 60)
    _left_by_a_dead_writer(token_path, _kept_copy(older, before), "0000000a")
    _left_by_a_dead_writer(token_path, _kept_copy(newer, before), "0000000b")
    half = _left_by_a_dead_writer(token_path, bytes(4096), "0000000c")  # a claim, unwritten
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert digest(stored(token_path).refresh_token) == digest(newer.refresh_token)
    assert _temps(data_dir) == [] and not half.exists()


def test_a_kept_copy_of_another_login_or_an_older_one_is_removed_not_adopted(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    other = seed(emulator, data_dir / "elsewhere.json", expires_in=3600)
    _left_by_a_dead_writer(token_path, _kept_copy(_rotated(emulator, other), other), "0000000a")
    stale = _rotated(emulator, before, -60)  # older than the file's login
    _left_by_a_dead_writer(token_path, _kept_copy(stale, before), "0000000b")
    _left_by_a_dead_writer(token_path, b'{"no": "replaces"}', "0000000c")
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    assert _temps(data_dir) == []


def test_files_of_a_running_or_an_unknown_writer_are_left_until_stale(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.storage.temp_files import temp_path
    from claude_code_oauth.tokens import recovery

    seed(emulator, token_path, expires_in=3600)
    mine = Path(temp_path(str(token_path)))  # this process: running
    mine.write_bytes(bytes(16))
    foreign = data_dir / f".{token_path.name}.0123abcd4026531836-12-34.00ff00ff.tmp"
    foreign.write_bytes(bytes(16))
    old_naming = data_dir / f".{token_path.name}.0123456789ab.tmp"
    old_naming.write_bytes(bytes(16))
    written = 2_000_000_000  # whole seconds: the modification times hold it exactly
    for path in (mine, foreign, old_naming):
        os.utime(path, (written, written))

    def sweep_at(seconds_later: float) -> None:
        recovery.sweep(str(data_dir), _adopt_if_free, clock=lambda: written + seconds_later)

    sweep_at(59)
    assert mine.exists() and foreign.exists() and old_naming.exists()
    sweep_at(60)  # the older naming's writers saved within seconds: a minute is stale
    assert not old_naming.exists() and foreign.exists() and mine.exists()
    sweep_at(3599)  # an unknown writer gets an hour
    assert foreign.exists()
    sweep_at(3600)
    assert not foreign.exists() and mine.exists()


def test_sweep_goes_on_past_the_files_it_leaves(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running writer's file, an unknown writer's not yet stale, and one that another
    sweep removed meanwhile are left: the files after them are still swept."""
    from claude_code_oauth.storage import temp_files
    from claude_code_oauth.tokens import recovery

    seed(emulator, token_path, expires_in=3600)
    foreign = f".{token_path.name}.0123abcd4026531836"

    def skipped(n: int) -> list[Path]:
        running = Path(temp_files.temp_path(str(token_path)))
        unknown = data_dir / f"{foreign}-12-{n}.00ff00ff.tmp"  # not yet stale
        vanishing = data_dir / f"{foreign}-56-{n}.00ff00ff.tmp"
        for path in (running, unknown, vanishing):
            path.write_bytes(bytes(16))
        return [running, unknown, vanishing]

    def dead(n: int) -> Path:
        return _left_by_a_dead_writer(token_path, bytes(16), f"{n:08x}")

    (running, unknown, vanishing), left = _after_every_skipped(data_dir, skipped, dead)
    real_lstat = os.lstat

    def removed_meanwhile(path: str, *args: object, **kwargs: object) -> os.stat_result:
        if os.fspath(path) == str(vanishing):
            raise FileNotFoundError(errno.ENOENT, "No such file or directory")
        return real_lstat(path, *args, **kwargs)

    monkeypatch.setattr(os, "lstat", removed_meanwhile)
    recovery.sweep(str(data_dir), _adopt_if_free)
    monkeypatch.undo()
    assert running.exists() and unknown.exists()
    assert not left.exists()


def test_sweep_leaves_a_kept_copy_while_the_token_lock_is_held(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.storage.file_lock import file_lock
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    rotated = _rotated(emulator, before)
    kept = _left_by_a_dead_writer(token_path, _kept_copy(rotated, before))
    holder = file_lock(str(token_path) + ".lock", 5)
    holder.acquire()
    try:
        recovery.sweep(str(data_dir), _adopt_if_free)
    finally:
        holder.release()
    assert kept.exists()  # the lock holder (a refresh) adopts it, under the lock
    assert digest(stored(token_path).refresh_token) == digest(before.refresh_token)
    token_path.write_bytes(b"{damaged")
    recovery.sweep(str(data_dir), _adopt_if_free)  # a damaged token file: nothing adopted, no error
    assert kept.exists()


# -- with the secrets in the keyring (the keyring library on an in-memory backend) ----------
# In-process counterparts of tests/tokens/test_recovery_keyring.py (the private gnome-keyring).

KEYRING_NAME = "the system keyring (keyring library)"


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


def _login(n: int) -> TokenRecord:
    return login_record(n, "recovery-memory")


def _signed_in(path: str) -> TokenRecord:
    token_store.save(path, _login(1), secrets=KeyringTarget(STORE, "work"))
    current = token_store.load(path)
    assert current is not None
    return current


def test_tokens_the_keyring_refused_are_kept_announced_and_go_into_it_once_it_answers(
    memory: MemoryKeyring, token_path: Path, data_dir: Path
) -> None:
    path = str(token_path)
    current = _signed_in(path)
    rotated = _login(2)
    keyring.set_keyring(fail.Keyring())  # no usable keyring any more
    with token_store.reserve(path) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(path, rotated, reservation=reservation, replaces=identity(current))
    kept = caught.value.kept
    assert kept is not None and Path(kept).parent == data_dir
    assert caught.value.reason == (
        "Could not save the new tokens to the keyring (The keyring library found no usable "
        f"keyring on this system); the login is not lost: they are kept in {kept} (secrets "
        "included), and the next claude-code-oauth run moves them into the keyring (or, "
        "while it still refuses, uses them from there)."
    )
    assert caught.value.hint == "Keep the credentials in the file."
    assert caught.value.record is rotated
    form = json.loads(Path(kept).read_bytes())
    assert form[KEEP_FOR] == {"store": STORE, "item": "work", "generation": 2}
    assert form[REPLACES] == identity(current)

    used = token_store.adopt_kept(path, current)  # still refused: used from the kept copy
    assert used is not None
    assert_same_secret(used.refresh_token, rotated.refresh_token, "the refresh token")
    assert Path(kept).exists()

    keyring.set_keyring(memory)
    adopted = token_store.adopt_kept(path, current)
    assert adopted is not None
    assert_same_secret(adopted.refresh_token, rotated.refresh_token, "the refresh token")
    assert not Path(kept).exists()
    loaded = token_store.load(path)
    assert loaded is not None
    assert_same_secret(loaded.refresh_token, rotated.refresh_token, "the refresh token")
    assert json.loads(token_path.read_text())["secrets"]["generation"] == 2
    assert_no_secret_in(data_dir, rotated)


def test_refused_tokens_that_cannot_even_be_kept_are_said_to_live_in_this_process_only(
    memory: MemoryKeyring, token_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from claude_code_oauth.storage import reservation as reservation_module

    path = str(token_path)
    current = _signed_in(path)
    rotated = _login(2)
    keyring.set_keyring(fail.Keyring())

    def disk_full(fd: int, data: bytes, offset: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with token_store.reserve(path) as reservation, pytest.raises(RecordKept) as caught:
        monkeypatch.setattr(reservation_module, "write_all", disk_full)
        token_store.save(path, rotated, reservation=reservation, replaces=identity(current))
    assert caught.value.kept is None and caught.value.record is rotated
    assert caught.value.reason == (
        "Could not save the new tokens to the keyring (The keyring library found no usable "
        "keyring on this system); the login is not lost: only this process holds them, "
        "until it ends."
    )


@pytest.mark.parametrize("first", [True, False], ids=["first sign-in", "refresh"])
def test_a_file_that_could_not_follow_its_item_is_taken_over(
    memory: MemoryKeyring,
    token_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    first: bool,
) -> None:
    path = str(token_path)
    current = None if first else _signed_in(path)
    login = _login(3)
    _break_renames_over(token_path, monkeypatch)
    with token_store.reserve(path) as reservation, pytest.raises(RecordKept) as caught:
        token_store.save(path, login, secrets=KeyringTarget(STORE, "work"), reservation=reservation)
    kept = caught.value.kept
    assert kept is not None and caught.value.record is login
    generation = 1 if first else 2
    item = StoreOpener()(STORE).get("work")  # written before the file
    assert item is not None and json.loads(item)["generation"] == generation
    assert_no_secret_in(data_dir, login)

    monkeypatch.undo()
    adopted = token_store.adopt_kept(path, current)
    assert adopted is not None
    assert_same_secret(adopted.access_token, login.access_token, "the access token")
    assert not Path(kept).exists()
    assert json.loads(token_path.read_text())["secrets"]["generation"] == generation
    assert_no_secret_in(data_dir, login)


@pytest.mark.parametrize(
    "member",
    [{"obtained_at": True}, {"obtained_at": "2000000000"}, {"obtained_at": None}],
    ids=["a boolean", "a string", "none"],
)
def test_a_kept_file_form_without_a_time_is_no_save_and_is_removed(
    memory: MemoryKeyring, token_path: Path, data_dir: Path, member: dict[str, object]
) -> None:
    from claude_code_oauth.tokens import recovery

    login = _login(1)
    form = json.loads(encode(login, identity(None), location=Location(STORE, "work", 1)))
    form.update(member)
    left = _left_by_a_dead_writer(token_path, json.dumps(form).encode())
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert not left.exists() and not token_path.exists()


def test_a_kept_copy_over_the_token_file_limit_is_not_read(
    token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    login = _login(1)
    form = json.loads(encode(login, identity(None)))
    form["padding"] = "x" * (1 << 20)
    left = _left_by_a_dead_writer(token_path, json.dumps(form).encode())
    recovery.sweep(str(data_dir), _adopt_if_free)
    assert not left.exists() and not token_path.exists()


def _after_every_skipped(
    data_dir: Path,
    make_skipped: Callable[[int], list[Path]],
    make_target: Callable[[int], Path],
    tries: int = 64,
) -> tuple[list[Path], Path]:
    """Files a sweep or an adopt passes over (``make_skipped(n)``) and the one it must
    reach (``make_target(n)``), made again under new names, in either order of creation,
    until the one to reach comes after every skipped one in the directory's order (the
    file system's: by name hash, by creation, or the reverse), so a loop that stopped at
    a skipped file would miss it."""
    from claude_code_oauth.storage import temp_files

    for n in range(tries):
        if n % 2:
            target = make_target(n)
            skipped = make_skipped(n)
        else:
            skipped = make_skipped(n)
            target = make_target(n)
        order = [Path(t.path) for t in temp_files.scan(str(data_dir))]
        if all(order.index(target) > order.index(path) for path in skipped):
            return skipped, target
        for path in (*skipped, target):
            path.unlink()
    pytest.fail(f"the file to reach never came after the skipped ones in {tries} tries")


def test_adopt_passes_over_other_files_and_unwritten_claims_to_the_kept_copy(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.storage.temp_files import temp_path
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    rotated = _rotated(emulator, before)
    other = data_dir / "claude_code_oauth.work.json"

    def skipped(n: int) -> list[Path]:
        of_another_file = _left_by_a_dead_writer(other, b"{}", f"a{n:07x}")
        claimed_by_the_dead = _left_by_a_dead_writer(token_path, bytes(64), f"b{n:07x}")
        claimed_by_me = Path(temp_path(str(token_path)))  # this process: running
        claimed_by_me.write_bytes(bytes(64))
        return [of_another_file, claimed_by_the_dead, claimed_by_me]

    def kept_copy(n: int) -> Path:
        return _left_by_a_dead_writer(token_path, _kept_copy(rotated, before), f"c{n:07x}")

    (of_another_file, claimed_by_the_dead, claimed_by_me), kept = _after_every_skipped(
        data_dir, skipped, kept_copy
    )
    adopted = recovery.adopt(
        str(token_path), before, lambda k: recovery.move_over(str(token_path), k)
    )
    assert adopted is not None
    assert digest(adopted.refresh_token) == digest(rotated.refresh_token)
    assert digest(stored(token_path).refresh_token) == digest(rotated.refresh_token)
    assert not kept.exists() and not claimed_by_the_dead.exists()
    assert of_another_file.exists() and claimed_by_me.exists()


def test_adopt_takes_the_newest_kept_copy_whichever_comes_first(
    emulator: ClaudeEmulator, token_path: Path, data_dir: Path
) -> None:
    from claude_code_oauth.tokens import recovery

    before = seed(emulator, token_path, expires_in=3600)
    older, newer = _rotated(emulator, before, 60), _rotated(emulator, before, 120)

    def older_copy(n: int) -> list[Path]:
        return [_left_by_a_dead_writer(token_path, _kept_copy(older, before), f"a{n:07x}")]

    def newer_copy(n: int) -> Path:
        return _left_by_a_dead_writer(token_path, _kept_copy(newer, before), f"b{n:07x}")

    (first,), second = _after_every_skipped(data_dir, older_copy, newer_copy)
    adopted = recovery.adopt(
        str(token_path), before, lambda k: recovery.move_over(str(token_path), k)
    )
    assert adopted is not None
    assert digest(adopted.refresh_token) == digest(newer.refresh_token)
    assert not first.exists() and not second.exists()
