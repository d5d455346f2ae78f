"""Revoking a login at Claude's token endpoint, as Claude Code's logout does.

:func:`revoke_login` posts ``{token_url}/revoke`` as JSON ``{"token": <refresh
token>, "token_type_hint": "refresh_token", "client_id"}`` (RFC 7009; CONTEXT §2c).
Revoking the refresh token ends the whole login: its refresh token and its access
tokens stop working, wherever a copy is. The address is derived from
``token_url``, as Claude Code derives it, so it moves with the token endpoint and
needs no setting of its own.

What a caller may rely on: it never raises and never retries; it returns within
:data:`REVOKE_TIMEOUT` (5 s, Claude Code's own) or ``http_timeout`` if that is
shorter, whatever the server does; the :class:`Revocation` it returns says in one
secret-free line whether Anthropic confirmed it. *Confirmed* means a 2xx answer
carrying Anthropic's ``request-id`` header (Claude Code counts a 2xx without it —
a proxy, a captive portal — as unconfirmed too); *unreachable* means no answer
within the deadline; anything else is *refused*, and the line says what came back.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from .. import USER_AGENT
from ..config import Settings
from ..errors import ClaudeOAuthError, NetworkError, ResponseTooLarge

#: Claude Code's own deadline for the revoke call (it is best effort: logout goes on).
REVOKE_TIMEOUT = 5.0
CONFIRMED = "confirmed"
UNREACHABLE = "unreachable"
REFUSED = "refused"


@dataclass(frozen=True)
class Revocation:
    """How a revoke call went: ``outcome`` is :data:`CONFIRMED`, :data:`UNREACHABLE` or
    :data:`REFUSED`; ``host`` the token endpoint's; ``detail`` what happened (empty
    when confirmed), one line, never a token."""

    outcome: str
    host: str
    detail: str = ""

    @property
    def confirmed(self) -> bool:
        return self.outcome == CONFIRMED

    def line(self, login_ends_at: float | None, now: float | None = None) -> str:
        """What the user reads: confirmed, or why not and what that leaves (a copy of
        the refresh token works until the login ends, at ``login_ends_at``)."""
        if self.confirmed:
            return (
                f"Anthropic confirmed the revocation ({self.host}): this login's tokens no "
                "longer work anywhere."
            )
        until = "until the login ends"
        if login_ends_at is not None:
            import time

            from ..account.status import countdown

            now = time.time() if now is None else now
            until += f" ({countdown(login_ends_at - now)})"
        if self.outcome == UNREACHABLE:
            what = f"Could not reach Anthropic to revoke the login ({self.host}: {self.detail})"
        else:
            what = f"Anthropic refused to revoke the login ({self.host} answered {self.detail})"
        return (
            f"{what}; the tokens are gone from this machine, but a copy of the refresh "
            f"token would keep working {until}."
        )


def revoke_url(settings: Settings) -> str:
    """``{token_url}/revoke``, any query of ``token_url`` kept after the new path."""
    parts = urlsplit(settings.token_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/revoke"))


def revoke_login(settings: Settings, refresh_token: str) -> Revocation:
    """Revoke the login behind ``refresh_token``; see the module's docstring."""
    import httpx

    from ..net.claude_answers import answer_detail
    from ..net.http_client import MAX_SMALL_BODY, fetch
    from ..net.http_responses import looks_like_html

    try:
        url = revoke_url(settings)
        timeout = min(REVOKE_TIMEOUT, settings.http_timeout)
    except ClaudeOAuthError as exc:  # a token_url or http_timeout the settings refuse
        return Revocation(UNREACHABLE, "token_url", exc.reason.removesuffix("."))
    host = urlsplit(url).netloc
    body = {
        "token": refresh_token,
        "token_type_hint": "refresh_token",
        "client_id": settings.client_id,
    }
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    try:
        response = fetch(
            "POST",
            url,
            what="The revoke endpoint",
            timeout=timeout,
            headers=headers,
            json=body,
        )
    except NetworkError as exc:
        # The deadline, a timeout, or a host name the resolver refuses (its kind is the
        # last word).
        waited = "did not answer" in exc.reason
        why = f"no answer within {timeout:g} s" if waited else exc.reason.rpartition(" ")[2]
        return Revocation(UNREACHABLE, host, why.removesuffix("."))
    except httpx.HTTPError as exc:
        return Revocation(UNREACHABLE, host, type(exc).__name__)
    except ResponseTooLarge:
        over = f"more than {MAX_SMALL_BODY // 1024} KiB, not read"
        return Revocation(REFUSED, host, over)
    status = response.status_code
    if 200 <= status < 300:
        if response.headers.get("request-id"):
            return Revocation(CONFIRMED, host)
        return Revocation(
            REFUSED, host, f"HTTP {status} without Anthropic's request-id, so not from Anthropic"
        )
    if looks_like_html(response):
        return Revocation(REFUSED, host, f"HTTP {status} with an HTML page")
    return Revocation(REFUSED, host, answer_detail(response, [refresh_token]))
