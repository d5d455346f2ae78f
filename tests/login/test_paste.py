"""parse_paste: CODE#STATE and callback URLs, with examples and Hypothesis properties."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_code_oauth.errors import LoginError, PasteError
from claude_code_oauth.login import pkce
from claude_code_oauth.login.paste import PastedResponse, parse_paste

STATE = pkce.new_state()
LOOPBACK = "http://localhost:8765/callback"
MANUAL = "https://platform.claude.com/oauth/code/callback"


def parse(text: str, state: str = STATE) -> PastedResponse:
    return parse_paste(
        text, expected_state=state, loopback_redirect_uri=LOOPBACK, manual_redirect_uri=MANUAL
    )


def refused(text: str, state: str = STATE) -> str:
    with pytest.raises(PasteError) as info:
        parse(text, state)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- examples ------------------------------------------------------------------------


def test_code_hash_state_is_exchanged_with_the_manual_redirect() -> None:
    pasted = parse(f"abcDEF123-_.~#{STATE}")
    assert (pasted.code, pasted.error, pasted.redirect_uri, pasted.via) == (
        "abcDEF123-_.~",
        None,
        MANUAL,
        "manual",
    )
    assert "abcDEF" not in repr(pasted)


@pytest.mark.parametrize(
    "wrapper", ["  {}  ", "\t{}\r\n", '"{}"', "'{}'", "<{}>", "`{}`", " \"'{}'\" "]
)
def test_surrounding_whitespace_and_quotes_are_ignored(wrapper: str) -> None:
    assert parse(wrapper.format(f"the-code#{STATE}")).code == "the-code"
    url = f"{LOOPBACK}?" + urlencode({"code": "c", "state": STATE})
    assert parse(wrapper.format(url)).via == "loopback"


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8765/callback",
        "http://LOCALHOST:8765/callback/",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "HTTP://localhost:8765/callback",
    ],
)
def test_a_loopback_callback_url_is_exchanged_with_the_authorize_redirect(url: str) -> None:
    pasted = parse(url + "?" + urlencode({"code": "loop-code", "state": STATE}))
    assert pasted.code == "loop-code"
    assert pasted.redirect_uri == LOOPBACK  # byte-identical to the authorize one
    assert pasted.via == "loopback"


def test_the_manual_page_url_is_exchanged_with_the_manual_redirect() -> None:
    pasted = parse(MANUAL + "?" + urlencode({"code": "m", "state": STATE}))
    assert (pasted.code, pasted.redirect_uri, pasted.via) == ("m", MANUAL, "manual")


def test_an_error_url_with_the_right_state_is_an_error_response() -> None:
    query = urlencode({"error": "access_denied", "error_description": "nope", "state": STATE})
    pasted = parse(f"{LOOPBACK}?{query}")
    assert (pasted.code, pasted.error, pasted.error_description) == (None, "access_denied", "nope")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Nothing was pasted"),
        ("   \n ", "Nothing was pasted"),
        ("justacode", "neither CODE#STATE nor a callback URL"),
        ("a#b#c", "neither CODE#STATE nor a callback URL"),
        ("the code#STATE", "neither CODE#STATE nor a callback URL"),
        ("#STATE", "no code"),
        ("code#", "no state"),
        ("code#wrong-state", "different login attempt"),
        ("code#caf\u00e9", "different login attempt"),
        ("code#\udcff", "different login attempt"),  # undecodable terminal input
        ("http://localhost:9999/callback?code=c&state=STATE", "not this login's callback"),
        ("https://localhost:8765/callback?code=c&state=STATE", "not this login's callback"),
        ("http://evil.example:8765/callback?code=c&state=STATE", "not this login's callback"),
        ("http://localhost:8765/other?code=c&state=STATE", "not this login's callback"),
        ("http://localhost:99999/callback?code=c&state=STATE", "not a valid URL"),
        ("http://[::1/callback?code=c&state=STATE", "not a valid URL"),
        ("http://localhost:8765/callback?code=c", "no state"),
        ("http://localhost:8765/callback?code=c&state=nope", "different login attempt"),
        ("http://localhost:8765/callback?state=STATE", "neither a code nor an error"),
        ("http://localhost:8765/callback?code=c&code=d&state=STATE", "repeats the parameter"),
        ("http://localhost:8765/callback?code=c&state=STATE&state=STATE", "repeats"),
        ("http://127.0.0.\u00b2:8765/callback?code=c&state=STATE", "not this login's callback"),
    ],
)
def test_refusals_name_the_problem(text: str, fragment: str) -> None:
    assert fragment in refused(text.replace("STATE", STATE))


def test_a_refusal_never_repeats_the_pasted_code() -> None:
    code = "Zq8fSecretCodeValue1234"
    for text in (f"{code}#wrong", f"{code}#", f"{code} x#{STATE}", f"{LOOPBACK}9?code={code}"):
        assert code not in refused(text)


def test_paste_error_is_a_login_error() -> None:
    assert issubclass(PasteError, LoginError)


# -- properties ----------------------------------------------------------------------

URL_SAFE = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~", min_size=1
)
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(), st.characters(categories=["Cs"])))
QUOTES = st.text(alphabet=" \t\r\n\"'<>`", max_size=4)
PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(code=URL_SAFE, state=URL_SAFE, left=QUOTES, right=QUOTES)
def test_property_code_hash_state_round_trips(code: str, state: str, left: str, right: str) -> None:
    pasted = parse(f"{left}{code}#{state}{right}", state)
    assert (pasted.code, pasted.redirect_uri, pasted.via) == (code, MANUAL, "manual")


@PROPERTY
@given(
    code=st.one_of(URL_SAFE, st.text(min_size=1)),
    state=st.one_of(URL_SAFE, st.text(min_size=1)),
    host=st.sampled_from(["localhost", "127.0.0.1", "[::1]"]),
    manual=st.booleans(),
    left=QUOTES,
    right=QUOTES,
)
def test_property_urls_round_trip_any_text(
    code: str, state: str, host: str, manual: bool, left: str, right: str
) -> None:
    base = MANUAL if manual else f"http://{host}:8765/callback"
    pasted = parse(left + base + "?" + urlencode({"code": code, "state": state}) + right, state)
    assert pasted.code == code
    assert pasted.redirect_uri == (MANUAL if manual else LOOPBACK)


@PROPERTY
@given(text=ANY_TEXT)
def test_property_arbitrary_text_only_ever_raises_paste_error(text: str) -> None:
    try:
        pasted = parse(text)
    except PasteError:
        return
    # Random text can only be accepted if it carried this login's state.
    assert STATE in text, "accepted a paste without the expected state"
    assert pasted.code or pasted.error


@PROPERTY
@given(code=URL_SAFE, wrong=st.one_of(URL_SAFE, ANY_TEXT), as_url=st.booleans())
def test_property_a_wrong_state_is_always_refused(code: str, wrong: str, as_url: bool) -> None:
    if wrong == STATE:
        return
    if as_url:
        text = LOOPBACK + "?" + urlencode({"code": code, "state": wrong}, errors="surrogatepass")
    else:
        text = f"{code}#{wrong}"
    with pytest.raises(PasteError):
        parse(text)
