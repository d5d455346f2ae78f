"""docs/configuration.md lists exactly the configuration keys the code has, each with
its environment variable and its default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from claude_code_oauth.config_rules import CLAUDE_CODE_OAUTH_CONFIG, env_name
from helpers.markdown import table_under

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def documented() -> dict[str, list[str]]:
    """The page's key table: key → [default cell, variable cell]."""
    rows = table_under(PAGE.read_text(encoding="utf-8"), "The keys")
    return {row[0].strip("`"): row[1:] for row in rows}


def shown(default: Any) -> str:
    """How the page writes a default: in backticks, a range as ``low-high``, whole
    seconds without ``.0``; an empty default is the word ``empty``."""
    if default == "":
        return "empty"
    if isinstance(default, tuple):
        default = "-".join(str(part) for part in default)
    elif isinstance(default, float) and default.is_integer():
        default = int(default)
    return f"`{default}`"


def test_the_page_lists_exactly_the_keys_in_the_code() -> None:
    page = documented()
    assert sorted(set(CLAUDE_CODE_OAUTH_CONFIG) - set(page)) == [], "in the code only"
    assert sorted(set(page) - set(CLAUDE_CODE_OAUTH_CONFIG)) == [], "on the page only"


def test_each_key_names_its_environment_variable() -> None:
    page = documented()
    assert {key: page[key][1] for key in page} == {
        key: f"`{env_name(key)}`" for key in CLAUDE_CODE_OAUTH_CONFIG
    }


def test_each_key_gives_the_default_the_code_has() -> None:
    page = documented()
    wrong = {
        key: (page[key][0], shown(default))
        for key, default in CLAUDE_CODE_OAUTH_CONFIG.items()
        if not page[key][0].startswith(shown(default))
    }
    assert wrong == {}
