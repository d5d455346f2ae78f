"""Blocks as a terminal shows them (rich, in this process): URLs unbroken, styles per line."""

from __future__ import annotations

import io

from rich.console import Console

from claude_code_oauth.hosts.code_puppy.messages import Block, is_url_line

#: Tests of the adapter in pytest's own process: not once per Code Puppy release.
IN_THIS_PROCESS = True

URL = "https://claude.ai/oauth/authorize?" + "&".join(f"p{i}=value{i:03d}" for i in range(30))


def _render(block: Block, *, terminal: bool, width: int = 80) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=terminal, color_system=None)
    console.print(block)
    return out.getvalue()


def test_a_url_line_is_written_unbroken_on_a_terminal_at_any_width() -> None:
    assert len(URL) > 300
    block = Block([("info", "Open this URL:"), ("info", f"  {URL}"), ("warning", "Waiting.")])
    for width in (40, 80, 200):
        text = _render(block, terminal=True, width=width)
        assert f"  {URL}\n" in text, width
        assert text.index("Open this URL:") < text.index(URL) < text.index("Waiting.")
        # Other lines still wrap at the width.
        assert all(len(line) <= width for line in text.splitlines() if URL not in line)


def test_off_a_terminal_a_url_line_is_plain_text() -> None:
    text = _render(Block([("info", URL)]), terminal=False, width=80)
    assert text.replace("\n", "") == URL  # wrapped like any text, but there


def test_levels_plain_text_and_url_detection() -> None:
    block = Block([("info", "a"), ("warning", "b"), ("success", "c")])
    assert block.level == "warning"
    assert str(block) == block.plain == "a\nb\nc"
    assert not block.has_url
    assert Block([]).level == "info"
    assert is_url_line("  http://localhost:8765/callback?code=x  ")
    assert not is_url_line("Open http://localhost:8765/ now")
    assert not is_url_line("http://a b")
