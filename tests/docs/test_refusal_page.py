"""The refusal table is one table: the code reads :func:`refusals`, the documentation
shows it rendered, and each row's example answer is decided by that row."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from claude_code_oauth.net.claude_answers import error_for_answer
from claude_code_oauth.net.refusal_docs import END, START, _cell, example_answer, markdown_table
from claude_code_oauth.net.refusal_table import refusals
from claude_code_oauth.testing.emulator import refusals as emulated

PAGE = Path(__file__).resolve().parents[2] / "docs" / "refusals-and-usage.md"


def test_the_page_shows_the_table_the_code_reads() -> None:
    text = PAGE.read_text(encoding="utf-8")
    shown = text[text.index(START) : text.index(END) + len(END)] + "\n"
    assert shown == markdown_table(), "run: python -m claude_code_oauth.net.refusal_docs"


@pytest.mark.parametrize("index", range(len(refusals())), ids=[r.answer[:40] for r in refusals()])
def test_each_example_is_decided_by_its_own_row(index: int) -> None:
    rows = refusals()
    row = rows[index]
    answer = example_answer(row)
    first = next(number for number, candidate in enumerate(rows) if candidate.matches(answer))
    assert first == index
    # The error class the row names first is the one its example gets, with the status
    # the column names, if it names one.
    named = re.findall(r"`(\w+)`", row.errors)[0]
    error = row.error(answer)
    assert type(error).__name__ == named
    status = re.search(r"\(status (\d+)\)", row.errors)
    assert status is None or error.status == int(status[1])


@pytest.mark.parametrize("code", sorted(emulated.CODED))
def test_each_coded_answer_of_the_emulator_has_its_row(code: str) -> None:
    status, kind, error_code, message, user_facing = emulated.CODED[code]
    details = {"error_code": error_code}
    if user_facing:
        details["error_visibility"] = "user_facing"
    body = {"type": "error", "error": {"type": kind, "message": message, "details": details}}
    error = error_for_answer(status, {}, body, host="h")
    assert error is not None and error.error_code == error_code
    assert any(f"`error_code: {error_code}`" in row.answer for row in refusals())


def test_a_successful_answer_is_no_refusal() -> None:
    assert error_for_answer(200, {}, b'{"content": []}', host="h") is None


def test_a_pipe_in_a_cell_does_not_split_the_row() -> None:
    """Markdown ends a cell at ``|``: one in a row's text (a shell pipe, ``a | b``) is
    escaped, so the page keeps four columns."""
    assert _cell("401 | 403 `a|b`") == "401 \\| 403 `a\\|b`"


def test_each_coded_example_is_the_answer_the_emulator_gives() -> None:
    """A coded row's example is, but for its wording, the body our model of Claude (the
    emulator) answers with for that code: status, envelope, error type, details."""
    examples = {}
    for row in refusals():
        answer = example_answer(row)
        if answer.code is not None:
            examples[answer.code] = row.example
    for name, (_status, _kind, code, _message, _user_facing) in emulated.CODED.items():
        modelled = emulated.refusal_response(name, {}, None, 0.0)
        assert modelled is not None
        body = json.loads(modelled.body)
        example = examples[code]
        body["error"]["message"] = example.body["error"]["message"]
        assert (example.status, example.body) == (modelled.status, body), name
