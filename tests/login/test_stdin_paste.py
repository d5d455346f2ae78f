"""StdinPasteReader on real pipes: lines delivered, nothing read after stop()."""

from __future__ import annotations

import array
import fcntl
import io
import os
import queue
import termios
import time
from collections.abc import Iterator

import pytest

from claude_code_oauth.login.stdin_paste import StdinPasteReader


class Pipe:
    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        self.reader_end = os.fdopen(self.read_fd, "r", closefd=False)
        self.lines: queue.Queue[str] = queue.Queue()

    def write(self, data: bytes) -> None:
        os.write(self.write_fd, data)

    def until_drained(self, timeout: float = 5) -> None:
        """Poll (with a deadline) until nothing written is left unread in the pipe."""
        deadline = time.monotonic() + timeout
        while True:
            pending = array.array("i", [0])
            fcntl.ioctl(self.read_fd, termios.FIONREAD, pending)
            if pending[0] == 0:
                return
            assert time.monotonic() < deadline, "the reader never read the pipe"
            time.sleep(0.002)

    def take(self, count: int, timeout: float = 5) -> list[str]:
        return [self.lines.get(timeout=timeout) for _ in range(count)]

    def close_writer(self) -> None:
        os.close(self.write_fd)
        self.write_fd = -1  # never close a number that may have been reused

    def close(self) -> None:
        self.reader_end.close()
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.close(fd)


@pytest.fixture
def pipe() -> Iterator[Pipe]:
    p = Pipe()
    yield p
    p.close()


def test_lines_are_delivered_stripped_and_empty_ones_skipped(pipe: Pipe) -> None:
    with StdinPasteReader(pipe.lines.put, pipe.reader_end) as reader:
        assert reader._thread is not None and reader._thread.is_alive()
        pipe.write(b"first\n  second  \r\n\n   \n")
        assert pipe.take(2) == ["first", "second"]
        pipe.write(b"par")
        pipe.until_drained()  # the reader has read "par" on its own
        pipe.write(b"tial\nnext\xff\xfe\n")
        # Had "par" been taken for a line, it would have come first.
        assert pipe.take(2) == ["partial", "next\ufffd\ufffd"]
    assert pipe.lines.empty()


def test_a_last_line_without_newline_is_delivered_at_eof(pipe: Pipe) -> None:
    reader = StdinPasteReader(pipe.lines.put, pipe.reader_end)
    assert reader.start()
    pipe.write(b"code#state")
    pipe.close_writer()
    assert pipe.take(1) == ["code#state"]
    reader.stop()


def test_after_stop_nothing_more_is_read(pipe: Pipe) -> None:
    reader = StdinPasteReader(pipe.lines.put, pipe.reader_end)
    assert reader.start()
    pipe.write(b"during\n")
    assert pipe.take(1) == ["during"]
    started = time.monotonic()
    reader.stop()
    assert time.monotonic() - started < 5
    assert reader._thread is not None and not reader._thread.is_alive()
    pipe.write(b"meant for the next prompt\n")
    # The reader thread has ended (above), so nothing can take the line any more;
    # it is still in the pipe for whoever reads stdin next.
    assert os.read(pipe.read_fd, 100) == b"meant for the next prompt\n"
    assert pipe.lines.empty()
    reader.stop()  # idempotent


def test_no_readable_stdin_means_no_reader() -> None:
    lines: list[str] = []
    assert StdinPasteReader(lines.append, io.StringIO("x\n")).start() is False
    closed = io.StringIO()
    closed.close()
    assert StdinPasteReader(lines.append, closed).start() is False
    StdinPasteReader(lines.append, io.StringIO()).stop()  # stop without start is fine
    assert lines == []


def test_the_line_reading_fallback() -> None:
    lines: list[str] = []
    reader = StdinPasteReader(lines.append, io.StringIO("one\n\n two \nthree"))
    reader._read_lines()
    assert lines == ["one", "two", "three"]
