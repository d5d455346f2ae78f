import base64
import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claude_code_oauth.login import pkce


def test_rfc7636_appendix_b_vector() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize("make", [pkce.new_verifier, pkce.new_state])
def test_fresh_values_are_43_chars_of_256_bits_and_unique(make) -> None:
    values = {make() for _ in range(200)}
    assert len(values) == 200
    for value in values:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
        assert len(base64.urlsafe_b64decode(value + "=")) == 32


def test_challenge_of_fresh_verifier_is_unpadded_sha256() -> None:
    verifier = pkce.new_verifier()
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert pkce.s256_challenge(verifier) == expected
    assert "=" not in pkce.s256_challenge(verifier)


@pytest.mark.parametrize("bad", ["", "short", "x" * 42, "x" * 129, "a" * 42 + "!", "é" * 50])
def test_rejects_verifiers_outside_rfc_alphabet_or_length(bad) -> None:
    with pytest.raises(ValueError):
        pkce.s256_challenge(bad)


@given(st.text(alphabet="ABCxyz019-._~", min_size=43, max_size=128))
def test_any_valid_verifier_gives_43_char_challenge(verifier) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", pkce.s256_challenge(verifier))


def test_verifier_and_state_come_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CSPRNG, not `random`: replacing secrets.token_bytes must change both values."""
    asked: list[int] = []

    def fixed(count: int) -> bytes:
        asked.append(count)
        return bytes(range(count))

    monkeypatch.setattr(pkce.secrets, "token_bytes", fixed)
    expected = base64.urlsafe_b64encode(bytes(range(32))).rstrip(b"=").decode()
    assert pkce.new_verifier() == expected
    assert pkce.new_state() == expected
    assert asked == [32, 32]


def test_the_login_flow_draws_its_verifier_and_state_from_pkce(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from claude_code_oauth.config import Settings
    from claude_code_oauth.login.flow import LoginFlow

    drawn = iter([b"\x01" * 32, b"\x02" * 32])
    monkeypatch.setattr(pkce.secrets, "token_bytes", lambda count: next(drawn))
    flow = LoginFlow(Settings(environ={}), timeout=5)
    assert flow._verifier == base64.urlsafe_b64encode(b"\x01" * 32).rstrip(b"=").decode()
    assert flow._state == base64.urlsafe_b64encode(b"\x02" * 32).rstrip(b"=").decode()
