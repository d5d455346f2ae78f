"""The ``anthropic-beta`` merge: each beta once, order kept, never an identity beta."""

from __future__ import annotations

import httpx
import pytest

from claude_code_oauth.net.api_key_auth import apply_api_key_headers
from claude_code_oauth.net.bearer_auth import apply_oauth_headers
from claude_code_oauth.net.beta_header import merge_betas, merge_header, split_betas, without_beta

OAUTH = "oauth-2025-04-20"
IDENTITY = "claude-code-20250219"


@pytest.mark.parametrize(
    ("groups", "merged"),
    [
        ((), []),
        ((["a", "b"], ["b", "c"], ["a"]), ["a", "b", "c"]),  # no duplicates, first seen wins
        ((["c", "a"], ["b"]), ["c", "a", "b"]),  # order kept, not sorted
        (([" a ", "", "  "], ["a"]), ["a"]),  # blanks out, names stripped
        (([IDENTITY, "a"], [IDENTITY]), ["a"]),  # the identity beta never gets through
    ],
)
def test_merge_betas(groups: tuple[list[str], ...], merged: list[str]) -> None:
    assert merge_betas(*groups) == merged


def test_header_forms() -> None:
    assert split_betas(None) == [] and split_betas(" a,, b ,") == ["a", "b"]
    assert merge_header(f"x,{IDENTITY},{OAUTH}", OAUTH, "y") == f"x,{OAUTH},y"
    assert without_beta(f"{OAUTH}, {IDENTITY} ,z", OAUTH) == "z"


def test_auth_headers_drop_an_identity_beta_the_request_carried() -> None:
    carried = f"interleaved-thinking-2025-05-14,{IDENTITY},context-1m-2025-08-07"
    oauth = httpx.Headers({"anthropic-beta": carried})
    apply_oauth_headers(oauth, "t", version=None, beta=OAUTH)
    assert oauth["anthropic-beta"] == (
        f"interleaved-thinking-2025-05-14,context-1m-2025-08-07,{OAUTH}"
    )
    key = httpx.Headers({"anthropic-beta": f"{carried},{OAUTH}"})
    apply_api_key_headers(key, "k", version=None, oauth_beta=OAUTH)
    assert key["anthropic-beta"] == "interleaved-thinking-2025-05-14,context-1m-2025-08-07"
    only_identity = httpx.Headers({"anthropic-beta": IDENTITY})
    apply_api_key_headers(only_identity, "k", version=None, oauth_beta=OAUTH)
    assert "anthropic-beta" not in only_identity
