"""What authenticates a request: which kind, which profile, equal only as a whole, never
shown."""

from __future__ import annotations

import pytest

from claude_code_oauth.tokens.credential import API_KEY, OAUTH, Credential

#: Not an issued secret: the suite's secret scan looks for those, not for this.
SECRET = "credential-test-secret"


def test_a_credential_is_equal_only_to_one_of_the_same_kind_secret_and_profile() -> None:
    credential = Credential(OAUTH, SECRET, "work")
    assert credential == Credential(OAUTH, SECRET, "work")
    assert credential != Credential(API_KEY, SECRET, "work")
    assert credential != Credential(OAUTH, SECRET + "x", "work")
    assert credential != Credential(OAUTH, SECRET, "home")
    assert credential != Credential(OAUTH, SECRET)
    assert credential != SECRET


def test_a_credential_says_its_kind_and_profile_never_its_secret() -> None:
    assert repr(Credential(API_KEY, SECRET, "work")) == "<Credential api_key profile='work'>"
    assert repr(Credential(OAUTH, SECRET)) == "<Credential oauth profile=None>"
    assert Credential(API_KEY, SECRET).is_api_key
    assert not Credential(OAUTH, SECRET).is_api_key


def test_a_credential_is_no_dictionary_key() -> None:
    """Equal credentials hold the same secret: keying anything by one would keep it."""
    with pytest.raises(TypeError):
        hash(Credential(OAUTH, SECRET))
