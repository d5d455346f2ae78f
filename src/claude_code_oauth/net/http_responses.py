"""Turn Claude's HTTP answers into JSON objects or named, one-line errors.

Claude's endpoints answer in three shapes besides success: the RFC 6749 envelope
``{"error": "invalid_grant", "error_description": ...}``, Anthropic's envelope
``{"type": "error", "error": {"type": ..., "message": ...}}``, and HTML pages
from Cloudflare or a proxy. :func:`json_object_or_raise` maps each to an error
class that says what happened, and never echoes the request (which may hold a
code or token). Server-supplied text is shortened and kept to one line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..errors import (
    InvalidGrant,
    OAuthErrorResponse,
    RateLimited,
    ServerError,
    TokenEndpointError,
    UnexpectedResponse,
)

if TYPE_CHECKING:
    import httpx

_MAX_TEXT = 200


#: Anything shaped like an Anthropic token or key: blanked even when we did not send it.
TOKEN_SHAPE = r"sk-ant-[A-Za-z0-9]+-[A-Za-z0-9_\-]{6,}"


def one_line(text: object, secrets: Iterable[str] = (), limit: int = _MAX_TEXT) -> str:
    """Server text as one line of at most ``limit`` characters, with every secret we sent
    (and anything token-shaped) blanked out: servers have been seen echoing a request
    back in their error message."""
    import re

    value = " ".join(str(text).split())
    for secret in secrets:
        if secret:
            value = value.replace(secret, "[token]")
    value = re.sub(TOKEN_SHAPE, "[token]", value)
    return value if len(value) <= limit else value[: limit - 1] + "…"


#: The hosts (and their subdomains) whose addresses a server may send us to.
_ANTHROPIC_HOSTS = ("claude.ai", "claude.com", "anthropic.com")


def anthropic_url(value: object) -> str | None:
    """``value`` if it is an https address on one of Anthropic's own sites (claude.ai,
    claude.com, anthropic.com, or a subdomain), short, one line and without user or
    port; else ``None``. A server's ``error_uri`` or ``remediation_url`` is shown only
    then, so an answer cannot put someone else's link in front of the user."""
    from urllib.parse import urlsplit

    if not isinstance(value, str) or not 0 < len(value) <= 500 or not value.isprintable():
        return None
    if any(c.isspace() for c in value) or not value.isascii():
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        return None
    return value if any(host == h or host.endswith("." + h) for h in _ANTHROPIC_HOSTS) else None


def sent_secrets(request: Any) -> list[str]:
    """The credentials ``request`` carried (its Bearer token, its ``x-api-key``): what a
    server that echoes them back must not get into a message. Never raises."""
    try:
        headers = request.headers
        bearer = str(headers.get("authorization", ""))
        key = str(headers.get("x-api-key", "")).strip()
    except Exception:
        return []
    found = [bearer[7:].strip()] if bearer[:7].lower() == "bearer " else []
    return [s for s in (*found, key) if len(s) >= 8]


def _credentials_of(response: httpx.Response) -> list[str]:
    try:
        request = response.request
    except RuntimeError:  # a response built without a request
        return []
    return sent_secrets(request)


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        import math

        # "inf" or "1e999" would block refreshing for ever; "nan" compares as nothing.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def html_shaped(content_type: str, raw: bytes) -> bool:
    """Whether a body with this Content-Type and these first bytes is an HTML page."""
    head = raw[:200].lstrip().lower()
    return "html" in content_type.lower() or head.startswith((b"<!doctype html", b"<html"))


def looks_like_html(response: httpx.Response) -> bool:
    """Whether ``response`` (body read) is an HTML page rather than JSON."""
    return html_shaped(response.headers.get("content-type", ""), response.content)


def html_title(raw: bytes, secrets: Iterable[str] = (), limit: int = _MAX_TEXT) -> str | None:
    """The page's ``<title>`` as one short line (secrets blanked), if it has one."""
    import html
    import re

    match = re.search(rb"<title[^>]*>(.*?)</title>", raw[:4096], re.I | re.S)
    if not match:
        return None
    text = html.unescape(match.group(1).decode("utf-8", "replace"))
    return one_line(text, secrets, limit) or None


def _error_fields(body: Any, secrets: Iterable[str]) -> tuple[str | None, str | None]:
    """(error code, description) from either envelope, or (None, None)."""
    if not isinstance(body, dict):
        return None, None
    error = body.get("error")
    if isinstance(error, str):
        desc = body.get("error_description")
        return one_line(error, secrets), one_line(desc, secrets) if desc else None
    if isinstance(error, dict):
        kind = error.get("type")
        message = error.get("message")
        return (
            one_line(kind, secrets) if kind else "error",
            one_line(message, secrets) if message else None,
        )
    return None, None


def json_object_or_raise(
    response: httpx.Response, what: str, *, secrets: Iterable[str] = ()
) -> dict[str, Any]:
    """The response's JSON object on 2xx; otherwise raise a named error about ``what``.

    ``what`` names the endpoint for the message, for example ``"the token endpoint"``.
    ``secrets`` (the token, code or verifier just sent) and the credentials the
    request carried in its headers never appear in the message, even if the server
    echoes them.
    """
    secrets = [*secrets, *_credentials_of(response)]
    status = response.status_code
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("retry-after"))
        when = f" Retry after {retry_after:.0f} s." if retry_after is not None else ""
        raise RateLimited(
            f"{what} is rate limiting requests (HTTP 429).{when}", retry_after=retry_after
        )
    if looks_like_html(response):
        title = html_title(response.content, secrets)
        shown = f' "{title}"' if title else ""
        cloudflare = " (a Cloudflare challenge page)" if "moment" in (title or "").lower() else ""
        cls = ServerError if status >= 500 else UnexpectedResponse
        raise cls(
            f"{what} answered HTTP {status} with an HTML page{shown}{cloudflare} instead of JSON;"
            " the endpoint URL may be wrong or a proxy is in the way."
        )
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, RecursionError):  # RecursionError: nested too deeply to parse
        body = None
        if 200 <= status < 300:
            raise UnexpectedResponse(
                f"{what} answered HTTP {status} with a body that is not valid JSON."
            ) from None
    error, description = _error_fields(body, secrets)
    if status >= 500:
        detail = f": {error}" + (f" ({description})" if description else "") if error else ""
        raise ServerError(f"{what} failed with HTTP {status}{detail}; try again shortly.")
    if status >= 400:
        if error is None:
            raise TokenEndpointError(f"{what} answered HTTP {status} without an error message.")
        text = f"{what} refused the request: {error}"
        if description:
            text += f" ({description})"
        refusal = InvalidGrant if error == "invalid_grant" else OAuthErrorResponse
        raise refusal(text + ".", error=error, status=status)
    if not 200 <= status < 300:
        raise UnexpectedResponse(f"{what} answered with unexpected HTTP {status}.")
    if not isinstance(body, dict):
        raise UnexpectedResponse(f"{what} answered HTTP {status} with JSON that is not an object.")
    return body
