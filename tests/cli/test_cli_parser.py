"""Bad usage of any command is one line on stderr and exit status 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import one_error_line, run_cli

pytestmark = pytest.mark.subprocess


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["status", "--bogus"], "unrecognized arguments: --bogus"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["login", "--timeout", "abc"], "argument --timeout: invalid float value: 'abc'"),
        (["profiles", "--profile", "work"], "unrecognized arguments: --profile work"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    client_env: dict[str, str], data_dir: Path, args: list[str], words: str
) -> None:
    done = run_cli(client_env, *args)
    assert done.returncode == 2 and done.stdout == ""
    line = one_error_line(done.stderr)
    assert words in line and line.endswith("--help`)")
    assert done.stderr.count("\n") == 1  # no usage block
    assert list(data_dir.iterdir()) == []  # nothing was started or written
