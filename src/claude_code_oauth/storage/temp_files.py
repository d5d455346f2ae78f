"""Temporary files of our writes, named after their writer, and how to tell one is stale.

Every temporary file (:mod:`.secure_file`'s atomic writes, :mod:`.reservation`'s
reserved space) is created beside its target as
``.<target name>.<host>-<pid>-<start>.<random>.tmp``: ``host`` tells this
machine and PID namespace from others sharing the directory (from the boot id and
the PID namespace), ``pid`` and ``start`` (the process's start time, in clock
ticks since boot) name the writing process, so a later process can tell whether
the writer is still running — even after its PID was given to another process.

What a caller may rely on:

* :func:`scan` lists our temporary files in a directory with one ``scandir`` and
  no other system call; where there are none (the normal case) that is all it costs.
* :func:`writer_gone` is ``True`` only when the writer is certainly gone (same
  machine and PID namespace, and no process with that PID and start time; a
  zombie counts as gone), ``False`` while it runs, ``None`` when this process
  cannot tell (a file from another machine or namespace, or one named by an
  older version, which carries a random part only).

Standard library only, and nothing is read from ``/proc`` until a temporary file
is named or judged.
"""

from __future__ import annotations

import os

TEMP_SUFFIX = ".tmp"

_identity: tuple[str, str] | None = None


def _proc_start(pid: str) -> tuple[str, str] | None:
    """``(state, start time)`` of process ``pid`` from ``/proc``; ``None`` if there is none."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            text = stat.read()  # one short line: the kernel bounds every field
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(b")") + 2 :].split()
    if len(fields) < 20:
        return None
    # A letter and a number; latin-1 turns any byte into one character and never fails.
    return fields[0].decode("latin-1"), fields[19].decode("latin-1")


def _host_tag() -> str:
    """This boot of this machine, and this PID namespace: where a PID means something."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as boot:
            boot_id = boot.read(8).decode("latin-1")  # a UUID's first 8 hex digits
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "nohost"
    return f"{boot_id}{namespace:x}"


def identity() -> tuple[str, str]:
    """``(host tag, "<pid>-<start>")`` of this process (computed once per process;
    a forked child computes its own)."""
    global _identity
    pid = str(os.getpid())
    if _identity is None or not _identity[1].startswith(pid + "-"):
        found = _proc_start("self")
        _identity = (_host_tag(), f"{pid}-{found[1] if found else 0}")
    return _identity


def temp_path(target: str) -> str:
    """A fresh temporary path beside ``target`` naming this process as its writer."""
    import secrets

    host, writer = identity()
    directory, name = os.path.split(os.path.abspath(target))
    return os.path.join(directory, f".{name}.{host}-{writer}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


class TempFile:
    """One of our temporary files: its path, the target's name, and its writer."""

    __slots__ = ("host", "path", "pid", "start", "target_name")

    def __init__(self, path: str, target_name: str, host: str, pid: str, start: str) -> None:
        self.path = path
        self.target_name = target_name
        #: Empty for a file named by an older version (a random part only).
        self.host = host
        self.pid = pid
        self.start = start


def parse(directory: str, name: str) -> TempFile | None:
    """The :class:`TempFile` ``name`` in ``directory`` is, ``None`` if it is none of ours."""
    if not (name.startswith(".") and name.endswith(TEMP_SUFFIX)):
        return None
    stem = name[1 : -len(TEMP_SUFFIX)]
    target, _, rest = stem.rpartition(".")
    if len(rest) == 12 and target and _is_hex(rest):
        return TempFile(os.path.join(directory, name), target, "", "", "")  # older naming
    if len(rest) != 8 or not _is_hex(rest):
        return None
    target, _, writer = target.rpartition(".")
    host, _, process = writer.partition("-")
    pid, _, start = process.partition("-")
    if not (target and host and pid.isdigit() and start.isdigit()):
        return None
    return TempFile(os.path.join(directory, name), target, host, pid, start)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def scan(directory: str) -> list[TempFile]:
    """Our temporary files in ``directory`` (one ``scandir``; ``[]`` if it cannot be read)."""
    found = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                temp = parse(directory, entry.name)
                if temp is not None:
                    found.append(temp)
    except OSError:
        return []
    return found


def writer_gone(temp: TempFile) -> bool | None:
    """Whether ``temp``'s writer has certainly ended (see the module docstring)."""
    if not temp.host or temp.host != identity()[0] or temp.host == "nohost":
        return None
    if temp.pid == str(os.getpid()):
        return temp.start != identity()[1].partition("-")[2]
    found = _proc_start(temp.pid)
    if found is None:
        return True
    state, start = found
    return state in ("Z", "X") or start != temp.start
