"""Parse what a user pastes instead of waiting for the browser callback.

Two shapes are accepted (surrounding whitespace, quotes and ``<>`` ignored):

* ``CODE#STATE`` — shown by Claude's manual redirect page; exchanged with the
  manual ``redirect_uri``.
* A full callback URL — ``http://localhost:PORT/callback?code=...&state=...``
  copied from the browser's address bar (exchanged with the loopback
  ``redirect_uri``), or the manual page's own URL (manual ``redirect_uri``).

The state must match this login. Every failure is a :class:`PasteError` whose
message never repeats the pasted text (it holds a code).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qsl, urlsplit

from ..config_rules import is_loopback_host
from ..errors import PasteError

_STRIP = " \t\r\n\"'<>`"


class PastedResponse:
    """An authorization response taken from a paste."""

    __slots__ = ("code", "error", "error_description", "redirect_uri", "via")

    def __init__(
        self,
        *,
        code: str | None,
        error: str | None,
        error_description: str | None,
        redirect_uri: str,
        via: str,
    ) -> None:
        self.code = code
        self.error = error
        self.error_description = error_description
        #: The redirect_uri the code was issued for (use it in the exchange).
        self.redirect_uri = redirect_uri
        #: ``"manual"`` or ``"loopback"``.
        self.via = via

    def __repr__(self) -> str:  # never show the code
        return f"<PastedResponse via={self.via} error={self.error!r}>"


def _same_endpoint(candidate: str, reference: str, *, any_loopback_host: bool = False) -> bool:
    """Same scheme, host, port and path; with ``any_loopback_host``, any loopback
    host matches (a browser may show ``127.0.0.1`` for ``localhost``)."""
    a, b = urlsplit(candidate), urlsplit(reference)
    try:
        ports_equal = a.port == b.port
    except ValueError:
        return False
    host_a, host_b = a.hostname or "", b.hostname or ""
    hosts_equal = host_a == host_b or (
        any_loopback_host and is_loopback_host(host_a) and is_loopback_host(host_b)
    )
    return (
        a.scheme.lower() == b.scheme.lower()
        and hosts_equal
        and ports_equal
        and a.path.rstrip("/") == b.path.rstrip("/")
    )


def _check_state(state: str, expected: str) -> None:
    if not state:
        raise PasteError(
            "The pasted text has no state.",
            hint="Paste the whole CODE#STATE string, including the part after '#'.",
        )
    # surrogatepass: a lone surrogate (undecodable terminal input) must not raise here.
    if not hmac.compare_digest(
        state.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    ):
        raise PasteError(
            "The pasted text belongs to a different login attempt (its state does not match).",
            hint="Use the link printed most recently, then paste what it shows.",
        )


def parse_paste(
    text: str,
    *,
    expected_state: str,
    loopback_redirect_uri: str,
    manual_redirect_uri: str,
) -> PastedResponse:
    """Parse ``text``; raise :class:`PasteError` if it is not a response for this login."""
    value = text.strip(_STRIP)
    if not value:
        raise PasteError("Nothing was pasted.")
    if value.lower().startswith(("http://", "https://")):
        return _parse_url(value, expected_state, loopback_redirect_uri, manual_redirect_uri)
    if any(c.isspace() for c in value) or value.count("#") != 1:
        raise PasteError(
            "That is neither CODE#STATE nor a callback URL.",
            hint="Paste the code shown on the sign-in page (it contains one '#'), or the full "
            "http://localhost:.../callback?... address from the browser.",
        )
    code, _, state = value.partition("#")
    if not code:
        raise PasteError("The pasted text has no code before the '#'.")
    _check_state(state, expected_state)
    return PastedResponse(
        code=code,
        error=None,
        error_description=None,
        redirect_uri=manual_redirect_uri,
        via="manual",
    )


def _parse_url(
    value: str, expected_state: str, loopback_redirect_uri: str, manual_redirect_uri: str
) -> PastedResponse:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise PasteError("The pasted URL is not a valid URL.") from None
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if _same_endpoint(base, loopback_redirect_uri, any_loopback_host=True):
        redirect_uri, via = loopback_redirect_uri, "loopback"
    elif _same_endpoint(base, manual_redirect_uri):
        redirect_uri, via = manual_redirect_uri, "manual"
    else:
        raise PasteError(
            "The pasted URL is not this login's callback address.",
            hint=f"Expected {loopback_redirect_uri}?code=...&state=... "
            "(an older login may have used another port).",
        )
    params: dict[str, str] = {}
    for name, item in parse_qsl(parts.query, keep_blank_values=True):
        if name in params:
            raise PasteError(f"The pasted URL repeats the parameter {name!r}.")
        params[name] = item
    _check_state(params.get("state", ""), expected_state)
    code = params.get("code") or None
    error = params.get("error") or None
    if not code and not error:
        raise PasteError("The pasted URL has neither a code nor an error.")
    return PastedResponse(
        code=code,
        error=error,
        error_description=params.get("error_description") or None,
        redirect_uri=redirect_uri,
        via=via,
    )
