"""Whether Claude's sign-in (authorize) page is still where the configuration says.

A login cannot see it: the browser shows Claude's 404 and the terminal only waits.
So a login that timed out asks once (:func:`sign_in_page_moved`), and ``doctor``
asks every time (:func:`fetch_sign_in_page`, :func:`moved_line`). A 404 or 410 is
"it has probably moved", naming the variable to set; any other answer — a page, a
redirect, a Cloudflare challenge — means the page is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import USER_AGENT
from ..net.claude_answers import host_of

if TYPE_CHECKING:
    import httpx

    from ..config import Settings


def names(console: bool) -> tuple[str, str]:
    """``(what, variable)``: how messages name the page, and the variable that sets it."""
    if console:
        return "The Console authorize endpoint", "CLAUDE_CODE_OAUTH_CONSOLE_AUTH_URL"
    return "The authorize endpoint", "CLAUDE_CODE_OAUTH_AUTH_URL"


def moved_fix(variable: str) -> str:
    """What to do about an endpoint that moved."""
    return (
        f"If Claude moved it, set {variable} to the current URL (docs/configuration.md lists them)."
    )


def moved_line(what: str, response: httpx.Response) -> str | None:
    """``… answered HTTP 404: it has probably moved.`` for a 404 or 410, else ``None``."""
    status = response.status_code
    if status not in (404, 410):
        return None
    host = host_of(str(response.request.url))
    return f"{what} ({host}) answered HTTP {status}: it has probably moved."


def fetch_sign_in_page(settings: Settings, *, console: bool = False) -> httpx.Response:
    """GET the sign-in page as a browser would ask for it (within ``http_timeout``; raises
    what :func:`~claude_code_oauth.net.http_client.fetch` raises)."""
    from ..net.http_client import fetch

    url = settings.console_auth_url if console else settings.auth_url
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html"}
    what, _ = names(console)
    return fetch("GET", url, what=what, timeout=settings.http_timeout, headers=headers)


def sign_in_page_moved(settings: Settings, *, console: bool = False) -> str | None:
    """One line when the sign-in page answers 404 or 410, naming the variable to set;
    ``None`` otherwise (including no answer). Never raises."""
    what, variable = names(console)
    try:
        line = moved_line(what, fetch_sign_in_page(settings, console=console))
    except Exception:
        return None
    return None if line is None else f"{line} {moved_fix(variable)}"
