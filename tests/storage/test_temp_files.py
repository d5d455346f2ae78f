"""Temporary file names and their writers, judged in this process: whose a name is, and
whether its writer is certainly gone (the whole story with killed children is in
test_killed_writers)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from claude_code_oauth.storage import temp_files
from claude_code_oauth.storage.temp_files import TempFile, identity, parse, writer_gone
from helpers.polling import wait_for


def _start_of(pid: int) -> str:
    """Field 22 of /proc/PID/stat, read independently of the code under test."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(") ", 1)[1].split()[19]


def test_a_name_is_parsed_into_target_and_writer(tmp_path: Path) -> None:
    name = ".claude_code_oauth.json.0123abcd4026531836-4242-987654.00ff00ff.tmp"
    temp = parse(str(tmp_path), name)
    assert temp is not None
    assert (temp.path, temp.target_name, temp.host, temp.pid, temp.start) == (
        str(tmp_path / name),
        "claude_code_oauth.json",
        "0123abcd4026531836",
        "4242",
        "987654",
    )
    old = parse(str(tmp_path), ".f.json.0123456789ab.tmp")
    assert old is not None
    assert (old.target_name, old.host, old.pid, old.start) == ("f.json", "", "", "")


@pytest.mark.parametrize(
    "name",
    [
        "f.json.0123abcd-1-2.00ff00ff.tmp",  # not hidden
        ".f.json.0123abcd-1-2.00ff00ff",  # not .tmp
        ".f.json.0123abcd-1-2.00ff00fg.tmp",  # the random part is not hex
        ".f.json.0123abcd-1-2.00ff00f.tmp",  # nor 8 digits
        ".f.json.0123abcd-1-2-3.00ff00ff.tmp",  # a start that is not a number
        ".f.json.0123abcd-x-2.00ff00ff.tmp",
        ".f.json.0123abcd-1-.00ff00ff.tmp",
        "..0123abcd-1-2.00ff00ff.tmp",  # no target
        ".f.json.-1-2.00ff00ff.tmp",  # no host
        ".0123456789ab.tmp",  # older naming without a target
        ".f.json.0123456789AB.tmp",
        ".f.json.0123abcd-1-2.00ff00XX.tmp",  # hex is lower-case digits and a-f only
    ],
)
def test_other_names_are_not_ours(tmp_path: Path, name: str) -> None:
    assert parse(str(tmp_path), name) is None


def test_this_process_own_files(tmp_path: Path) -> None:
    host, writer = identity()
    pid, _, start = writer.partition("-")
    assert pid == str(os.getpid()) and start == _start_of(os.getpid())
    name = Path(temp_files.temp_path(str(tmp_path / "t.json"))).name
    assert name.startswith(f".t.json.{host}-{pid}-{start}.") and name.endswith(".tmp")
    mine = TempFile("p", "t.json", host, pid, start)
    assert writer_gone(mine) is False
    # This PID, another start time: an earlier process that had our PID, gone.
    assert writer_gone(TempFile("p", "t.json", host, pid, str(int(start) + 1))) is True


@pytest.mark.subprocess
def test_another_live_process_and_a_zombie(tmp_path: Path) -> None:
    host = identity()[0]
    # A process whose command name holds ") (": the stat line must be split after the last.
    odd = tmp_path / "a) (b c"
    shutil.copy("/bin/sleep", odd)
    child = subprocess.Popen([str(odd), "30"])
    try:
        start = _start_of(child.pid)
        # Running or asleep, depending on how far the child got: both are alive.
        state, started = temp_files._proc_start(str(child.pid)) or ("", "")
        assert state in ("R", "S") and started == start
        assert writer_gone(TempFile("p", "t", host, str(child.pid), start)) is False
        assert writer_gone(TempFile("p", "t", host, str(child.pid), start + "0")) is True
        child.kill()
        # Not reaped yet: a zombie, which counts as gone.
        wait_for(lambda: Path(f"/proc/{child.pid}/stat").read_text().rsplit(") ", 1)[1][0] == "Z")
        assert writer_gone(TempFile("p", "t", host, str(child.pid), start)) is True
    finally:
        child.kill()
        child.wait()
    assert temp_files._proc_start(str(child.pid)) is None
    assert writer_gone(TempFile("p", "t", host, str(child.pid), start)) is True


def test_a_writer_that_cannot_be_judged(tmp_path: Path) -> None:
    host, writer = identity()
    pid, _, start = writer.partition("-")
    assert writer_gone(TempFile("p", "t", "", "", "")) is None  # older naming
    assert writer_gone(TempFile("p", "t", host + "0", pid, start)) is None  # another machine
    assert writer_gone(TempFile("p", "t", "nohost", pid, start)) is None


def test_a_short_stat_line_is_no_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "stat"
    fake.write_bytes(b"1 (x) S" + b" 0" * 18)  # 19 fields after the name: one too few
    real_open = open

    def proc_open(path: str, *args: object, **kwargs: object):
        return real_open(fake if path == "/proc/77/stat" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", proc_open)
    assert temp_files._proc_start("77") is None
    fake.write_bytes(b"1 (x) R" + b" 0" * 18 + b" 12345")
    assert temp_files._proc_start("77") == ("R", "12345")


def test_the_host_tag_is_the_boot_and_the_pid_namespace() -> None:
    boot = Path("/proc/sys/kernel/random/boot_id").read_text().replace("-", "")[:8]
    namespace = os.stat("/proc/self/ns/pid").st_ino
    assert temp_files._host_tag() == f"{boot}{namespace:x}"


def _stat_line(state: str, start: str, command: bytes = b"x") -> bytes:
    """A /proc/PID/stat line: pid, (command), state, 18 more fields, start time, more."""
    return b"77 (" + command + b") " + state.encode() + b" 0" * 18 + f" {start} 0 0".encode()


@pytest.fixture
def fake_proc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes | None]:
    """Paths under /proc this process reads, answered from the returned dict instead
    (``None``: not there); every other path is the real one."""
    answers: dict[str, bytes | None] = {}
    real_open = open

    def proc_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(path, str) and path in answers:
            content = answers[path]
            if content is None:
                raise FileNotFoundError(path)
            fake = tmp_path / "fake-proc-file"
            fake.write_bytes(content)
            return real_open(fake, *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", proc_open)
    return answers


def test_another_running_process_is_alive_until_its_pid_names_another_start() -> None:
    """The parent of this test process runs while it does; the same PID with another
    start time is a process that ended (its PID given to the parent since)."""
    host = identity()[0]
    parent = os.getppid()
    start = _start_of(parent)
    assert writer_gone(TempFile("p", "t", host, str(parent), start)) is False
    assert writer_gone(TempFile("p", "t", host, str(parent), str(int(start) + 1))) is True


def test_a_zombie_or_dead_writer_is_gone_even_with_its_start_time(
    fake_proc: dict[str, bytes | None],
) -> None:
    host = identity()[0]
    for state, gone in (("Z", True), ("X", True), ("S", False), ("R", False), ("D", False)):
        fake_proc["/proc/77/stat"] = _stat_line(state, "12345")
        assert writer_gone(TempFile("p", "t", host, "77", "12345")) is gone, state
    # No such process at all: gone.
    fake_proc["/proc/77/stat"] = None
    assert writer_gone(TempFile("p", "t", host, "77", "12345")) is True


def test_a_command_name_with_parentheses_does_not_shift_the_fields(
    fake_proc: dict[str, bytes | None],
) -> None:
    fake_proc["/proc/77/stat"] = _stat_line("S", "12345", command=b"a) Z (b) X 9")
    assert temp_files._proc_start("77") == ("S", "12345")
    assert writer_gone(TempFile("p", "t", identity()[0], "77", "12345")) is False


def test_without_the_boot_id_no_writer_is_judged(
    fake_proc: dict[str, bytes | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system that hides the boot id (some containers): files are named ``nohost`` and
    no process can tell whether such a file's writer is gone, not even this one."""
    monkeypatch.setattr(temp_files, "_identity", None)
    fake_proc["/proc/sys/kernel/random/boot_id"] = None
    name = Path(temp_files.temp_path(str(tmp_path / "t.json"))).name
    pid, start = str(os.getpid()), _start_of(os.getpid())
    assert name.startswith(f".t.json.nohost-{pid}-{start}.")
    assert writer_gone(TempFile("p", "t.json", "nohost", pid, start)) is None
    assert writer_gone(TempFile("p", "t.json", "nohost", "77", "1")) is None


def test_without_its_own_stat_a_process_names_its_files_with_start_0(
    fake_proc: dict[str, bytes | None], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(temp_files, "_identity", None)
    fake_proc["/proc/self/stat"] = None
    name = Path(temp_files.temp_path(str(tmp_path / "t.json"))).name
    assert name.startswith(f".t.json.{temp_files._host_tag()}-{os.getpid()}-0.")


def test_the_identity_is_computed_once_per_process(
    fake_proc: dict[str, bytes | None], tmp_path: Path
) -> None:
    """What a process named its first file after is what it names every later one after,
    and what it judges its own files by (nothing in /proc is read again)."""
    before = identity()
    fake_proc["/proc/sys/kernel/random/boot_id"] = None
    fake_proc["/proc/self/stat"] = None
    assert identity() == before
    name = Path(temp_files.temp_path(str(tmp_path / "t.json"))).name
    assert name.startswith(f".t.json.{before[0]}-{before[1]}.")
