"""A scripted stand-in for a web browser, driving the emulator's consent page.

Use it as the browser Python's :mod:`webbrowser` launches::

    BROWSER="python -m claude_code_oauth.testing.scripted_browser %s"

It fetches the URL, follows redirects (a login's loopback start address
redirects to the authorize page), submits the consent form (Approve, or Deny
with ``--deny``; as the account ``--account EMAIL`` when the page offers a
choice of accounts, else the one checked), and delivers the authorization
response — the redirect that carries ``code`` or ``error`` to another origin —
to the application's loopback callback, asking for ``/favicon.ico`` on that
host first as browsers do.
Exit status 0 when the final page answered 2xx (with ``--no-follow-callback``:
when the redirect to the callback was reached). It never prints a URL, a code or
a query string: on failure it prints one line with the status and page title.

Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import Message
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

__all__ = ["BrowserError", "open_url"]

_MAX_HOPS = 10
_FAVICON_TIMEOUT = 2.0
_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) claude-code-oauth-scripted-browser/1"


class BrowserError(Exception):
    """The page could not be fetched at all; ``str()`` carries no URL."""


@dataclass
class _Page:
    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def location(self) -> str | None:
        target = self.headers.get("Location")
        return urljoin(self.url, target) if target and 300 <= self.status < 400 else None


@dataclass
class _Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, label
    #: Radio groups: name → every value offered (only a checked one is in ``fields``).
    choices: dict[str, list[str]] = field(default_factory=dict)


class _PageParser(HTMLParser):
    """Collects the title and every form's hidden fields and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.forms: list[_Form] = []
        self._in_title = False
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self.forms.append(_Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms and values.get("name"):
            kind = values.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1].buttons.append((values["name"], values.get("value", ""), ""))
            elif kind == "radio":
                form = self.forms[-1]
                form.choices.setdefault(values["name"], []).append(values.get("value", ""))
                if "checked" in values:
                    form.fields[values["name"]] = values.get("value", "")
            else:
                self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms:
            self._button = [values.get("name", ""), values.get("value", ""), ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "button" and self._button is not None and self.forms:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, label.strip()))
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._button is not None:
            self._button[2] += data


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Redirects are followed by hand so the callback hop can be told apart.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # No proxies: the emulator and the callback are on loopback, as a browser would reach them.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _fetch(
    opener: urllib.request.OpenerDirector,
    url: str,
    data: bytes | None = None,
    timeout: float = 30.0,
) -> _Page:
    headers = {"User-Agent": _USER_AGENT, "Accept": "text/html,*/*;q=0.8"}
    if data is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with opener.open(request, timeout=timeout) as response:
            return _Page(url, response.status, response.headers, response.read())
    except urllib.error.HTTPError as err:
        with err:
            return _Page(url, err.code, err.headers, err.read())
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        if isinstance(reason, str):
            text = "unsupported URL"  # urllib's text may quote the URL
        else:
            text = getattr(reason, "strerror", None) or type(reason).__name__
        raise BrowserError(f"could not load the page ({text})") from None
    except ValueError:
        # urllib's message would quote the URL, which may hold a code.
        raise BrowserError("the URL is not a valid http(s) URL") from None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _parse(page: _Page) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.body.decode("utf-8", "replace"))
    return parser


def _consent_submission(
    page: _Page, deny: bool, account: str | None = None
) -> tuple[str, bytes] | None:
    """The POST that clicks Approve (or Deny) on a consent page, if this is one,
    choosing ``account`` where the page offers a choice of accounts."""
    if not 200 <= page.status < 300:
        return None
    wanted = "deny" if deny else "approve"
    for form in _parse(page).forms:
        for name, value, label in form.buttons:
            if wanted in (value.lower(), label.lower()):
                fields = dict(form.fields)
                offered = form.choices.get("account")
                if account is not None and offered is not None:
                    if account not in offered:
                        raise BrowserError(f"the consent page offers no account {account!r}")
                    fields["account"] = account
                if name:
                    fields[name] = value
                return urljoin(page.url, form.action), urlencode(fields).encode()
    return None


def _is_authorization_response(url: str) -> bool:
    """A redirect carrying an OAuth response (``code`` or ``error``) back to the client.

    An authorization *request* (``response_type=...``, where Claude's also has
    ``code=true``) is not one: a login's loopback start address redirects there.
    """
    query = parse_qs(urlsplit(url).query)
    return ("code" in query or "error" in query) and "response_type" not in query


def _visit_callback(opener: urllib.request.OpenerDirector, url: str) -> _Page:
    scheme, netloc = _origin(url)
    # A browser asks for the icon too; the receiver must not take it for the callback.
    with contextlib.suppress(BrowserError):
        _fetch(opener, f"{scheme}://{netloc}/favicon.ico", timeout=_FAVICON_TIMEOUT)
    return _fetch(opener, url)


def _browse(url: str, deny: bool, follow_callback: bool, account: str | None = None) -> _Page:
    opener = _opener()
    page = _fetch(opener, url)
    consented = False
    for _ in range(_MAX_HOPS):
        target = page.location
        if target is not None:
            if _origin(target) != _origin(page.url) and _is_authorization_response(target):
                if not follow_callback:
                    return page
                return _visit_callback(opener, target)
            page = _fetch(opener, target)
            continue
        submission = None if consented else _consent_submission(page, deny, account)
        if submission is None:
            return page
        consented = True
        action, data = submission
        page = _fetch(opener, action, data)
    raise BrowserError("too many redirects")


def open_url(
    url: str, *, deny: bool = False, follow_callback: bool = True, account: str | None = None
) -> int:
    """Browse ``url`` like a user approving (or denying) the consent; the final HTTP status.

    ``account`` (an email) is the account to approve as when the consent page
    offers several; otherwise the page's checked account is used.

    With ``follow_callback=False`` the browser stops before visiting a redirect to
    another origin (the application's callback) and returns that redirect's status.
    Raises :class:`BrowserError` when a page cannot be fetched at all.
    """
    return _browse(url, deny, follow_callback, account).status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m claude_code_oauth.testing.scripted_browser",
        description="Approve (or deny) an OAuth consent like a user in a browser would.",
    )
    parser.add_argument("--deny", action="store_true", help="click Deny instead of Approve")
    parser.add_argument(
        "--no-follow-callback",
        action="store_true",
        help="stop before visiting the application's callback",
    )
    parser.add_argument(
        "--account", metavar="EMAIL", help="approve as this account when the page offers several"
    )
    parser.add_argument("url")
    args = parser.parse_args(argv)
    follow = not args.no_follow_callback
    try:
        page = _browse(args.url, args.deny, follow, args.account)
    except BrowserError as err:
        _say(f"scripted_browser: {err}")
        return 1
    if 200 <= page.status < 300 or (not follow and 300 <= page.status < 400):
        return 0
    title = " ".join(_parse(page).title.split())[:120]
    suffix = f" ({title})" if title else ""
    _say(f"scripted_browser: the final page answered HTTP {page.status}{suffix}")
    return 1


def _say(line: str) -> None:
    """One line on stderr in a single write: it shares stderr with the application."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
