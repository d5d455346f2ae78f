"""json_object_or_raise and retry_after_seconds on constructed responses (no network)."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claude_code_oauth.errors import (
    InvalidGrant,
    OAuthErrorResponse,
    RateLimited,
    ServerError,
    TokenEndpointError,
    UnexpectedResponse,
)
from claude_code_oauth.net.http_responses import (
    anthropic_url,
    html_shaped,
    html_title,
    json_object_or_raise,
    one_line,
    retry_after_seconds,
    sent_secrets,
)

WHAT = "The token endpoint (example.test)"


def response(status: int, body: object = b"", **headers: str) -> httpx.Response:
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        headers.setdefault("content-type", "application/json")
    assert isinstance(body, bytes)
    return httpx.Response(status, content=body, headers=headers)


def raised(resp: httpx.Response) -> TokenEndpointError:
    with pytest.raises(TokenEndpointError) as info:
        json_object_or_raise(resp, WHAT)
    message = str(info.value)
    assert "\n" not in message and message.startswith(WHAT)
    return info.value


def test_a_json_object_on_2xx_is_returned() -> None:
    assert json_object_or_raise(response(200, {"a": 1}), WHAT) == {"a": 1}
    assert json_object_or_raise(response(201, b'{"b": [2]}'), WHAT) == {"b": [2]}


def test_oauth_envelope() -> None:
    err = raised(response(400, {"error": "invalid_grant", "error_description": "Spent\n token"}))
    assert isinstance(err, InvalidGrant)
    assert (err.error, err.status) == ("invalid_grant", 400)
    assert str(err) == f"{WHAT} refused the request: invalid_grant (Spent token)."


def test_anthropic_envelope() -> None:
    body = {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "Invalid request format"},
    }
    err = raised(response(400, body))
    assert type(err) is OAuthErrorResponse
    assert err.error == "invalid_request_error"
    assert "invalid_request_error (Invalid request format)" in str(err)
    bare = raised(response(403, {"type": "error", "error": {}}))
    assert isinstance(bare, OAuthErrorResponse) and bare.error == "error"


def test_other_oauth_errors_are_not_invalid_grant() -> None:
    err = raised(response(401, {"error": "invalid_client"}))
    assert type(err) is OAuthErrorResponse and str(err).endswith("invalid_client.")


def test_cloudflare_challenge_page() -> None:
    page = b"<!DOCTYPE html><html><head><title>Just a moment...</title></head></html>"
    err = raised(response(403, page, **{"content-type": "text/html; charset=UTF-8"}))
    assert type(err) is UnexpectedResponse
    assert '"Just a moment..." (a Cloudflare challenge page)' in str(err)
    assert "HTTP 403" in str(err)


def test_html_is_recognised_without_a_content_type_and_titles_are_unescaped() -> None:
    err = raised(response(502, b"  <html><title>Bad &amp; Gateway</title></html>"))
    assert isinstance(err, ServerError) and '"Bad & Gateway"' in str(err)
    untitled = raised(response(200, b"<!doctype html><p>hi</p>"))
    assert isinstance(untitled, UnexpectedResponse) and "HTML page instead of JSON" in str(untitled)


def test_server_errors() -> None:
    err = raised(response(500, {"type": "error", "error": {"type": "api_error", "message": "x"}}))
    assert isinstance(err, ServerError) and "HTTP 500: api_error (x)" in str(err)
    plain = raised(response(503, b"Service Unavailable"))
    assert isinstance(plain, ServerError) and "HTTP 503;" in str(plain)


def test_bodies_that_are_not_a_json_object() -> None:
    assert "not valid JSON" in str(raised(response(200, b'{"trunc')))
    assert "not an object" in str(raised(response(200, [1, 2])))
    assert "not an object" in str(raised(response(200, b"")))
    assert "without an error message" in str(raised(response(404, b"nope")))
    assert "unexpected HTTP 304" in str(raised(response(304)))


def test_long_server_text_is_shortened() -> None:
    err = raised(response(400, {"error": "x", "error_description": "word " * 200}))
    assert len(str(err)) < 300 and "…" in str(err)


def test_rate_limits() -> None:
    err = raised(response(429, {"error": "rate"}, **{"retry-after": "12"}))
    assert isinstance(err, RateLimited) and err.retry_after == 12
    assert "Retry after 12 s" in str(err)
    none = raised(response(429, b"<html>slow down</html>"))
    assert isinstance(none, RateLimited) and none.retry_after is None


def test_retry_after_seconds() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("") is None
    assert retry_after_seconds("garbage") is None
    assert retry_after_seconds(" 7 ") == 7
    assert retry_after_seconds("-5") == 0
    assert retry_after_seconds("1.5") == 1.5
    for nonsense in ("inf", "-inf", "1e999", "nan"):
        assert retry_after_seconds(nonsense) is None, nonsense
    later = retry_after_seconds(formatdate(time.time() + 120, usegmt=True))
    assert later is not None and 110 <= later <= 121
    assert retry_after_seconds(formatdate(time.time() - 120, usegmt=True)) == 0


@settings(max_examples=300, deadline=None)
@given(
    status=st.integers(min_value=100, max_value=599),
    body=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
            max_leaves=10,
        ).map(lambda value: json.dumps(value).encode()),
        st.dictionaries(
            st.sampled_from(["error", "error_description", "type", "message"]),
            st.one_of(st.text(max_size=50), st.dictionaries(st.text(max_size=8), st.text())),
        ).map(lambda value: json.dumps(value).encode()),
    ),
    content_type=st.sampled_from(["application/json", "text/html", "text/plain", ""]),
    retry_after=st.one_of(st.none(), st.text(max_size=30)),
)
def test_property_any_answer_is_a_dict_or_a_named_one_line_error(
    status: int, body: bytes, content_type: str, retry_after: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    if retry_after is not None and retry_after.isprintable() and retry_after.isascii():
        headers["retry-after"] = retry_after
    try:
        result = json_object_or_raise(httpx.Response(status, content=body, headers=headers), WHAT)
    except TokenEndpointError as err:
        assert "\n" not in str(err) and str(err).startswith(WHAT)
        return
    assert 200 <= status < 300 and isinstance(result, dict)


@pytest.mark.parametrize(
    "value",
    [
        "https://claude.ai/settings",
        "https://claude.com/x",
        "https://docs.anthropic.com/en/api/errors",
        "https://console.anthropic.com/settings/billing",
        "https://claude.ai/" + "a" * (500 - len("https://claude.ai/")),  # 500: the longest
    ],
)
def test_an_https_address_on_anthropics_own_sites_is_shown(value: str) -> None:
    assert anthropic_url(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        42,
        "",
        "https://claude.ai/" + "a" * (501 - len("https://claude.ai/")),  # one too long
        "http://claude.ai/x",  # not https
        "https://claude.ai:8443/x",  # a port
        "https://user@claude.ai/x",  # a user
        "https://:secret@claude.ai/x",  # a password without a user
        "https://claude.ai/a b",  # a space
        "https://claude.ai/\x7f",  # not printable
        "https://claude.ai/é",  # not ASCII
        "https://claude.ai:x/",  # a port that is no number
        "https://evil.test/claude.ai",
        "https://notclaude.ai/x",  # ends with the name, not a subdomain of it
        "https://claude.ai.evil.test/x",
        "https:///claude.ai",  # no host
    ],
)
def test_any_other_address_is_not_shown(value: object) -> None:
    assert anthropic_url(value) is None


def test_an_html_pages_title_in_any_case_over_several_lines_is_one_line() -> None:
    assert html_title(b"<HTML><TITLE lang=en>Bad\n  Gateway</TITLE></HTML>") == "Bad Gateway"
    assert html_title(b"<title> </title>") is None
    assert html_title(b"<html><p>no title</p></html>") is None


def test_a_title_that_is_not_utf8_is_shown_with_replacement_characters() -> None:
    assert html_title(b"<title>caf\xc3\xa9 \xff\xfe</title>") == "caf\u00e9 \ufffd\ufffd"


def test_a_title_is_looked_for_in_the_pages_first_4_kib_only() -> None:
    tag = b"<title>Late</title>"
    assert html_title(b" " * (4096 - len(tag)) + tag) == "Late"
    assert html_title(b" " * (4097 - len(tag)) + tag) is None


def test_a_long_title_is_cut_to_the_callers_limit() -> None:
    page = b"<title>" + b"a" * 300 + b"</title>"
    assert html_title(page, limit=20) == "a" * 19 + "\u2026"
    assert html_title(page) == "a" * 199 + "\u2026"


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            response(429, {"error": "rate"}, **{"retry-after": "12"}),
            "is rate limiting requests (HTTP 429). Retry after 12 s.",
        ),
        (response(429, b""), "is rate limiting requests (HTTP 429)."),
        (
            response(403, b"Access denied", **{"content-type": "text/html"}),
            "answered HTTP 403 with an HTML page instead of JSON; the endpoint URL may be "
            "wrong or a proxy is in the way.",
        ),
        (
            response(500, b"<html><title>Oops</title></html>"),
            'answered HTTP 500 with an HTML page "Oops" instead of JSON; the endpoint URL may '
            "be wrong or a proxy is in the way.",
        ),
        (
            response(503, {"type": "error", "error": {"type": "overloaded_error"}}),
            "failed with HTTP 503: overloaded_error; try again shortly.",
        ),
        (response(502, b""), "failed with HTTP 502; try again shortly."),
        (response(404, b"nope"), "answered HTTP 404 without an error message."),
        (
            response(400, {"error": "invalid_scope"}),
            "refused the request: invalid_scope.",
        ),
        (response(300, {"a": 1}), "answered with unexpected HTTP 300."),
        (response(300, b"{nope"), "answered with unexpected HTTP 300."),
        (response(200, b"{nope"), "answered HTTP 200 with a body that is not valid JSON."),
        (response(200, [1]), "answered HTTP 200 with JSON that is not an object."),
    ],
)
def test_each_answer_is_named_word_for_word(answer: httpx.Response, message: str) -> None:
    error = raised(answer)
    assert str(error) == f"{WHAT} {message}"
    assert isinstance(error, ServerError) == (answer.status_code >= 500)


def test_an_html_page_is_told_by_its_first_200_bytes() -> None:
    assert html_shaped("", b" " * 195 + b"<html>")
    assert not html_shaped("", b" " * 196 + b"<html>")
    assert html_shaped("Text/HTML; charset=utf-8", b"Access denied")


def test_server_text_is_one_line_of_at_most_the_limit() -> None:
    assert one_line("a\n b\t c") == "a b c"
    assert one_line("x" * 200) == "x" * 200
    assert one_line("x" * 201) == "x" * 199 + "\u2026"
    assert one_line("word " * 10, limit=8) == "word wo\u2026"


def test_secrets_sent_and_token_shapes_are_blanked_from_server_text() -> None:
    echoed = "you sent Bearer abcdefgh12 and sk-ant-oat01-AAAAAAAAAA"
    assert one_line(echoed, ["abcdefgh12"]) == "you sent Bearer [token] and [token]"
    assert one_line("empty secrets blank nothing", ["", ""]) == "empty secrets blank nothing"


def test_the_credentials_a_request_carried_are_its_secrets() -> None:
    request = httpx.Request(
        "GET",
        "http://example.test/",
        headers={"Authorization": "bearer  abcdefgh ", "x-api-key": " k" * 5},
    )
    assert sent_secrets(request) == ["abcdefgh", "k k k k k"]
    short = httpx.Request(
        "GET", "http://example.test/", headers={"Authorization": "Bearer 1234567"}
    )
    assert sent_secrets(short) == []  # under 8 characters: no credential of ours
    assert (
        sent_secrets(
            httpx.Request(
                "GET", "http://example.test/", headers={"Authorization": "Basic abcdefghij"}
            )
        )
        == []
    )
    assert sent_secrets(object()) == []


SENT = "verifier-0123456789"


@pytest.mark.parametrize(
    "answer",
    [
        response(400, {"error": f"bad_{SENT}", "error_description": f"{SENT} was wrong"}),
        response(403, {"type": "error", "error": {"type": f"t_{SENT}", "message": f"echo {SENT}"}}),
        response(500, {"type": "error", "error": {"type": f"t_{SENT}", "message": f"{SENT}"}}),
        response(502, f"<html><title>proxy saw {SENT}</title></html>".encode()),
    ],
    ids=["oauth", "anthropic", "server", "html"],
)
def test_a_secret_we_sent_never_appears_whatever_field_echoes_it(answer: httpx.Response) -> None:
    with pytest.raises(TokenEndpointError) as caught:
        json_object_or_raise(answer, WHAT, secrets=[SENT])
    assert SENT not in str(caught.value) and "[token]" in str(caught.value)
    if answer.status_code < 500:
        assert SENT not in str(getattr(caught.value, "error", ""))


def test_the_credential_the_request_carried_is_blanked_too() -> None:
    request = httpx.Request(
        "POST", "https://example.test/", headers={"Authorization": f"Bearer {SENT}"}
    )
    answer = httpx.Response(
        401, json={"error": "invalid_token", "error_description": SENT}, request=request
    )
    with pytest.raises(OAuthErrorResponse) as caught:
        json_object_or_raise(answer, WHAT)
    assert str(caught.value) == f"{WHAT} refused the request: invalid_token ([token])."
