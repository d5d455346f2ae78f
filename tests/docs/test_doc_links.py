"""The documentation holds together: every relative link lands on a file and, for
``#anchor``, on a heading of it; the README links every page of ``docs/``; each page
opens with what it covers; code that names a page names one that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.markdown import anchors, headings, is_relative, links

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
DOCUMENTS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *PAGES]


def broken_links(document: Path) -> list[str]:
    """Each relative link of ``document`` that lands nowhere, with why."""
    broken = []
    for target in links(document.read_text(encoding="utf-8")):
        if not is_relative(target):
            continue
        path_part, _, fragment = target.partition("#")
        landing = (document.parent / path_part).resolve() if path_part else document
        if not landing.exists():
            broken.append(f"{target}: no file {landing}")
        elif fragment and landing.suffix == ".md" and fragment not in anchors(landing):
            broken.append(f"{target}: no heading #{fragment} in {landing.name}")
    return broken


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document: Path) -> None:
    assert broken_links(document) == []


def test_a_link_to_a_missing_heading_or_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text("# A page\n\n## Its part\n", encoding="utf-8")
    document = tmp_path / "doc.md"
    document.write_text(
        "# Doc\n\n[ok](page.md#its-part) [self](#doc) [web](https://example.com/x.md)\n"
        "[gone](page.md#other) [nothing](absent.md) `[code](absent.md)`\n",
        encoding="utf-8",
    )
    assert broken_links(document) == [
        "page.md#other: no heading #other in page.md",
        f"absent.md: no file {tmp_path / 'absent.md'}",
    ]


def test_the_readme_links_every_page_of_docs() -> None:
    linked = {
        (ROOT / target.partition("#")[0]).resolve()
        for target in links((ROOT / "README.md").read_text(encoding="utf-8"))
        if is_relative(target)
    }
    assert [page.name for page in PAGES if page not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_each_page_opens_with_a_sentence_on_what_it_covers(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# "), "a page starts with its title"
    body = text.split("\n", 1)[1].lstrip("\n")
    opening = body.split("\n\n", 1)[0]
    assert re.match(r"[A-Z]", opening), f"not prose: {opening[:60]!r}"
    assert opening.endswith("."), f"not one sentence: {opening[:60]!r}"


def test_the_readme_is_for_users_and_opens_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    assert headings(text)[0] == "claude-code-oauth"


def test_code_names_only_pages_that_exist() -> None:
    sources = [
        *ROOT.glob("src/**/*.py"),
        *ROOT.glob("benchmarks/*.py"),
        *ROOT.glob("tests/**/*.py"),
        ROOT / "pyproject.toml",
        ROOT / "Makefile",
    ]
    named = {
        (source.relative_to(ROOT), name)
        for source in sources
        for name in re.findall(r"\bdocs/[\w.-]+\.md\b", source.read_text(encoding="utf-8"))
    }
    assert named, "the code names some page (the test would prove nothing otherwise)"
    assert sorted((str(s), n) for s, n in named if not (ROOT / n).exists()) == []
