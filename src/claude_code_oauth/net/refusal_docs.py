"""The refusal table as the documentation shows it: :func:`markdown_table` renders
:func:`~.refusal_table.refusals` as a Markdown table whose "you see" column is each
row's example answer run through :func:`~.claude_answers.error_for_answer` (host
``api.anthropic.com``). ``python -m claude_code_oauth.net.refusal_docs`` prints it; a
test keeps ``docs/refusals-and-usage.md`` equal to it."""

from __future__ import annotations

from .claude_answers import read_answer
from .refusal_lines import Answer
from .refusal_table import Refusal, refusals

#: Where the documentation's copy starts and ends.
START = "<!-- refusal table: python -m claude_code_oauth.net.refusal_docs -->"
END = "<!-- end of the refusal table -->"


def example_answer(row: Refusal) -> Answer:
    """The row's example, read as :func:`~.claude_answers.error_for_answer` reads an
    answer from ``api.anthropic.com`` (every example is a refusal, never a success)."""
    example = row.example
    answer = read_answer(
        example.status,
        list(example.headers),
        example.body,
        host="api.anthropic.com",
        retried=example.retried,
        api_key=example.api_key,
    )
    assert answer is not None, f"the example of {row.answer!r} is a success"
    return answer


def you_see(row: Refusal) -> str:
    """The line (hint included) the row's example answer gets."""
    return str(row.error(example_answer(row)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table() -> str:
    """The table, between :data:`START` and :data:`END`, rows in the order tried."""
    lines = [
        START,
        "| Claude answers | error | you see (an example) | what the client does |",
        "|---|---|---|---|",
    ]
    for row in refusals():
        cells = (row.answer, row.errors, you_see(row), row.client_does)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    lines.append(END)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
