"""``assert_same_secret`` (tests/helpers/tokens.py): a mismatch fails without the secrets."""

from __future__ import annotations

import pytest

from helpers.tokens import assert_same_secret, digest

ONE = "sk-ant-oat01-" + "one-" * 8
TWO = "sk-ant-oat01-" + "two-" * 8


def test_equal_secrets_pass_and_unequal_ones_fail_showing_only_fingerprints() -> None:
    assert_same_secret(ONE, "sk-ant-oat01-" + "one-" * 8)
    assert_same_secret((ONE, None), (ONE, None), "the pair")
    with pytest.raises(AssertionError) as failed:
        assert_same_secret([ONE, TWO], [ONE, ONE], "the tokens sent")
    text = str(failed.value)
    assert "one-" not in text and "two-" not in text and "sk-ant" not in text
    assert text == (
        f"the tokens sent differs: [sha256:{digest(ONE)}, sha256:{digest(TWO)}] "
        f"!= [sha256:{digest(ONE)}, sha256:{digest(ONE)}]"
    )
